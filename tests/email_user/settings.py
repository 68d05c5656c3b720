"""The stand-alone settings with an email-only user model (``AUTH_USER_MODEL``): the app must
check, migrate and take comments on it. Used by tests/test_user_models.py in a subprocess."""

import os

from comments_project.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "tests.email_user"]  # noqa: F405
AUTH_USER_MODEL = "email_user.EmailUser"
ROOT_URLCONF = "tests.email_user.urls"
ALLOWED_HOSTS = ["*"]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["EMAIL_USER_DB"]}}
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
REDIS_URL = ""
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
