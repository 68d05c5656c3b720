"""A news site that was on Django before it added comments: `startproject` settings, its own `news`
app, `auth.User`, and REST framework defaults of its own (unlike the comments app's).

What the comments app adds is marked "comments:"; the README's "Add comments to an existing
Django site" gives the same steps. SQLite by default; PostgreSQL when DATABASE_URL is set
(postgres://USER[:PASSWORD]@HOST[:PORT]/NAME).
"""

import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("HOST_VAR_DIR", BASE_DIR / "var"))

SECRET_KEY = "host-site-tests-only-not-a-secret"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",  # the site's own API, and the comments API
    "news",
    # comments: the app and what it builds on (drf-spectacular describes the API; allauth signs readers in)
    "drf_spectacular",
    "allauth",
    "allauth.account",
    "allauth.headless",
    "comments",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",  # comments: allauth needs it
    "comments.account_api.AccountApiMiddleware",  # comments: /_allauth/ answers bad input in JSON
]

ROOT_URLCONF = "newsroom_site.urls"

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

WSGI_APPLICATION = "newsroom_site.wsgi.application"
ASGI_APPLICATION = "newsroom_site.asgi.application"


def _database(url: str) -> dict:
    parts = urlsplit(url)
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": parts.path.lstrip("/"),
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": str(parts.port or ""),
    }


if os.environ.get("DATABASE_URL"):
    DATABASES = {"default": _database(os.environ["DATABASE_URL"])}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "news.sqlite3",
            "OPTIONS": {"timeout": 20},
            # A file, so that the event stream's threads see what the test wrote.
            "TEST": {"NAME": VAR_DIR / "test-news.sqlite3"},
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# No AUTH_USER_MODEL: the site's readers are Django's own auth.User.

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",  # comments: readers sign in with allauth
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "/"
# As the README's "Add comments to an existing Django site" says: readers sign up with an email,
# a password and the name shown on their comments, and allauth shows that name, never the email.
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_SIGNUP_FORM_CLASS = "comments.forms.SignupForm"
ACCOUNT_USER_DISPLAY = "comments.readers.public_name"
# Development: verification mails are printed, not sent (a fresh site has no mail server).
EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"

# The site's own API policy: basic auth, staff only, limit/offset pages, the browsable API first.
# The comments API keeps the contract of its own (API.md) whatever these say.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.BasicAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAdminUser"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 2,
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.BrowsableAPIRenderer",
        "rest_framework.renderers.JSONRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.FormParser"],
    "DEFAULT_THROTTLE_CLASSES": [],
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
