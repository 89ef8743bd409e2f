"""Tests: real PostgreSQL and Redis on 127.0.0.1 (override with DATABASE_URL / REDIS_URL), fixed keys."""

from espace_sante.settings._fixed_keys import set_default_keys

set_default_keys()

import os  # noqa: E402
from pathlib import Path  # noqa: E402

from espace_sante.settings.base import *  # noqa: E402,F403
from espace_sante.settings.base import BASE_DIR, MIDDLEWARE, OAUTH2_PROVIDER, REDIS_URL  # noqa: E402
from espace_sante.settings.env import env_str  # noqa: E402

DEBUG = False
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
SITE_URL = "http://testserver"

# Each test run uses its own Redis database number and key prefix (see tests/conftest.py for flushing).
CACHES = {
    "default": {
        "BACKEND": "espace_sante.lib.cache.TolerantRedisCache",
        "LOCATION": REDIS_URL,
        # One prefix per pytest-xdist worker, so tests clean only their own keys.
        "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "mes-test") + os.environ.get("PYTEST_XDIST_WORKER", ""),
    }
}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "var" / "test-media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True

SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SESSION_COOKIE_NAME = "sessionid"
CSRF_COOKIE_NAME = "csrftoken"

# Static files come from the staticfiles app here (runserver, live_server); WhiteNoise serves them in production.
MIDDLEWARE = [name for name in MIDDLEWARE if not name.startswith("whitenoise.")]

# Connected services reach the portal over plain http on localhost here (demo, live_server in tests).
OAUTH2_PROVIDER = {
    **OAUTH2_PROVIDER,
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https", "http"],
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_SCHEME": False,
    "OIDC_ISS_ENDPOINT": SITE_URL.rstrip("/"),
}
