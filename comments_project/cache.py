"""The embedded default's cache: shared by every process on the machine, with no service to run.

With several server processes (gunicorn's workers and the stream server) a per-process cache
would give each process its own throttle counters and its own versions of what the public sees
(``comments.versions``), so a thread cached by one worker would outlive a change made in another.
diskcache keeps entries in SQLite files (large values as plain files) under one directory that
all processes open; ``add`` is atomic across processes, reads take a few microseconds.
"""

from diskcache.djangocache import DjangoCache


class SharedDiskCache(DjangoCache):
    """diskcache's Django backend, keeping its SQLite connections open between requests.

    Django closes every cache when a request finishes; diskcache would then reopen its database
    on the next request, which costs 0.2-1.5 ms (measured by ``deploy/measure_cache.py``), more
    than the requests it serves from the cache. Connections are per thread and reopened after
    a fork by diskcache itself, so keeping them is safe for both servers.
    """

    def close(self, **kwargs):
        pass
