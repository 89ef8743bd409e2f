"""The embedded default for the demo: SQLite, tasks in-process, mail written to var/mails/, fixed keys."""

from espace_sante.settings._fixed_keys import set_default_keys

set_default_keys()

from espace_sante.settings.base import *  # noqa: E402,F403
from espace_sante.settings.base import BASE_DIR, MIDDLEWARE, OAUTH2_PROVIDER  # noqa: E402
from espace_sante.settings.env import env_str  # noqa: E402

DEBUG = True
ALLOWED_HOSTS = ["localhost", "127.0.0.1", "[::1]"]
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000")

VAR_DIR = BASE_DIR / "var"
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": VAR_DIR / "demo.sqlite3"}}
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
SESSION_ENGINE = "django.contrib.sessions.backends.db"
MEDIA_ROOT = VAR_DIR / "media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
EMAIL_FILE_PATH = VAR_DIR / "mails"
SMS_FILE_PATH = VAR_DIR / "sms"

CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True

# Plain HTTP on localhost: no HTTPS-only cookies or redirects.
SECURE_SSL_REDIRECT = False
SECURE_HSTS_SECONDS = 0
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

# Readable lines for the demo, scrubbed like production's JSON ones (espace_sante/lib/logging.py).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"scrub": {"()": "espace_sante.lib.logging.ScrubPersonalData"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["scrub"]}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django": {"handlers": [], "level": env_str("LOG_LEVEL", "INFO"), "propagate": True},
        "django.server": {"handlers": [], "level": "WARNING", "propagate": True},  # the access log says it
        "django.security.DisallowedHost": {"level": "ERROR"},
    },
}
