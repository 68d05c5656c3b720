"""Settings for the HTTP benchmark: production settings, with limits far beyond the load.

    DJANGO_SETTINGS_MODULE=benchmarks.settings

DEBUG is off (as in production; the key below signs nothing that outlives a run), HTTPS
redirects and secure-only cookies are off because the load generator speaks plain HTTP to
127.0.0.1, and every throttle allows far more than the benchmark sends, so no run measures 429s.
The database is ``var/bench.sqlite3`` unless ``SQLITE_PATH`` or ``DATABASE_URL`` says otherwise.
``BENCH_READ_CACHE=0`` turns the thread cache off (``COMMENTS_READ_CACHE``) for the cold read.
"""

import os
from pathlib import Path

os.environ["DEBUG"] = "false"
os.environ.setdefault("SECRET_KEY", "benchmark-only-secret-key-not-for-production-0123456789abcdef")
os.environ.setdefault("SQLITE_PATH", str(Path(__file__).resolve().parent.parent / "var" / "bench.sqlite3"))

from comments import conf  # noqa: E402
from comments_project.settings import *  # noqa: E402,F403
from comments_project.settings import env_bool  # noqa: E402

ROOT_URLCONF = "benchmarks.urls"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SECURE_HSTS_SECONDS = 0
# Readers are generated with verified addresses; no mail goes out from a benchmark.
ACCOUNT_EMAIL_VERIFICATION = "none"
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
ACCOUNT_RATE_LIMITS = False
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}

UNLIMITED = "1000000000/s"
COMMENTS_THROTTLE_RATES = dict.fromkeys(conf.THROTTLE_RATES, UNLIMITED)

if os.environ.get("BENCH_READ_CACHE"):
    COMMENTS_READ_CACHE = env_bool("BENCH_READ_CACHE", True)
