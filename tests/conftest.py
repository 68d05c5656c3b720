"""Shared fixtures: readers, articles and threads, built through the services like real ones."""

import itertools
import os
import time

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.cache import cache

from comments import services

# Readers are the site's users: the stand-alone project runs on plain ``auth.User``, so the whole
# suite proves the app on the model every Django site has.
Reader = get_user_model()

_counter = itertools.count(1)

ON_CI = os.environ.get("CI", "").lower() == "true"


def require(condition: bool, reason: str):
    """Skip locally when a prerequisite is missing; on CI a missing prerequisite fails."""
    if condition:
        return
    if ON_CI:
        pytest.fail(f"CI prerequisite missing: {reason}")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Real hashing costs ~0.3 s per reader; tests check behaviour, not hashing strength."""
    # The real hasher stays second, so a test can give a reader a password that a server
    # process (with the production hashers) accepts: set_server_password() below.
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    ]


def set_server_password(reader: Reader, password: str = "correct horse battery") -> None:
    """For tests that sign in through a separate server process, which knows no MD5 hashes."""
    from django.contrib.auth.hashers import make_password

    reader.password = make_password(password, hasher="pbkdf2_sha256")
    reader.save(update_fields=["password"])


@pytest.fixture(autouse=True)
def _clear_cache():
    """Throttle counters, cached banned words and pages must not leak between tests."""
    from comments import fragments
    from comments.api import thread_pages

    cache.clear()
    thread_pages.recent_pages.clear()
    fragments.recent_threads.clear()  # ids come back after a test's rollback
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _every_pooled_connection_given_back():
    """PostgreSQL: a test gives back every pooled connection its threads took.

    A connection a thread keeps (Django's test clients switch off ``close_old_connections``; a
    poller cancelled mid-read) is lost to the pool until the process ends: a few of them and
    later tests wait 10 s for a connection and fail far from the cause (issue 16.11). Checked
    after each test, so the one that leaks is the one that fails.
    """
    yield
    from django.db import connections

    wrapper = connections["default"]
    pool = getattr(type(wrapper), "_connection_pools", {}).get(wrapper.alias)
    if pool is None:  # SQLite, or PostgreSQL without the pool
        return
    own = 0 if wrapper.connection is None else 1  # this thread's, held by pytest-django across tests
    deadline = time.monotonic() + 2  # a connection being returned or replaced settles in milliseconds
    while True:
        stats = pool.get_stats()
        lent = stats["pool_size"] - stats["pool_available"]
        if lent <= own or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert lent <= own, f"{lent - own} pooled connection(s) still lent to other threads after the test"


@pytest.fixture
def make_reader(db):
    def make(display_name: str | None = None, *, moderation: str | None = None, **extra) -> Reader:
        """A reader with a profile: ``display_name`` (default "Reader N") and ``moderation``."""
        n = next(_counter)
        user = Reader.objects.create_user(
            username=f"reader{n}", email=f"reader{n}@example.com", password="correct horse battery", **extra,
        )
        services.set_reader_display_name(reader=user, display_name=display_name or f"Reader {n}")
        if moderation is not None:
            services.set_reader_moderation(reader=user, moderator=None, moderation=moderation)
        return user

    return make


@pytest.fixture
def reader(make_reader):
    return make_reader("Ani")


@pytest.fixture
def other_reader(make_reader):
    return make_reader("Boris")


@pytest.fixture
def moderator(db):
    user = Reader.objects.create_user(
        username="mod", email="mod@example.com", password="correct horse battery", is_staff=True,
    )
    services.set_reader_display_name(reader=user, display_name="Moderator")
    return user


@pytest.fixture
def make_article(db):
    def make(key: str | None = None, **fields):
        key = key or f"article-{next(_counter)}"
        article, _ = services.upsert_article(key=key, title=fields.pop("title", f"Article {key}"), **fields)
        return article

    return make


@pytest.fixture
def article(make_article):
    return make_article("742163", title="Ministers meet in Moscow")


@pytest.fixture
def post(reader):
    """Post through the service: ``post(article, "text", parent=..., author=...)``."""

    def do(article, body="A comment.", *, parent=None, author=None):
        return services.post_comment(article=article, author=author or reader, body=body, parent=parent)

    return do


@pytest.fixture
def desk_moderator(make_reader):
    """A staff account whose only powers come from the "Moderators" group of migration 0002."""
    member = make_reader("Mira the moderator", is_staff=True)
    member.groups.add(Group.objects.get(name="Moderators"))
    return member


@pytest.fixture
def cms_account(db):
    """The newsroom's CMS: an account (not staff) whose only powers come from the "CMS" group of
    migration 0003, with no password, as the README tells a site to make it."""
    account = Reader.objects.create_user(username="cms", email="cms@example.com")
    account.groups.add(Group.objects.get(name="CMS"))
    return account


@pytest.fixture
def cms_token(cms_account):
    """``Authorization`` header value of the CMS account's DRF token."""
    from rest_framework.authtoken.models import Token

    return f"Token {Token.objects.create(user=cms_account).key}"


@pytest.fixture
def desk(client, desk_moderator):
    """The test client, signed in to the admin as ``desk_moderator``."""
    client.force_login(desk_moderator)
    return client


# --- API clients ------------------------------------------------------------------------------


@pytest.fixture
def api_client():
    """``api_client(reader)``: a DRF test client signed in as ``reader`` (None: anonymous)."""
    from rest_framework.test import APIClient

    def make(user=None):
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        return client

    return make


@pytest.fixture
def banned_reader(make_reader, moderator):
    banned = make_reader("Banned")
    services.ban_reader(reader=banned, moderator=moderator, reason="trolling")
    return banned
