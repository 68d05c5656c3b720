"""Helpers for the live-update tests: finding Redis and free ports in this project's range."""

import os
import socket

PORT_RANGE = range(8140, 8199)  # 8199 stays free: tests use it as "a Redis that is down"


def redis_url() -> str | None:
    """REDIS_URL, or the local Redis at 127.0.0.1:6379; None if neither answers."""
    import redis

    url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=0.5).ping()
    except (redis.RedisError, OSError):
        return None
    return url


def delete_keys(url: str, prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)


def free_ports(count: int) -> list[int]:
    """Ports in this project's range that nothing listens on right now."""
    found = []
    for port in PORT_RANGE:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        found.append(port)
        if len(found) == count:
            return found
    raise RuntimeError("no free port in the range")
