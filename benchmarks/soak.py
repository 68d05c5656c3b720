"""Soak: the production shape under minutes of mixed load, then exact counts, no 5xx, flat memory.

    python -m benchmarks.soak [--minutes 5] [--streams 200] [--writers 6] [--workers 2]
    make soak                       # the same, against DATABASE_URL / REDIS_URL when set

Starts the documented production shape (``deploy/Procfile``: gunicorn with ``--workers`` sync
workers, the uvicorn stream server, nginx in front) on a free port of 127.0.0.1, against a new
database beside ``DATABASE_URL`` (PostgreSQL; dropped afterwards) and ``REDIS_URL``, or the
embedded default when they are unset. Then, for ``--minutes``:

- ``--streams`` event streams stay open through nginx: three quarters follow one of the busy
  articles, the rest are list pages' counts streams following all of them;
- ``--writers`` signed-in readers post top-level comments and replies into a few busy threads,
  like and unlike, and delete some of their own comments, as fast as the servers answer;
- a reader polls thread pages and counts;
- every ``--sample`` seconds the resident memory of every server process is read from /proc.

At the end, with the writers stopped and the streams drained, it checks, and exits 1 on any
failure: no answer was a 5xx; every stored counter equals its rows (``recount_comments`` finds
no drift); every article's count in the API equals the count its open streams saw last; no
stream dropped; and the servers' memory in the last minute is within ``--memory-growth`` of
the second minute's (the first is warm-up). Binds 127.0.0.1 only; bounded in time and count.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from benchmarks.production import Deployment, free_ports, manage, nginx_installed

BUSY = [f"soak-busy-{n}" for n in range(3)]
PASSWORD = "soak pass phrase 42"
COUNT_EVENT = "count"


class SoakFailed(Exception):
    pass


@dataclass
class Tally:
    statuses: Counter = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    actions: Counter = field(default_factory=Counter)

    def record(self, what: str, response: httpx.Response) -> None:
        status = response.status_code
        self.statuses[status] += 1
        self.actions[what] += 1
        if status >= 500:
            self.server_errors.append(f"{what}: {status} {response.text[:200]}")
        elif status >= 400 and not self._raced(what, response):
            self.unexpected.append(f"{what}: {status} {response.text[:200]}")

    @staticmethod
    def _raced(what: str, response: httpx.Response) -> bool:
        """Refusals that concurrent writers cause by design: a reply or like to a comment its
        author deleted a moment before (400 on ``parent``, 404), a like already undone."""
        if response.status_code == 404:
            return what in ("like", "unlike", "delete")
        if response.status_code == 400 and what == "reply":
            return "parent" in (response.json().get("fields") or {})
        return False


@dataclass
class StreamState:
    path: str
    last_counts: dict[str, int] = field(default_factory=dict)
    events: int = 0
    dropped: str | None = None


def process_tree_rss_kb(pid: int) -> int:
    """Resident memory of ``pid`` and all its descendants, in KiB (0 for processes gone)."""
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total += int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")))
            for task in Path(f"/proc/{current}/task").iterdir():
                children = (task / "children").read_text().split()
                pending.extend(int(child) for child in children)
        except (FileNotFoundError, ProcessLookupError, StopIteration):
            continue
    return total


def setup_data(deployment: Deployment, writers: int) -> None:
    """The busy articles and the writers' accounts, through the services (one manage.py shell)."""
    script = f"""
from django.contrib.auth import get_user_model
from allauth.account.models import EmailAddress
from comments import services
for key in {BUSY!r}:
    services.upsert_article(key=key, title="Soak " + key)
Reader = get_user_model()
for n in range({writers}):
    email = f"soak{{n}}@example.com"
    user = Reader.objects.create_user(username=f"soak{{n}}", email=email, password={PASSWORD!r})
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    services.set_reader_display_name(reader=user, display_name=f"Soak writer {{n}}")
"""
    manage(deployment.env, "shell", "-c", script)


def sign_in(client: httpx.Client, n: int) -> str:
    response = client.post("/_allauth/app/v1/auth/login", json={"email": f"soak{n}@example.com", "password": PASSWORD})
    assert response.status_code == 200, f"sign-in answered {response.status_code}: {response.text[:300]}"
    return response.json()["meta"]["session_token"]


async def hold_stream(client: httpx.AsyncClient, state: StreamState, stop: asyncio.Event, opened: asyncio.Event):
    """Reads one stream until ``stop``; records the last count per article it carried."""
    try:
        async with client.stream("GET", state.path, timeout=httpx.Timeout(10, read=None)) as response:
            if response.status_code != 200:
                state.dropped = f"answered {response.status_code}"
                return
            buffer = ""
            async for chunk in response.aiter_text():
                *frames, buffer = (buffer + chunk).split("\n\n")
                for frame in frames:
                    fields = dict(line.split(": ", 1) for line in frame.split("\n") if ": " in line and
                                  not line.startswith(":"))
                    if fields.get("event") == COUNT_EVENT:
                        data = json.loads(fields["data"])
                        state.last_counts[data["article"]] = data["count"]
                        state.events += 1
                        opened.set()
                if stop.is_set():
                    return
            if not stop.is_set():
                state.dropped = "the server ended the stream"
    except (httpx.HTTPError, OSError) as error:
        if not stop.is_set():
            state.dropped = f"{type(error).__name__}: {error}"


async def write(client: httpx.AsyncClient, token: str, tally: Tally, stop: asyncio.Event, rng: random.Random):
    """One reader's loop: post, reply, like, unlike, delete, each answered before the next."""
    headers = {"X-Session-Token": token}
    mine: list[tuple[str, int]] = []
    others: list[tuple[str, int]] = []
    n = 0
    while not stop.is_set():
        n += 1
        article = rng.choice(BUSY)
        roll = rng.random()
        if roll < 0.10 and mine:
            _, comment_id = mine.pop(rng.randrange(len(mine)))
            tally.record("delete", await client.delete(f"/api/v1/comments/{comment_id}/", headers=headers))
            continue
        if roll < 0.25 and others:
            _, comment_id = rng.choice(others)
            if rng.random() < 0.7:
                response = await client.post(f"/api/v1/comments/{comment_id}/like/", headers=headers)
                tally.record("like", response)
            else:
                tally.record("unlike", await client.delete(f"/api/v1/comments/{comment_id}/like/", headers=headers))
            continue
        body = {"body": f"Soak comment {n} by a writer {rng.random():.9f}: the figures matter."}
        thread_of = [c for c in others if c[0] == article]
        if roll < 0.65 and thread_of:
            body["parent"] = rng.choice(thread_of)[1]
        response = await client.post(f"/api/v1/articles/{article}/comments/", json=body, headers=headers)
        tally.record("reply" if "parent" in body else "post", response)
        if response.status_code == 201:
            mine.append((article, response.json()["id"]))
        # Pick up others' comments to reply to and like: the newest page of the thread.
        if n % 10 == 0:
            page = await client.get(f"/api/v1/articles/{article}/comments/?page_size=20&sort=newest")
            tally.record("read", page)
            if page.status_code == 200:
                others = [(article, item["id"]) for item in page.json()["results"] if item.get("author")][-200:]


async def read(client: httpx.AsyncClient, tally: Tally, stop: asyncio.Event, rng: random.Random):
    counts = "/api/v1/counts/?" + "&".join(f"article={key}" for key in BUSY)
    while not stop.is_set():
        tally.record("thread", await client.get(f"/api/v1/articles/{rng.choice(BUSY)}/comments/?page_size=50"))
        tally.record("counts", await client.get(counts))
        await asyncio.sleep(0.05)


async def sample_memory(deployment: Deployment, samples: list[tuple[float, dict[str, int]]], stop: asyncio.Event,
                        every: float, started: float):
    while True:
        pids = deployment.process_ids()
        samples.append((time.monotonic() - started,
                        {name: process_tree_rss_kb(pid) for name, pid in pids.items() if name in ("web", "stream")}))
        try:
            await asyncio.wait_for(stop.wait(), every)
            return
        except TimeoutError:
            continue


async def soak(deployment: Deployment, args, tokens: list[str]) -> dict:
    rng = random.Random(args.seed)
    tally, stop, samples = Tally(), asyncio.Event(), []
    list_path = "/api/v1/counts/events/?" + "&".join(f"article={key}" for key in BUSY)
    states = [StreamState(f"/api/v1/articles/{BUSY[n % len(BUSY)]}/events/" if n % 4 else list_path)
              for n in range(args.streams)]
    limits = httpx.Limits(max_connections=args.streams + 50, max_keepalive_connections=args.streams + 50)
    async with httpx.AsyncClient(base_url=deployment.base, timeout=30, limits=limits) as client:
        opened = [asyncio.Event() for _ in states]
        streams = [asyncio.create_task(hold_stream(client, state, stop, ready))
                   for state, ready in zip(states, opened, strict=True)]
        try:
            await asyncio.wait_for(asyncio.gather(*(ready.wait() for ready in opened)), args.open_timeout)
        except TimeoutError:
            reasons = Counter(state.dropped or "no event yet" for state, ready in zip(states, opened, strict=True)
                              if not ready.is_set())
            raise SoakFailed(f"{sum(reasons.values())} of {len(states)} streams did not open within "
                             f"{args.open_timeout:g} s: {dict(reasons)}") from None
        started = time.monotonic()
        sampler = asyncio.create_task(sample_memory(deployment, samples, stop, args.sample, started))
        load_stop = asyncio.Event()
        load = [asyncio.create_task(write(client, token, tally, load_stop, random.Random(rng.random())))
                for token in tokens]
        load.append(asyncio.create_task(read(client, tally, load_stop, random.Random(rng.random()))))
        await asyncio.sleep(args.minutes * 60)
        load_stop.set()
        await asyncio.gather(*load)
        elapsed = time.monotonic() - started
        await asyncio.sleep(args.drain)  # the last events reach every stream
        final = (await client.get("/api/v1/counts/?" + "&".join(f"article={key}" for key in BUSY))).json()["counts"]
        stop.set()
        await sampler
        for task in streams:
            task.cancel()
        await asyncio.gather(*streams, return_exceptions=True)
    return {"tally": tally, "states": states, "samples": samples, "final": final, "elapsed": elapsed}


def memory_growth(samples: list[tuple[float, dict[str, int]]]) -> dict[str, tuple[float, float]]:
    """Per server, the median RSS (MiB) of the second minute and of the last minute."""
    end = samples[-1][0]
    figures = {}
    for name in samples[0][1]:
        early = [s[name] for t, s in samples if 60 <= t < 120 and name in s] or [samples[0][1][name]]
        late = [s[name] for t, s in samples if t >= end - 60 and name in s]
        figures[name] = (statistics.median(early) / 1024, statistics.median(late) / 1024)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--streams", type=int, default=200)
    parser.add_argument("--writers", type=int, default=6)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn web workers")
    parser.add_argument("--sample", type=float, default=10.0, help="seconds between memory samples")
    parser.add_argument("--drain", type=float, default=5.0, help="seconds for the last events to arrive")
    parser.add_argument("--memory-growth", type=float, default=0.15,
                        help="largest allowed growth of a server's memory, last minute over the second")
    parser.add_argument("--open-timeout", type=float, default=120, help="seconds for every stream to open")
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args(argv)
    if not nginx_installed():
        print("nginx is missing: apt-get install nginx", file=sys.stderr)
        return 2
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(max(soft, 4 * args.streams + 1024), hard), hard))
    (port,) = free_ports(1)
    deployment = Deployment(port=port, workers=args.workers, prefix="soak", extra_env={
        # The soak measures the servers, not the limits: far above what it sends.
        **{f"THROTTLE_{scope}": "1000000/min" for scope in ("ANON", "USER", "POST_COMMENT", "FLAG", "LIKE")},
        "ACCOUNT_RATE_LIMITS": "false",
    })
    backend = "PostgreSQL" if os.environ.get("DATABASE_URL") else "SQLite"
    broker = "Redis" if os.environ.get("REDIS_URL") else "database broker"
    print(f"Soak: {args.minutes:g} min, {args.workers} web workers, {backend}, {broker}, "
          f"{args.streams} streams, {args.writers} writers, on {deployment.base}", flush=True)
    try:
        deployment.start()
        setup_data(deployment, args.writers)
        with deployment.client() as client:
            tokens = [sign_in(client, n) for n in range(args.writers)]
        try:
            result = asyncio.run(soak(deployment, args, tokens))
        except SoakFailed as failure:
            print(f"FAILED: {failure}\n{deployment.output()}")
            return 1
        deployment.stop_servers()
        drift = manage(deployment.env, "recount_comments", "-v", "0")
    finally:
        deployment.stop()
    return report(result, drift, args)


def report(result: dict, drift: str, args) -> int:
    tally, states, final = result["tally"], result["states"], result["final"]
    failures = []
    writes = sum(tally.actions[a] for a in ("post", "reply", "like", "unlike", "delete"))
    print(f"\nRequests: {sum(tally.statuses.values()):,} in {result['elapsed']:.0f} s "
          f"({sum(tally.statuses.values()) / result['elapsed']:.0f} req/s); writes {writes:,}; "
          f"by action {dict(tally.actions)}; by status {dict(sorted(tally.statuses.items()))}")
    if tally.server_errors:
        failures.append(f"{len(tally.server_errors)} answers were 5xx, e.g. {tally.server_errors[:3]}")
    if tally.unexpected:
        failures.append(f"{len(tally.unexpected)} unexpected refusals, e.g. {tally.unexpected[:3]}")
    print(f"Recount: {drift.strip()}")
    if drift.strip() != "0 article count(s) repaired; 0 like count(s), 0 flag count(s) repaired.":
        failures.append("stored counters drifted from their rows (recount_comments repaired some)")
    dropped = [s for s in states if s.dropped]
    stale = [(s.path, key, seen, final[key]) for s in states for key, seen in s.last_counts.items()
             if key in final and seen != final[key]]
    print(f"Streams: {len(states)} open, {sum(s.events for s in states):,} count events, {len(dropped)} dropped, "
          f"{len(stale)} ended on a count other than the API's; final counts {final}")
    if dropped:
        failures.append(f"{len(dropped)} streams dropped, e.g. {[s.dropped for s in dropped[:3]]}")
    if stale:
        failures.append(f"{len(stale)} streams ended on a stale count, e.g. {stale[:3]}")
    for name, (early, late) in memory_growth(result["samples"]).items():
        growth = late / early - 1
        print(f"Memory of {name}: {early:.1f} MiB in the second minute, {late:.1f} MiB in the last ({growth:+.1%})")
        if result["elapsed"] >= 180 and growth > args.memory_growth:
            failures.append(f"{name}'s memory grew {growth:.1%} (limit {args.memory_growth:.0%})")
    for failure in failures:
        print(f"FAILED: {failure}")
    print("Soak passed." if not failures else "Soak failed.")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
