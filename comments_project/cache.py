"""The embedded default's cache: shared by every process on the machine, with no service to run.

With several server processes (gunicorn's workers and the stream server) a per-process cache
would give each process its own throttle counters and its own versions of what the public sees
(``comments.versions``), so a thread cached by one worker would outlive a change made in another.
diskcache keeps entries in SQLite files (large values as plain files) under one directory that
all processes open; ``add`` is atomic across processes, reads take a few microseconds.
"""

import os
import threading

from diskcache import FanoutCache
from diskcache.djangocache import DjangoCache
from django.core.cache.backends.base import BaseCache

_opened: dict[tuple[int, str], FanoutCache] = {}
_opened_lock = threading.Lock()


class SharedDiskCache(DjangoCache):
    """diskcache's Django backend, keeping its SQLite connections open between requests.

    Django closes every cache when a request finishes; diskcache would then reopen its database
    on the next request, which costs 0.2-1.5 ms (measured by ``deploy/measure_cache.py``), more
    than the requests it serves from the cache. Connections are per thread and reopened after
    a fork by diskcache itself, so keeping them is safe for both servers.
    """

    def __init__(self, directory, params):
        # Django builds a cache object per thread (and ASGI runs each request's sync code in a
        # thread of its own); opening diskcache's shards each time cost ~50 ms and ~400 KiB per
        # event stream. One FanoutCache per process and directory: its connections are per
        # thread and opened only when a thread first uses them.
        BaseCache.__init__(self, params)
        options = params.get("OPTIONS", {})
        key = (os.getpid(), str(directory))
        with _opened_lock:
            if key not in _opened:
                _opened[key] = FanoutCache(directory, params.get("SHARDS", 8), params.get("DATABASE_TIMEOUT", 0.010),
                                           **options)
            self._cache = _opened[key]

    def close(self, **kwargs):
        pass
