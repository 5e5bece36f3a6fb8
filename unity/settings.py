"""Unity settings, driven by the environment (see README "Configuration").

With no environment at all this is the embedded default: SQLite, tasks run in-process, DEBUG on,
files under ./var. Production sets DJANGO_DEBUG=0, DATABASE_URL, REDIS_URL, SECRET_KEY,
ALLOWED_HOSTS and the Google credentials.
"""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from unity.env import (
    env_bool,
    env_int,
    env_list,
    env_str,
    parse_database_url,
    validate_redis_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("UNITY_VAR_DIR") or BASE_DIR / "var")

DEBUG = env_bool("DJANGO_DEBUG", False)

_DEV_SECRET = "django-insecure-unity-development-key-never-use-in-production"  # noqa: S105 - DEBUG only
SECRET_KEY = env_str("SECRET_KEY") or ""
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY: required when DJANGO_DEBUG is off")
    SECRET_KEY = _DEV_SECRET
# Keys the pseudonyms derived from source identifiers (a study's UID, hashed at ingest so that
# dataset splits keep a study together). Set it once in production and never change it: clips
# ingested under another key no longer group with their study. Defaults to SECRET_KEY.
UNITY_PSEUDONYM_KEY = env_str("UNITY_PSEUDONYM_KEY") or SECRET_KEY

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.google",
    "allauth.socialaccount.providers.openid_connect",
    "projects",
    "media_ingest",
    "annotations",
    "ranking",
    "activelearning",
    "datasets",
    "quality",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "unity.middleware.ContentSecurityPolicyMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "unity.middleware.SignInNotConfiguredMiddleware",
]

ROOT_URLCONF = "unity.urls"
WSGI_APPLICATION = "unity.wsgi.application"

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
                "unity.context_processors.platform",
            ],
        },
    },
]

# --- Database --------------------------------------------------------------------------------
_database_url = env_str("DATABASE_URL")
if _database_url:
    DATABASES = {
        "default": parse_database_url("DATABASE_URL", _database_url).as_django(
            conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0)
        )
    }
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "unity.sqlite3",
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
            # A file, not memory, so a worker process in a test sees the test database.
            "TEST": {"NAME": VAR_DIR / "test.sqlite3"},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis, cache, Celery --------------------------------------------------------------------
_redis_url = env_str("REDIS_URL")
REDIS_URL = validate_redis_url("REDIS_URL", _redis_url) if _redis_url else None

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "unity",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or "cache+memory://"
# Without a broker the embedded default runs every task in-process, at the moment it is queued
# (which is after the transaction commits: services queue through transaction.on_commit).
CELERY_TASK_ALWAYS_EAGER = REDIS_URL is None
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "media_ingest.tasks.*": {"queue": "media"},
    "datasets.tasks.*": {"queue": "media"},
    "ranking.tasks.*": {"queue": "ranking"},
    "activelearning.tasks.*": {"queue": "learning"},
}
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXPIRES = 3600
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# A worker child whose resident memory grew past this (KiB) is replaced after its task; within a
# task, ingest's per-job guard (UNITY_INGEST_JOB_MEMORY_BYTES) fails the one job instead.
CELERY_WORKER_MAX_MEMORY_PER_CHILD = env_int("UNITY_WORKER_MAX_MEMORY_KB", 2_500_000, minimum=100_000)
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    "expire-overdue-tasks": {"task": "annotations.tasks.expire_overdue_tasks", "schedule": 60.0},
    "close-due-rating-periods": {"task": "ranking.tasks.close_due_rating_periods", "schedule": 300.0},
    "requeue-stale-ingest-jobs": {"task": "media_ingest.tasks.requeue_stale_ingest_jobs", "schedule": 300.0},
    "expire-uploads": {"task": "media_ingest.tasks.expire_uploads", "schedule": 3600.0},
    "refresh-quality-dashboards": {"task": "quality.tasks.refresh_dashboards", "schedule": 60.0},
    "check-retrains": {"task": "activelearning.tasks.check_retrains", "schedule": 300.0},
}

# --- Active learning (activelearning/README.md) ----------------------------------------------
# The learners' TrainParams: 64x64 input (the simulation's views reached 99% at 48-64), two
# torch threads on the learning worker; fewer steps (UNITY_LEARNING_MAX_STEPS) for tests.
ACTIVE_LEARNING = {
    "size": 64,
    "threads": env_int("UNITY_LEARNING_THREADS", 2, minimum=1),
    "min_steps": min(200, env_int("UNITY_LEARNING_MAX_STEPS", 1500, minimum=1)),
    "max_steps": env_int("UNITY_LEARNING_MAX_STEPS", 1500, minimum=1),
}

# --- Authentication --------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"
ACCOUNT_ADAPTER = "projects.adapters.AccountAdapter"
SOCIALACCOUNT_ADAPTER = "projects.adapters.SocialAccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*"]
ACCOUNT_UNIQUE_EMAIL = True
# Verification is the identity provider's: SocialAccountAdapter refuses unverified e-mails.
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_LOGOUT_ON_GET = False
SOCIALACCOUNT_ONLY = True
SOCIALACCOUNT_LOGIN_ON_GET = False
SOCIALACCOUNT_AUTO_SIGNUP = True
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False
SOCIALACCOUNT_STORE_TOKENS = False

GOOGLE_CLIENT_ID = env_str("GOOGLE_CLIENT_ID") or ""
GOOGLE_CLIENT_SECRET = env_str("GOOGLE_CLIENT_SECRET") or ""
SOCIALACCOUNT_PROVIDERS: dict[str, dict[str, object]] = {
    "google": {
        "SCOPE": ["openid", "profile", "email"],
        "AUTH_PARAMS": {"prompt": "select_account"},
        "OAUTH_PKCE_ENABLED": True,
        "FETCH_USERINFO": True,
    },
}
if GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET:
    SOCIALACCOUNT_PROVIDERS["google"]["APPS"] = [
        {"client_id": GOOGLE_CLIENT_ID, "secret": GOOGLE_CLIENT_SECRET, "key": ""}
    ]
# An institution's own OpenID Connect server (e.g. a hospital SSO), optional.
_oidc_server = env_str("OIDC_SERVER_URL")
if _oidc_server:
    SOCIALACCOUNT_PROVIDERS["openid_connect"] = {
        "APPS": [
            {
                "provider_id": env_str("OIDC_PROVIDER_ID", "institution"),
                "name": env_str("OIDC_PROVIDER_NAME", "Institution"),
                "client_id": env_str("OIDC_CLIENT_ID", ""),
                "secret": env_str("OIDC_CLIENT_SECRET", ""),
                "settings": {"server_url": _oidc_server},
            }
        ]
    }

# The demo login exists only in DEBUG; the view refuses itself otherwise (see projects/views).
UNITY_DEMO_LOGIN = DEBUG and env_bool("UNITY_DEMO_LOGIN", True)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- REST API ---------------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Session for the browser; a token for scripts ("Authorization: Token <key>"; admin -> Tokens).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # JSON only; bodies too deep, too large or unstorable are refused as JSON 4xx (unity/rest.py).
    "DEFAULT_PARSER_CLASSES": ["unity.rest.JSONParser"],
    "EXCEPTION_HANDLER": "unity.rest.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
}
# OpenAPI 3 at /api/schema/, Swagger UI at /api/docs/ served from static files (no CDN).
SPECTACULAR_SETTINGS = {
    "TITLE": "Unity API",
    "DESCRIPTION": (
        "Projects, items, judgements, ratings and dataset releases of the Unity echocardiography "
        "labelling platform, and the task API the labelling app uses. Every refusal is JSON "
        '{"code", "detail"}. Sign in (session) or send "Authorization: Token <key>".'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/",
}
if DEBUG:
    REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"].append("rest_framework.renderers.BrowsableAPIRenderer")

# --- Files -------------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("UNITY_STATIC_ROOT") or BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
# Media is never served by a public URL: every file goes through an authorising view
# (see media_ingest). MEDIA_URL is kept unused on purpose.
MEDIA_ROOT = Path(env_str("UNITY_MEDIA_ROOT") or VAR_DIR / "media")
MEDIA_URL = "/media-not-public/"
# Where uploads wait for ingest, and where originals are kept when a project asks for it.
# Neither is ever served.
UNITY_PRIVATE_ROOT = Path(env_str("UNITY_PRIVATE_ROOT") or VAR_DIR / "private")
# "django" streams files through Python (development); "x-accel" hands them to nginx via
# X-Accel-Redirect under UNITY_X_ACCEL_PREFIX (production).
UNITY_MEDIA_SERVING = env_str("UNITY_MEDIA_SERVING", "django")
if UNITY_MEDIA_SERVING not in {"django", "x-accel"}:
    raise ImproperlyConfigured("UNITY_MEDIA_SERVING: expected 'django' or 'x-accel'")
UNITY_X_ACCEL_PREFIX = env_str("UNITY_X_ACCEL_PREFIX", "/protected-media/")
# Dataset release archives (UNITY_PRIVATE_ROOT/releases/) under the same serving mode.
UNITY_X_ACCEL_RELEASES_PREFIX = env_str("UNITY_X_ACCEL_RELEASES_PREFIX", "/protected-releases/")
# Production serves hashed, compressed static files collected at build time; development and the
# test suite (UNITY_STATIC_MANIFEST=0) serve them straight from the source folders.
UNITY_STATIC_MANIFEST = env_bool("UNITY_STATIC_MANIFEST", not DEBUG)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if UNITY_STATIC_MANIFEST
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = not UNITY_STATIC_MANIFEST
WHITENOISE_AUTOREFRESH = not UNITY_STATIC_MANIFEST
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# Django refuses more than 100 files per request by default (HTTP 400): a study folder has more.
DATA_UPLOAD_MAX_NUMBER_FILES = env_int("UNITY_MAX_UPLOAD_FILES", 10_000, minimum=1)
# Bodies (files aside) above this are refused: the JSON API answers 413 (unity/rest.py).
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
UNITY_MAX_UPLOAD_BYTES = env_int("UNITY_MAX_UPLOAD_BYTES", 2 * 1024**3, minimum=1)
# The admin's resumable upload page (tus): bytes per chunk (one request each: a web worker is held
# for one chunk, not one file) and files sent at once per page.
UNITY_UPLOAD_CHUNK_BYTES = env_int("UNITY_UPLOAD_CHUNK_BYTES", 16 * 1024 * 1024, minimum=64 * 1024)
UNITY_UPLOAD_PARALLEL = env_int("UNITY_UPLOAD_PARALLEL", 2, minimum=1)
# Unfinished resumable uploads that received nothing for this long are deleted with their bytes.
UNITY_UPLOAD_EXPIRY_HOURS = env_int("UNITY_UPLOAD_EXPIRY_HOURS", 72, minimum=1)

# --- Security ----------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env_int("UNITY_SESSION_SECONDS", 14 * 24 * 3600, minimum=300)
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Scripts only from this origin; training videos may live on another HTTPS host; sign-in forms
# redirect to the identity provider. UNITY_CONTENT_SECURITY_POLICY="" turns the header off.
UNITY_CONTENT_SECURITY_POLICY = env_str(
    "UNITY_CONTENT_SECURITY_POLICY",
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "media-src 'self' blob: https:; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'self' https:; worker-src 'self'; manifest-src 'self'",
)
# /healthz answers plain HTTP probes from inside the network (load balancers, compose).
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
# Cookies travel over HTTPS only in production. The test suite's live servers speak plain HTTP
# on localhost and turn this off (UNITY_SECURE_COOKIES=0).
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_bool("UNITY_SECURE_COOKIES", not DEBUG)
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# --- Locale -----------------------------------------------------------------------------------
LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Logging: never log request bodies or DICOM attributes (PHI) ------------------------------
LOG_LEVEL = env_str("UNITY_LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "pydicom": {"level": "ERROR"},
    },
}
