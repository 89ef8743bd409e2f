"""Settings of the benchmark runs: the test settings (fixed keys, PostgreSQL, Celery eager) with

- the dedicated database `bench_espace_sante` always (BENCH_SERVER_URL and BENCH_DATABASE_NAME, never
  DATABASE_URL: a benchmark must not write into a database it did not create),
- print files under the bench work directory instead of var/test-media (which the test suite uses),
- e-mails serialised to bytes like the SMTP backend does, then dropped (bench.mail.SerializingBackend),
- a cache key prefix of its own, quieter logging.
"""

import dj_database_url

from bench.paths import REDIS_URL, WORK_DIR, database_url
from espace_sante.settings.test import *  # noqa: F403

DATABASES = {"default": dj_database_url.parse(database_url(), conn_max_age=0)}
MEDIA_ROOT = WORK_DIR / "media"
EMAIL_BACKEND = "bench.mail.SerializingBackend"
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "mes-bench",
    }
}
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
