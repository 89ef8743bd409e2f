"""Production-safe settings, read from the environment.

dev.py and test.py override what they need; there is no production.py. Every secret is required here
(SECRET_KEY, DATA_ENCRYPTION_KEYS, CODE_HASH_KEY), so a misconfigured deployment refuses to start.
"""

from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from espace_sante.settings.env import env_bool, env_int, env_list, env_secret, env_str, rsa_private_key_pem

BASE_DIR = Path(__file__).resolve().parent.parent.parent

SECRET_KEY = env_secret("SECRET_KEY")
DEBUG = False
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
SITE_URL = env_str("SITE_URL", "https://monespacesante.example")

# --- Applications -----------------------------------------------------------------------------------
INSTALLED_APPS = [
    "espace_sante.admin_apps.AgentAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_otp",
    "widget_tweaks",
    "dsfr",
    "oauth2_provider",
    "espace_sante",  # operator commands of the kernel (health)
    "espace_sante.crypto",
    "espace_sante.audit",
    "espace_sante.outbox",
    "accounts",
    "activation",
    "dossier",
    "profil",
    "messagerie",
    "agenda",
    "catalogue",
]

MIDDLEWARE = [
    "espace_sante.lib.client_address.ClientAddressMiddleware",  # request.client_ip, before anything uses it
    "espace_sante.lib.middleware.AccessLogMiddleware",  # first: one line per answer, whole stack timed
    "django.middleware.security.SecurityMiddleware",
    "catalogue.cors.CorsMiddleware",  # connected services' browser apps: preflights answered before any view
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "espace_sante.lib.middleware.RequestBodyLimitMiddleware",  # 413 before CSRF or a view reads the body
    "django.contrib.auth.middleware.LoginRequiredMiddleware",  # opt out with @login_not_required
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "espace_sante.access.middleware.ActorMiddleware",  # request.actor; session lifetime; OTP required
    "espace_sante.audit.middleware.AuditContextMiddleware",  # request id, IP, user agent
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "espace_sante.lib.middleware.NoStoreMiddleware",
]

ROOT_URLCONF = "espace_sante.urls"
WSGI_APPLICATION = "espace_sante.wsgi.application"

# One form renderer per process (django-dsfr's templates), not one per form: see espace_sante/lib/form_renderer.py.
FORM_RENDERER = "espace_sante.lib.form_renderer.DsfrFormRenderer"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "espace_sante.context_processors.portal",
            ],
        },
    },
]

# --- Data -------------------------------------------------------------------------------------------
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/espace_sante"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
CACHES = {
    "default": {
        "BACKEND": "espace_sante.lib.cache.TolerantRedisCache",  # the portal stays up while Redis is away
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "mes"),
    }
}

MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "var" / "media")))
STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# --- Encryption at rest (espace_sante/crypto) -------------------------------------------------------
# "id:base64-32-bytes,id:…": the first key encrypts, every key decrypts (rotation: manage.py rotate_keys).
DATA_ENCRYPTION_KEYS = env_secret("DATA_ENCRYPTION_KEYS")
# base64 of at least 32 bytes; HMAC-SHA-256 key for provisional codes and one-time codes.
CODE_HASH_KEY = env_secret("CODE_HASH_KEY")

# --- Identity, passwords, second factor -------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "accounts:dashboard"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 9}},
    {"NAME": "accounts.validators.CharacterClassesValidator"},
    {"NAME": "accounts.validators.NoPersonalNameValidator"},
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_RESET_TIMEOUT = 60 * 60  # one hour
OTP_EMAIL_CODE_VALIDITY = timedelta(minutes=10)
OTP_TOTP_ISSUER = "Mon espace santé"
OTP_THROTTLE_FACTOR = 1  # 1, 2, 4, 8 … seconds between wrong second-factor codes
LOGIN_THROTTLE = {"free_attempts": 5, "base_delay_seconds": 30, "max_delay_seconds": 3600, "window_seconds": 3600}
# A professional's lookups of patients by NIR and birth date (/pro/patients/ and the messagerie's search share
# it): the NIR gives year and month, so a date of birth is at most 31 tries away. 10 lookups without a new
# find a day, then one after 1 min, 2 min, … up to 6 h (policy.patient_lookup).
PATIENT_LOOKUP_THROTTLE = {
    "free_attempts": 10,
    "base_delay_seconds": 60,
    "max_delay_seconds": 6 * 3600,
    "window_seconds": 24 * 3600,
}

# --- Sessions and cookies ---------------------------------------------------------------------------
# Sessions are read from Redis and written through to PostgreSQL, so a Redis outage logs nobody out.
SESSION_ENGINE = (
    "django.contrib.sessions.backends.cached_db"
    if env_bool("SESSIONS_IN_CACHE", True)
    else "django.contrib.sessions.backends.db"
)
SESSION_COOKIE_AGE = env_int("SESSION_IDLE_SECONDS", 30 * 60)  # idle expiry, renewed by activity
# Activity renews the expiry at most once a minute (ActorMiddleware), not by a write on every request: a
# session write per page cost a Redis SET and a PostgreSQL UPDATE (bench/README.md, dossier page).
SESSION_SAVE_EVERY_REQUEST = False
SESSION_REFRESH_SECONDS = env_int("SESSION_REFRESH_SECONDS", 60)
SESSION_ABSOLUTE_SECONDS = env_int("SESSION_ABSOLUTE_SECONDS", 12 * 60 * 60)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_NAME = "__Host-sessionid"
CSRF_COOKIE_SECURE = True
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_NAME = "__Host-csrftoken"
CSRF_FAILURE_VIEW = "espace_sante.views.csrf_failure"

# --- Security headers -------------------------------------------------------------------------------
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Reverse proxies of ours in front of gunicorn, each appending to X-Forwarded-For: the client's address is
# the entry the outermost one appended (espace_sante/lib/client_address.py). 0: no proxy, REMOTE_ADDR is the
# client and the header, written by the client, is ignored.
TRUSTED_PROXY_HOPS = env_int("TRUSTED_PROXY_HOPS", 0)
if TRUSTED_PROXY_HOPS < 0:
    raise ImproperlyConfigured(f"TRUSTED_PROXY_HOPS must be 0 or more, not {TRUSTED_PROXY_HOPS}")
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 63072000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# --- Mail -------------------------------------------------------------------------------------------
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Mon espace santé <ne-pas-repondre@monespacesante.example>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Request bodies -------------------------------------------------------------------------------
# The largest body the portal takes: a message's attachments (10 Mo in all, messagerie/models.py) with its
# text and the multipart framing. RequestBodyLimitMiddleware answers 413 above it from the Content-Length,
# before anything reads the body (411 for a body without Content-Length, which Django would not read).
REQUEST_BODY_MAX_BYTES = 11 * 1024 * 1024
# Without a signed-in session or an Authorization header (a connected service), only small forms are sent:
# login, activation, password reset.
ANONYMOUS_REQUEST_BODY_MAX_BYTES = 256 * 1024
# Form fields and JSON read into memory: a connected service's DocumentReference carries a document of up to
# 5 Mo in base64 (about 6.7 Mo).
DATA_UPLOAD_MAX_MEMORY_SIZE = 7 * 1024 * 1024
# Uploaded files are read whole to be checked and encrypted: kept in memory up to the largest body, so an
# upload is never written in clear to a temporary file.
FILE_UPLOAD_MAX_MEMORY_SIZE = REQUEST_BODY_MAX_BYTES
DATA_UPLOAD_MAX_NUMBER_FILES = 20  # a message takes 10 attachments, a document form one file

# --- Celery -----------------------------------------------------------------------------------------
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 15 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 14 * 60
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 60 * 60}  # longer than the longest task
CELERY_TASK_ALWAYS_EAGER = False
CELERY_TIMEZONE = "Europe/Paris"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# --- Locale -----------------------------------------------------------------------------------------
LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", "Français")]
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True

# --- django-dsfr ------------------------------------------------------------------------------------
DSFR_CONTENT_IS_SAFE = False  # patient-written text is always escaped
DSFR_MARK_OPTIONAL_FIELDS = True

# --- Logging: structured, no personal data ----------------------------------------------------------
# One JSON object per line on stderr (espace_sante/lib/logging.py): time, level, logger, message, request id,
# route name, method, status, duration. The scrub filter replaces NIR-, e-mail-, code- and token-like text and
# the paths in Django's request lines. Django's own "django" handlers are dropped (its console handler only
# speaks under DEBUG, mail_admins would e-mail tracebacks): its records reach the root handler like the rest.
LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"scrub": {"()": "espace_sante.lib.logging.ScrubPersonalData"}},
    "formatters": {"json": {"()": "espace_sante.lib.logging.JsonFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json", "filters": ["scrub"]}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django": {"handlers": [], "level": LOG_LEVEL, "propagate": True},
        "django.security.DisallowedHost": {"level": "ERROR"},
    },
}
# Celery workers log through the same handler instead of installing their own plain one.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# --- OAuth 2.0 for connected services (catalogue; django-oauth-toolkit) ------------------------------
OAUTH2_PROVIDER = {
    "PKCE_REQUIRED": True,
    "ACCESS_TOKEN_EXPIRE_SECONDS": 10 * 60,
    "REFRESH_TOKEN_EXPIRE_SECONDS": 30 * 24 * 60 * 60,
    "ROTATE_REFRESH_TOKEN": True,
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": 60,
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https"],
    # RFC 9700 (OAuth 2.0 Security BCP): no implicit or password grant, S256 only, tokens in headers only,
    # `iss` in responses, hashed token storage, refresh-token replay revokes the family, https redirects.
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_SCHEME": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    # OpenID Connect (SMART `openid fhirUser`): ID tokens signed RS256 with this key, published at /oauth/jwks/.
    # An RSA private key: PEM, or one line of base64 of the PEM (.env); OIDC_RSA_PRIVATE_KEY_FILE for a mounted
    # secret. A retired key goes to OIDC_RSA_PRIVATE_KEYS_INACTIVE for as long as tokens it signed live.
    "OIDC_ENABLED": True,
    "OIDC_RSA_PRIVATE_KEY": rsa_private_key_pem(env_secret("OIDC_RSA_PRIVATE_KEY"), "OIDC_RSA_PRIVATE_KEY"),
    "OIDC_ISS_ENDPOINT": SITE_URL.rstrip("/"),
    "ID_TOKEN_EXPIRE_SECONDS": 10 * 60,
    "OAUTH2_VALIDATOR_CLASS": "catalogue.oauth.CatalogueOAuth2Validator",
    "SCOPES": {
        "measures:read": "Lire mes mesures",
        "measures:write": "Ajouter des mesures",
        "agenda:read": "Lire mon agenda",
        "agenda:write": "Ajouter des rendez-vous à mon agenda",
        "documents:read": "Lire mes documents des catégories choisies",
        "documents:write": "Ajouter des documents",
    },
    "DEFAULT_SCOPES": ["measures:read"],
}


# --- FHIR R4 server (/api/v1/, espace_sante/fhir/) ---------------------------------------------------------------
# Each app serves its own resource types; the catalogue authenticates the connected services' bearer tokens,
# accounts the establishments' and professionals' software clients' (issue 17).
FHIR_RESOURCES = [
    "accounts.api.PatientResource",
    "profil.api.ObservationResource",
    "agenda.api.AppointmentResource",
    "dossier.api.DocumentReferenceResource",
    "dossier.api.BinaryResource",
]
# Tried in order: each returns its client for a token it recognises, None for another's (fhir/registry.py).
FHIR_AUTHENTICATORS = ["catalogue.api.authenticate", "accounts.software.authenticate"]
FHIR_CAPABILITY_DATE = "2026-12-06"
FHIR_AUTHORIZE_URL_NAME = "oauth2_provider:authorize"
FHIR_TOKEN_URL_NAME = "oauth2_provider:token"
FHIR_REVOKE_URL_NAME = "oauth2_provider:revoke-token"
