"""Helpers for the live-update tests: a broker of each kind, Redis, free ports in this project's range."""

import os
import uuid

import pytest
from asgiref.sync import sync_to_async
from django.db import connection
from django.test import override_settings

from benchmarks.production import delete_keys, free_ports  # noqa: F401 (the tests' helpers too)
from tests.conftest import require


def redis_url() -> str | None:
    """REDIS_URL, or the local Redis at 127.0.0.1:6379; None if neither answers."""
    import redis

    url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=0.5).ping()
    except (redis.RedisError, OSError):
        return None
    return url


@pytest.fixture(params=["database", "redis"])
def broker_settings(request):
    """Settings for a fresh broker of each kind; Redis keys and channel get a prefix of their own."""
    prefix = f"test-live-{uuid.uuid4().hex[:12]}"
    url = ""
    if request.param == "redis":
        url = redis_url()
        require(url is not None, "Redis at REDIS_URL or 127.0.0.1:6379")
    with override_settings(REDIS_URL=url, COMMENTS_LIVE_PREFIX=prefix, COMMENTS_SSE_HEARTBEAT=0.3):
        yield request.param
    if url:
        delete_keys(url, prefix)


def in_thread(function, *args, **kwargs):
    """Run ORM code off the event loop, closing its connection so no test database stays in use."""

    def call():
        try:
            return function(*args, **kwargs)
        finally:
            connection.close()

    return sync_to_async(call, thread_sensitive=False)()
