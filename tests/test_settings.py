"""Configuration from the environment: production settings pass Django's deploy checks."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_manage(*args, **env):
    full_env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    full_env.update(env)
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=full_env,
                          capture_output=True, text=True, timeout=120)


def test_check_deploy_is_clean_with_documented_production_variables(tmp_path):
    result = run_manage(
        "check", "--deploy", "--fail-level", "WARNING",
        DEBUG="false", SECRET_KEY="x" * 20 + "production-secret-key-with-enough-entropy-1234567890",
        ALLOWED_HOSTS="comments.news.example", CSRF_TRUSTED_ORIGINS="https://comments.news.example",
        SQLITE_PATH=str(tmp_path / "db.sqlite3"),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    result = run_manage("check", DEBUG="false", ALLOWED_HOSTS="x.example", SQLITE_PATH=str(tmp_path / "db.sqlite3"))
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_development_secret_key_is_generated_once_into_an_ignored_file(tmp_path):
    key_file = tmp_path / "secret"
    code = "from django.conf import settings; print(settings.SECRET_KEY)"
    first = run_manage("shell", "--no-imports", "-c", code, DEBUG="true", SECRET_KEY_FILE=str(key_file))
    second = run_manage("shell", "--no-imports", "-c", code, DEBUG="true", SECRET_KEY_FILE=str(key_file))
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout and len(first.stdout.strip()) >= 50
    assert key_file.read_text().strip() == first.stdout.strip()
    ignored = subprocess.run(["git", "check-ignore", ".secret_key"], cwd=ROOT, capture_output=True)
    assert ignored.returncode == 0


def _embedded_sqlite_settings(path) -> tuple[str, int, str]:
    """Open a fresh SQLite file with the embedded default's options; what the connection says."""
    from django.conf import settings
    from django.db.backends.sqlite3.base import DatabaseWrapper

    wrapper = DatabaseWrapper({
        **settings.DATABASES["default"], "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(path), "OPTIONS": settings.SQLITE_OPTIONS,
        "TIME_ZONE": None, "CONN_MAX_AGE": 0, "CONN_HEALTH_CHECKS": False, "AUTOCOMMIT": True,
    })
    try:
        with wrapper.cursor() as cursor:
            cursor.execute("PRAGMA journal_mode")
            journal = cursor.fetchone()[0]
            cursor.execute("PRAGMA busy_timeout")
            busy_timeout = cursor.fetchone()[0]
        return journal, busy_timeout, wrapper.transaction_mode
    finally:
        wrapper.close()


def test_embedded_sqlite_runs_in_wal_mode_with_immediate_transactions(tmp_path, django_db_blocker):
    """Checked on a fresh SQLite file whatever DATABASE_URL says, in a thread of its own (a
    browser test may have left an event loop in this one, where Django refuses to connect)."""
    from concurrent.futures import ThreadPoolExecutor

    with django_db_blocker.unblock(), ThreadPoolExecutor(1) as pool:
        journal, busy_timeout, mode = pool.submit(_embedded_sqlite_settings, tmp_path / "e.sqlite3").result()
    assert journal == "wal" and busy_timeout >= 5000 and mode == "IMMEDIATE"
