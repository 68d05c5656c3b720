"""What a load balancer asks: is the process alive, and can it serve (database, cache, broker)?

Checks only; ``comments.middleware.HealthCheckMiddleware`` answers ``/healthz`` and ``/readyz``
with them. Each check returns ``{"status": "ok"}`` or ``{"status": "fail", "error": <exception
class name>}`` (never the message: it may name hosts or users), plus ``ms``, the time it took.
"""

import logging
import secrets
import threading
import time

import redis
from django.conf import settings
from django.core.cache import cache
from django.db import connection

from comments import conf

logger = logging.getLogger(__name__)

_redis_clients: dict[str, redis.Redis] = {}
_redis_lock = threading.Lock()


def check_database() -> None:
    """One round trip; on PostgreSQL also that it accepts writes (a read-only primary or a hot
    standby answers ``SELECT 1`` but refuses every comment)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SHOW transaction_read_only")
            if cursor.fetchone()[0] == "on":
                raise ReadOnlyDatabaseError("the database is read-only")
        else:
            cursor.execute("SELECT 1")


class ReadOnlyDatabaseError(Exception):
    """The database answers but refuses writes."""


class CacheNotAnsweringError(Exception):
    """The cache did not give back what was just written (it degrades to misses when down)."""


def check_cache() -> None:
    """Write a random value and read it back: the tolerant Redis cache answers misses when Redis
    is down, so only a round trip tells."""
    key, value = f"comments:health:{secrets.token_hex(8)}", secrets.token_hex(8)
    cache.set(key, value, 10)
    try:
        if cache.get(key) != value:
            raise CacheNotAnsweringError("the cache lost what was written")
    finally:
        cache.delete(key)


def check_broker() -> None:
    """PING Redis when REDIS_URL is set (live events go through it), with the live events' short
    timeout; without Redis the broker is the database, which ``check_database`` covers."""
    url = getattr(settings, "REDIS_URL", "")
    if not url:
        check_database()
        return
    with _redis_lock:
        if url not in _redis_clients:
            timeout = conf.live_redis_timeout()
            _redis_clients[url] = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        client = _redis_clients[url]
    client.ping()


CHECKS = {"database": check_database, "cache": check_cache, "broker": check_broker}


def run(check) -> dict:
    started = time.perf_counter()
    try:
        check()
        result = {"status": "ok"}
    except Exception as error:  # noqa: BLE001 - any failure is a "fail", reported not raised
        logger.warning("readiness check %s failed: %r", check.__name__, error)
        result = {"status": "fail", "error": type(error).__name__}
    result["ms"] = round((time.perf_counter() - started) * 1000, 1)
    return result


def readiness() -> dict:
    """``{"status": "ok"|"fail", "checks": {"database": {...}, "cache": {...}, "broker": {...}}}``:
    "ok" only when every check is."""
    checks = {name: run(check) for name, check in CHECKS.items()}
    ok = all(result["status"] == "ok" for result in checks.values())
    return {"status": "ok" if ok else "fail", "checks": checks}


def liveness() -> dict:
    """The process answers: no database, no cache, nothing that an outage elsewhere could fail."""
    return {"status": "ok"}
