"""Versions of what the public sees, so that hot reads can be served from cached bytes.

Two kinds of version live in the shared cache (Django's ``default`` cache):

- one per article (by its CMS key): moves whenever anything the article's thread shows changes
  (a comment appears, goes, is edited, liked, or its author renames themselves);
- one for all comment counts: moves whenever any article's count changes.

A cached answer is stored under the version it was built at. Writers move the version only after
their transaction commits (``transaction.on_commit``), and a reader reads the version *before* it
reads the database, so an answer built from a snapshot older than a change is stored under a
version that is already obsolete and never served. A version is an opaque unique token (not a
counter), so an evicted version key comes back as a value no stored answer was ever built at.

If the cache is unreachable when a version should move (Redis down), the move is lost; cached
answers therefore also expire (``COMMENTS_READ_CACHE_TTL``) so that the staleness is bounded.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import time
from collections.abc import Iterable

from django.core.cache import cache
from django.db import connection, transaction

from comments import conf

COUNTS = "comments:v:counts"
_sequence = itertools.count()


def _article_key(article_key: str) -> str:
    return f"comments:v:a:{article_key}"


def _fresh() -> str:
    """A token no other process or moment produces: time, process id and a local sequence."""
    return f"{time.time_ns():x}.{os.getpid():x}.{next(_sequence):x}"


def _current(cache_key: str) -> str:
    version = cache.get(cache_key)
    if version is None:
        # First read (or evicted): agree on one value; a concurrent reader's add may win.
        candidate = _fresh()
        version = candidate if cache.add(cache_key, candidate, timeout=None) else cache.get(cache_key, candidate)
    return version


def article_version(article_key: str) -> str:
    """The current version of ``article_key``'s public thread (created on first use).

    Create it only for an article that exists, so that requests for made-up keys leave nothing
    in the cache; ``peek`` reads without creating.
    """
    return _current(_article_key(article_key))


def peek(article_key: str) -> str | None:
    """The current version of ``article_key``'s thread, or None if none was created yet."""
    return cache.get(_article_key(article_key))


def counts_version() -> str:
    """The current version of every comment count."""
    return _current(COUNTS)


def bump(article_keys: Iterable[str], *, counts: bool) -> None:
    """Move the versions of these articles' threads (and of all counts when ``counts``) now.

    Call it only after the change committed: ``bump_on_commit`` does that for you.
    """
    values = {_article_key(key): _fresh() for key in set(article_keys)}
    if counts:
        values[COUNTS] = _fresh()
    if values:
        cache.set_many(values, timeout=None)


def bump_on_commit(article_keys: Iterable[str], *, counts: bool = False) -> None:
    """Move the versions once the current transaction commits (at once outside any transaction).

    The move after the commit is the one that matters: an answer built from a snapshot taken
    before the commit is orphaned by it. A move before the commit would not help other
    connections (they keep reading the old snapshot until the commit and cache it under the
    new version), so it is made only when a caller's transaction is open around the writer's
    own (``ATOMIC_REQUESTS`` on a host site, the admin's change forms, a test case, whose
    transactions never commit): reads inside it, after the change, must not be served an
    answer cached before it. A service called from a plain request pays one cache write, not
    two (each is a write transaction of the embedded cache, or a Redis round trip).
    """
    keys = list(article_keys)
    if len(connection.atomic_blocks) > 1:
        bump(keys, counts=counts)
    transaction.on_commit(lambda: bump(keys, counts=counts))


class RecentAnswers:
    """Answers a process served lately (a page's ETag and bytes, a thread's bytes), beside the
    shared cache: a hit skips a round trip to it (and copying a large page out of Redis). A key
    must name content that never changes (it holds a version read from the shared cache on
    every request, or a thread's revision read from the database), so a kept answer is never
    served after a change; entries also expire after ``COMMENTS_READ_CACHE_TTL``. Oldest out
    first past ``size``."""

    def __init__(self, size: int):
        self.size = size
        self._entries: dict[str, tuple[float, object]] = {}

    def get(self, key: str):
        deadline, answer = self._entries.get(key, (0.0, None))
        return answer if deadline > time.monotonic() else None

    def put(self, key: str, answer) -> None:
        self._entries[key] = (time.monotonic() + conf.read_cache_ttl(), answer)
        while len(self._entries) > self.size:
            with contextlib.suppress(KeyError, RuntimeError, StopIteration):  # another thread evicted it
                del self._entries[next(iter(self._entries))]

    def clear(self) -> None:
        self._entries.clear()
