"""Stream benchmark: one uvicorn process holding 1,000 open event streams.

Reports the server's memory per open stream (RSS growth / streams), its threads and file
descriptors while they are open, and how long one comment takes to reach every stream
(p50 / p99 over all deliveries, and the slowest stream per comment). The load comes from a
separate process (benchmarks/client.py) over raw sockets; everything binds to 127.0.0.1, and
each run stops by itself within its timeouts.

Scenarios: article streams with the database broker (the embedded default, no Redis), list-page
counts streams following 50 articles each (/api/v1/counts/events/, which must cost no more per
page than an article stream), the same two with Redis (when REDIS_URL is set), and, for
comparison, Django's stock ASGI handler, which keeps one thread per open stream.

    python -m benchmarks [--streams 1000] [--events 5] [--port 8190]
"""

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

BASE_DIR = Path(__file__).resolve().parent.parent
PASSWORD = "bench password 42"
LIST_KEYS = ["bench", *(f"bench-list-{i}" for i in range(1, 50))]  # a front page's 50 articles
ARTICLE_PATH = "/api/v1/articles/bench/events/"
LIST_PATH = "/api/v1/counts/events/?" + "&".join(f"article={key}" for key in LIST_KEYS)
SETUP = f"""
from comments import services
from django.contrib.auth import get_user_model
Reader = get_user_model()
for key in {LIST_KEYS!r}:
    services.upsert_article(key=key, title="Benchmark article")
if not Reader.objects.filter(email="bench@example.com").exists():
    Reader.objects.create_user(username="bench", email="bench@example.com", password={PASSWORD!r})
"""


def raise_fd_limit(needed: int) -> None:
    """Each stream is a socket on both sides; the children inherit the raised limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(needed, hard), hard))


def proc_figures(pid: int) -> dict[str, int]:
    status = Path(f"/proc/{pid}/status").read_text()
    rss_kb = int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1))
    return {"rss_kb": rss_kb, "threads": len(os.listdir(f"/proc/{pid}/task")),
            "fds": len(os.listdir(f"/proc/{pid}/fd"))}


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


class Server:
    def __init__(self, env: dict, port: int, *, stock_handler: bool):
        app = ["--factory", "django.core.asgi:get_asgi_application"] if stock_handler else \
            ["comments_project.asgi:application"]
        self.base = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", *app, "--host", "127.0.0.1", "--port", str(port),
             "--no-access-log", "--log-level", "warning", "--timeout-graceful-shutdown", "1"],
            cwd=BASE_DIR, env=env,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(self.base + "/api/v1/counts/?article=bench", timeout=1)
                return
            except httpx.TransportError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError("the server did not start") from None
                time.sleep(0.2)

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


class Poster:
    """A signed-in reader posting through the HTML form, so the event starts inside the server."""

    def __init__(self, base: str):
        self.http = httpx.Client(base_url=base, timeout=10)
        self.durations: list[float] = []
        self.http.get("/accounts/login/")
        response = self.http.post("/accounts/login/", data={
            "login": "bench@example.com", "password": PASSWORD, "csrfmiddlewaretoken": self.http.cookies["csrftoken"],
        })
        if response.status_code not in (302, 303):
            raise RuntimeError(f"login failed: {response.status_code}")

    def post(self, body: str) -> tuple[int, float]:
        started = time.time()
        response = self.http.post("/articles/bench/comments/", data={
            "body": body, "csrfmiddlewaretoken": self.http.cookies["csrftoken"],
        })
        self.durations.append(time.time() - started)
        # The page redirects to the comment's permalink (/comments/<id>/, or #comment-<id>).
        match = re.search(r"(?:#comment-|/comments/)(\d+)", response.headers.get("location", ""))
        if response.status_code not in (302, 303) or match is None:
            raise RuntimeError(f"posting failed: {response.status_code} {response.headers.get('location')}")
        return int(match.group(1)), started


def run_client(port: int, streams: int, events: int, timeout: float, *, path: str = ARTICLE_PATH,
               after_count: int | None = None) -> subprocess.Popen:
    """``after_count`` set: list streams, whose arrivals are the counts of "bench" above it."""
    counts = [] if after_count is None else ["--counts-of", "bench", "--after-count", str(after_count)]
    return subprocess.Popen(
        [sys.executable, "-m", "benchmarks.client", "--port", str(port), "--path", path,
         "--streams", str(streams), "--events", str(events), "--timeout", str(timeout), *counts],
        cwd=BASE_DIR, stdout=subprocess.PIPE, text=True,
    )


def bench_count(base: str) -> int:
    return httpx.get(base + "/api/v1/counts/?article=bench", timeout=10).json()["counts"]["bench"]


def scenario(name: str, env: dict, args, *, stock_handler: bool = False, list_streams: bool = False) -> dict:
    """``list_streams``: each stream follows the counts of 50 articles (a list page), not one article."""
    path = LIST_PATH if list_streams else ARTICLE_PATH
    server = Server(env, args.port, stock_handler=stock_handler)
    try:
        poster = Poster(server.base)
        # Load every code path once before the baseline.
        warm = run_client(args.port, 20, 1, 30, path=path,
                          after_count=bench_count(server.base) if list_streams else None)
        assert warm.stdout.readline().strip() == "READY"
        poster.post("Warm-up.")
        warm.communicate(timeout=30)
        time.sleep(0.5)
        baseline = proc_figures(server.process.pid)

        opening = time.monotonic()
        count_before = bench_count(server.base)
        client = run_client(args.port, args.streams, args.events, 60, path=path,
                            after_count=count_before if list_streams else None)
        if client.stdout.readline().strip() != "READY":
            raise RuntimeError("the client could not open its streams")
        open_seconds = time.monotonic() - opening
        time.sleep(1.0)
        held = proc_figures(server.process.pid)

        started = {}
        for n in range(args.events):
            comment_id, at = poster.post(f"Benchmark comment {n}.")
            # A list stream sees the comment as the count it made (nothing else posts meanwhile).
            started[count_before + n + 1 if list_streams else comment_id] = at
            time.sleep(0.3)
        arrivals = {int(k): v for k, v in json.loads(client.communicate(timeout=90)[0]).items()}
    finally:
        server.stop()

    latencies, slowest = [], []
    for comment_id, at in started.items():
        times = [t - at for t in arrivals.get(comment_id, [])]
        latencies.extend(times)
        slowest.append(max(times) if len(times) == args.streams else float("inf"))
    delivered = len(latencies)
    return {
        "scenario": name,
        "path": path,
        "streams": args.streams,
        "open_s": open_seconds,
        "rss_per_stream_kb": (held["rss_kb"] - baseline["rss_kb"]) / args.streams,
        "rss_baseline_mb": baseline["rss_kb"] / 1024,
        "rss_held_mb": held["rss_kb"] / 1024,
        "threads_baseline": baseline["threads"],
        "threads_held": held["threads"],
        "fds_held": held["fds"],
        "delivered": f"{delivered}/{args.streams * args.events}",
        "p50_ms": 1000 * statistics.median(latencies) if latencies else float("nan"),
        "p99_ms": 1000 * percentile(latencies, 99) if latencies else float("nan"),
        "all_reached_ms": 1000 * statistics.median(slowest),
        "all_reached_each_ms": [round(1000 * s) for s in slowest],
        "post_response_each_ms": [round(1000 * d) for d in poster.durations[1:]],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--events", type=int, default=5, help="comments posted while the streams are open")
    parser.add_argument("--port", type=int, default=8190)
    args = parser.parse_args()
    raise_fd_limit(4 * args.streams + 256)

    workdir = Path(tempfile.mkdtemp(prefix="comments-bench-"))
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "REDIS_URL")}
    env.update(SQLITE_PATH=str(workdir / "bench.sqlite3"), DJANGO_SETTINGS_MODULE="comments_project.settings",
               DEBUG="true", LOG_LEVEL="WARNING", THROTTLE_USER="100000/min", THROTTLE_ANON="100000/min",
               THROTTLE_POST_COMMENT="100000/min")
    started = time.monotonic()
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=BASE_DIR, env=env, check=True)
    subprocess.run([sys.executable, "manage.py", "shell", "-c", SETUP], cwd=BASE_DIR, env=env, check=True,
                   stdout=subprocess.DEVNULL)

    results = [scenario("database broker, article streams", env, args),
               scenario("database broker, list streams (50 keys)", env, args, list_streams=True)]
    if redis_url := os.environ.get("REDIS_URL"):
        redis_env = {**env, "REDIS_URL": redis_url, "COMMENTS_LIVE_PREFIX": f"bench-{uuid.uuid4().hex[:8]}"}
        results.append(scenario("Redis broker, article streams", redis_env, args))
        results.append(scenario("Redis broker, list streams (50 keys)", redis_env, args, list_streams=True))
    results.append(scenario("stock Django ASGI handler", env, args, stock_handler=True))

    print(f"\n{args.streams} streams on one uvicorn process, {args.events} comments each; "
          f"{os.cpu_count()} CPUs; total {time.monotonic() - started:.0f} s\n")
    print(f"| scenario | RSS per stream | server threads (idle → held) | open {args.streams} streams | "
          "delivered | p50 | p99 | one event reaches all |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['scenario']} | {r['rss_per_stream_kb']:.1f} KiB | {r['threads_baseline']} → {r['threads_held']} "
              f"| {r['open_s']:.1f} s | {r['delivered']} | {r['p50_ms']:.0f} ms | {r['p99_ms']:.0f} ms "
              f"| {r['all_reached_ms']:.0f} ms |")
    print()
    print(json.dumps(results))


if __name__ == "__main__":
    main()
