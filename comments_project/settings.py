"""Settings for the comments service.

Everything that differs between a laptop and production comes from the environment (see the
table in README.md). With nothing set, the service runs on the embedded default: SQLite and the
local-memory cache, DEBUG on, and a secret key generated once into a git-ignored file.
"""

import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", True)


def _secret_key() -> str:
    """SECRET_KEY from the environment; in development, generated once into .secret_key.

    The file is git-ignored, so no key is ever committed. Production must set SECRET_KEY
    so that every server process signs sessions with the same key.
    """
    if key := os.environ.get("SECRET_KEY"):
        return key
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    path = Path(os.environ.get("SECRET_KEY_FILE", BASE_DIR / ".secret_key"))
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        key = secrets.token_urlsafe(50)
        path.write_text(key)
        path.chmod(0o600)
        return key


SECRET_KEY = _secret_key()

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "corsheaders",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "allauth",
    "allauth.account",
    "allauth.headless",
    "comments",
]

MIDDLEWARE = [
    # The client's address behind NUM_PROXIES proxies, into REMOTE_ADDR before anything reads it.
    "comments.middleware.ClientAddressMiddleware",
    # First: /healthz and /readyz answer load balancers over plain HTTP, by IP (see the middleware).
    "comments.middleware.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "comments.middleware.AsyncWhiteNoiseMiddleware",  # WhiteNoise without a thread hop under ASGI
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "comments.account_api.AccountApiMiddleware",  # /_allauth/: JSON only, bodies checked first
    "comments.middleware.ContentSecurityPolicyMiddleware",
    # A view failing on an unreachable or read-only database answers 503 + Retry-After, not 500.
    "comments.middleware.DatabaseOutageMiddleware",
]

ROOT_URLCONF = "comments_project.urls"

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
            ],
        },
    },
]

WSGI_APPLICATION = "comments_project.wsgi.application"
ASGI_APPLICATION = "comments_project.asgi.application"

# --- Database ---------------------------------------------------------------------------------
# SQLite is the embedded default. WAL lets readers run beside one writer, IMMEDIATE transactions
# take the write lock at BEGIN (so two writers queue instead of failing on lock upgrade), and the
# timeout makes a waiting writer wait instead of raising "database is locked".
SQLITE_OPTIONS = {
    "timeout": 30,
    "transaction_mode": "IMMEDIATE",
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=30000;",
}

# Persistent connections pay off where a thread serves request after request: a WSGI worker
# (comments_project/wsgi.py says so through COMMENTS_SERVER). Under ASGI each request's sync code
# runs in a thread of its own, so a kept connection would never be reused (Django's advice: 0).
WSGI_SERVER = os.environ.get("COMMENTS_SERVER") == "wsgi"


def _conn_max_age(default: int | None) -> int | None:
    """DB_CONN_MAX_AGE in seconds ("none": forever); ``default`` when unset."""
    value = os.environ.get("DB_CONN_MAX_AGE", "")
    if not value:
        return default
    return None if value.lower() == "none" else int(value)


if database_url := os.environ.get("DATABASE_URL"):
    DATABASES = {"default": dj_database_url.parse(database_url, conn_health_checks=True)}
    if DATABASES["default"]["ENGINE"].endswith("postgresql") and env_bool("DB_POOL", True):
        # psycopg's pool (Django 5.1+): every process keeps a few open connections and lends one to
        # each request, for WSGI workers and for the stream server's short reads alike. The pool
        # replaces persistent connections (Django refuses both at once). Connections to PostgreSQL:
        # up to DB_POOL_MAX_SIZE per process. Off (DB_POOL=false) behind PgBouncer.
        DATABASES["default"]["CONN_MAX_AGE"] = 0
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": int(os.environ.get("DB_POOL_MIN_SIZE", "1")),
            "max_size": int(os.environ.get("DB_POOL_MAX_SIZE", "4")),
            "timeout": float(os.environ.get("DB_POOL_TIMEOUT", "10")),  # seconds a request waits
        }
    else:
        DATABASES["default"]["CONN_MAX_AGE"] = _conn_max_age(600 if WSGI_SERVER else 0)
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("SQLITE_PATH", BASE_DIR / "db.sqlite3"),
            "OPTIONS": SQLITE_OPTIONS,
            # Opening SQLite is cheap but not free (the init pragmas run each time); a WSGI worker
            # keeps its one connection. The stream server closes its connections itself.
            "CONN_MAX_AGE": _conn_max_age(None if WSGI_SERVER else 0),
            # A file (not :memory:) for tests too, so that threads in concurrency tests share it.
            "TEST": {"NAME": os.environ.get("SQLITE_TEST_PATH", BASE_DIR / "test-db.sqlite3")},
        }
    }

if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATABASES["default"].setdefault("OPTIONS", SQLITE_OPTIONS)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Readers are plain ``auth.User`` accounts: what the comments app keeps about them (display name,
# pre-moderation) is its ReaderProfile, as on any Django site that installs the app. The service
# is then one more host of the app, on the path every host takes, and its accounts stay movable
# into a news site's Django project. allauth signs in by email and fills ``username`` itself.

# --- Cache ------------------------------------------------------------------------------------
# The cache also holds DRF's throttle counters, the rate limits of sign-in and the versions of what
# the public sees, so it must be shared by every server process.
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            # Answers as a miss when Redis is down, so an outage never fails a request.
            "BACKEND": "comments.cache.TolerantRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "comments"),
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
else:
    # One cache for every process on this machine (gunicorn's workers and the stream server),
    # with no service to run: see comments_project/cache.py. Only one machine can share it.
    CACHES = {
        "default": {
            "BACKEND": "comments_project.cache.SharedDiskCache",
            "LOCATION": os.environ.get("CACHE_DIR", BASE_DIR / "var" / "cache"),
            "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "comments"),
            "OPTIONS": {"size_limit": int(os.environ.get("CACHE_SIZE_LIMIT", 1 << 30))},  # bytes
        }
    }

# --- The proxy chain ---------------------------------------------------------------------------
# NUM_PROXIES: how many proxies of ours stand in front of the app servers, each appending the
# address it got the request from to X-Forwarded-For: 1 under deploy/Procfile (nginx), 2 with a
# load balancer in front of nginx. The one setting for the client's address: the rate limits of
# DRF, allauth and the admin's sign-in all read it through comments.middleware.ClientAddressMiddleware.
# 0 (unset): no proxy, the peer is the client and X-Forwarded-For is never believed.


def _proxy_count() -> int:
    value = os.environ.get("NUM_PROXIES", "").strip() or "0"
    if not value.isdigit():
        raise ImproperlyConfigured(f"NUM_PROXIES must be a whole number of proxies (0 for none), not {value!r}.")
    return int(value)


NUM_PROXIES = _proxy_count()

# --- Auth and accounts (django-allauth) -------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_SIGNUP_FORM_CLASS = "comments.forms.SignupForm"
ACCOUNT_USER_DISPLAY = "comments.readers.public_name"  # never the email or the username
# Mandatory in production; in development the console backend prints the mail instead.
ACCOUNT_EMAIL_VERIFICATION = os.environ.get(
    "ACCOUNT_EMAIL_VERIFICATION", "optional" if DEBUG else "mandatory"
)
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_RATE_LIMITS = {"login_failed": "10/m/ip,5/5m/key"}
# allauth reads the client's address from REMOTE_ADDR, where ClientAddressMiddleware put it
# (NUM_PROXIES above): never from X-Forwarded-For itself, so both agree.
ALLAUTH_TRUSTED_PROXY_COUNT = 0
ALLAUTH_TRUSTED_CLIENT_IP_HEADER = None
LOGIN_REDIRECT_URL = "/"
LOGIN_URL = "account_login"
HEADLESS_ONLY = False
HEADLESS_FRONTEND_URLS = {}
# Both clients: "browser" (session cookie + CSRF) and "app" (X-Session-Token, which the API
# accepts through comments.api.authentication).
HEADLESS_CLIENTS = ("browser", "app")
# allauth's OpenAPI spec feeds the sign-in section of /api/docs/ (comments/api/schema.py); its
# own HTML page would load Redoc from a CDN, so it stays off.
HEADLESS_SERVE_SPECIFICATION = True
HEADLESS_SPECIFICATION_TEMPLATE_NAME = None

EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "comments@localhost")

# --- Security ---------------------------------------------------------------------------------
# Sessions (and allauth's app session tokens, which are session keys) are read from the shared
# cache and written through to the database: signed-in requests skip two queries per request.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"  # the widget embeds by script, never in a frame
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    if env_bool("BEHIND_PROXY", False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# An embedding page on another site needs cross-site cookies (see README, "Embedding").
SESSION_COOKIE_SAMESITE = os.environ.get("SESSION_COOKIE_SAMESITE", "Lax")
CSRF_COOKIE_SAMESITE = os.environ.get("CSRF_COOKIE_SAMESITE", "Lax")
# Browsers drop a SameSite=None cookie that is not Secure.
if SESSION_COOKIE_SAMESITE == "None":
    SESSION_COOKIE_SECURE = True
if CSRF_COOKIE_SAMESITE == "None":
    CSRF_COOKIE_SECURE = True

# Requests bodies above this size are refused before parsing (Django raises, we answer 400/413).
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("DATA_UPLOAD_MAX_MEMORY_SIZE", 64 * 1024))

# --- CORS: frontend origins that may call the API with credentials ----------------------------
CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS")
CORS_ALLOW_CREDENTIALS = True
CORS_URLS_REGEX = r"^/(api|_allauth|widget)/.*$"
CORS_ALLOW_HEADERS = (
    "accept",
    "content-type",
    "authorization",
    "x-csrftoken",
    "x-session-token",
    "x-requested-with",
    "last-event-id",
    "if-none-match",
)
CORS_EXPOSE_HEADERS = ("retry-after", "etag")

# --- Internationalization ---------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "Asia/Yerevan")
USE_I18N = True
USE_TZ = True

# --- Static files -----------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# --- REST framework ---------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # First: its WWW-Authenticate challenge makes DRF answer anonymous writes 401, not 403.
        "comments.api.authentication.SessionTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "comments.api.exceptions.api_exception_handler",
    # Throttles key on REMOTE_ADDR, where ClientAddressMiddleware put the client's address
    # (NUM_PROXIES above). DRF's default (None) would believe any X-Forwarded-For a client sends.
    "NUM_PROXIES": 0,
}
# The comments app's own rate limits (defaults in comments/conf.py), per scope from the environment.
COMMENTS_THROTTLE_RATES = {
    scope: os.environ[f"THROTTLE_{scope.upper()}"]
    for scope in ("anon", "user", "post_comment", "flag", "like")
    if os.environ.get(f"THROTTLE_{scope.upper()}")
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Comments API",
    "DESCRIPTION": (
        "Threaded comments, likes, flags and live counts for news articles.\n\n"
        "**Signing in.** Use the *sign-in* operations below (allauth headless). With `client` = `app`, "
        "`signup` or `login` answers `meta.session_token`: press **Authorize** and paste it as "
        "`sessionToken` (header `X-Session-Token`). With `client` = `browser` the session cookie "
        "signs you in on this page too (CSRF is sent for you). The CMS sends the DRF token of an "
        "account in the **CMS** group (article permissions only): `Authorization: Token <key>`.\n\n"
        "**Errors.** Every 4xx is `{detail, code}`, plus `fields` on validation errors. "
        "Throttled requests get 429 with `Retry-After`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The docs page works offline: Swagger UI's files come from drf-spectacular-sidecar.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "comments.api.schema.add_allauth_sign_in",
        "comments.api.live_views.document_event_stream",  # the SSE view is not a DRF view
    ],
}

# --- Logging ----------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}

# --- Comments policy (defaults live in comments/conf.py; override here or by environment) ------
COMMENTS_PREMODERATE = env_bool("COMMENTS_PREMODERATE", False)
# Several sites (or parallel test runs) can share one Redis with distinct live-event prefixes.
COMMENTS_LIVE_PREFIX = os.environ.get("COMMENTS_LIVE_PREFIX", "comments")
CSRF_FAILURE_VIEW = "comments.views.csrf_failure"
