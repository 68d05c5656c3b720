"""Fixtures of the host news site: its users (auth.User), its stories, a moderator of the desk."""

import itertools

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.cache import cache

from news.models import Story

_n = itertools.count(1)


@pytest.fixture(autouse=True)
def _fast_passwords_and_clean_cache(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    cache.clear()  # throttle counters and cached answers must not leak between tests
    yield
    cache.clear()


@pytest.fixture
def make_user(db):
    def make(**extra):
        n = next(_n)
        return get_user_model().objects.create_user(
            username=f"reader{n}", email=f"reader{n}@example.com", password="correct horse battery", **extra
        )

    return make


@pytest.fixture
def reader(make_user):
    return make_user()


@pytest.fixture
def other_reader(make_user):
    return make_user()


@pytest.fixture
def moderator(make_user):
    """A staff user whose only powers come from the app's "Moderators" group."""
    user = make_user(is_staff=True)
    user.groups.add(Group.objects.get(name="Moderators"))
    return user


@pytest.fixture
def story(db):
    return Story.objects.create(title="Rates rise again", slug="rates-rise-again", body="The bank moved.")
