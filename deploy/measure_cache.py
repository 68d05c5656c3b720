"""Compare the cross-process caches that need no service: Django's FileBasedCache and diskcache.

Run: ``python deploy/measure_cache.py``. Prints microseconds per operation (median of rounds)
for small values and a 300 KB bytes value (a rendered 1,000-comment thread), with and without
the ``close()`` Django calls on every cache at the end of each request.
"""

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "comments_project.settings")

import django  # noqa: E402

django.setup()

from diskcache.djangocache import DjangoCache  # noqa: E402
from django.core.cache.backends.filebased import FileBasedCache  # noqa: E402

from comments_project.cache import SharedDiskCache  # noqa: E402

ROUNDS, N = 5, 2000
BIG = os.urandom(150 * 1024) + b'{"id": 1, "body": "x"}' * 7000  # ~300 KB, half compressible


def timed(fn, n: int = N) -> float:
    runs = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        for i in range(n):
            fn(i)
        runs.append((time.perf_counter() - start) / n * 1e6)
    return statistics.median(runs)


def measure(name, cache):
    keys = [f"comments:v:a:{i}" for i in range(50)]
    for key in keys:
        cache.set(key, "18a2b3c4d5e6f7.1a2b.3", None)
    cache.set("thread", BIG, 60)
    rows = {
        "set small": timed(lambda i: cache.set(f"throttle_{i % 100}", [time.time()] * 10, 60)),
        "get small": timed(lambda i: cache.get(keys[i % 50])),
        "get_many 50": timed(lambda i: cache.get_many(keys), 200),
        "set 300 KB": timed(lambda i: cache.set("thread", BIG, 60), 200),
        "get 300 KB": timed(lambda i: cache.get("thread"), 200),
        "request: get+set small, close": timed(
            lambda i: (cache.get(keys[i % 50]), cache.set(f"throttle_{i % 100}", [1.0] * 10, 60), cache.close())
        ),
        "request: get 300 KB, close": timed(lambda i: (cache.get("thread"), cache.close()), 200),
    }
    for op, micros in rows.items():
        print(f"{name:<24} {op:<32} {micros:9.1f} µs")


with tempfile.TemporaryDirectory() as tmp:
    measure("FileBasedCache", FileBasedCache(f"{tmp}/file", {"OPTIONS": {"MAX_ENTRIES": 10000}}))
    measure("diskcache DjangoCache", DjangoCache(f"{tmp}/disk", {}))
    # Several processes: another one holds the database open, so a close is not the last one.
    held = DjangoCache(f"{tmp}/held", {"SHARDS": 1})
    held.get("x")
    measure("  same, db held open", DjangoCache(f"{tmp}/held", {"SHARDS": 1}))
    measure("SharedDiskCache (ours)", SharedDiskCache(f"{tmp}/shared", {}))
