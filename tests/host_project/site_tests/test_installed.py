"""The site runs on the installed package, as a news site would: not on the repository's source."""

import subprocess
import sys
import sysconfig
from pathlib import Path

import comments

SITE = Path(__file__).resolve().parent.parent


def test_comments_comes_from_site_packages():
    installed = Path(sysconfig.get_paths()["purelib"]).resolve()
    assert Path(comments.__file__).resolve().is_relative_to(installed), comments.__file__


def test_the_site_runs_on_auth_user():
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import User

    assert settings.AUTH_USER_MODEL == "auth.User" and get_user_model() is User


def manage(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=SITE, capture_output=True, text=True, timeout=120)


def test_manage_py_check_is_clean():
    result = manage("check", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_no_migrations_are_missing():
    result = manage("makemigrations", "--check", "--dry-run")
    assert result.returncode == 0, result.stdout + result.stderr
