"""HTTP benchmark: the hot thread, counts and posting, against a ceiling measured in the same run.

    python -m benchmarks.http [--duration 3] [--rounds 3] [--connections 4] [--comments 100000]
                              [--deployments gunicorn,uvicorn] [--workloads W1,W2,...] [--json FILE]
    python -m benchmarks.http --profile      # py-spy profiles of W1, W2 and W3 instead

Each deployment is started on 127.0.0.1 (a free port) with ``benchmarks.settings``; wrk (Debian's
``wrk``) drives each workload for ``--duration`` seconds per round, and after each round the
*ceiling* on the same server: a bare Django view returning, from memory, as many bytes as that
workload's answer (``/bench/ceiling/?bytes=N``, through the same middleware). The table gives the
median of the rounds: requests per second, p50 and p99 latency, and the ratio to the ceiling.

Workloads (issue 17): W1 reads the 1,000-comment thread of ``hot`` in one request (200 top-level
comments with their replies), W1/20 its first 20 top-level comments, "W1 signed-in" the same as
a signed-in reader (allauth's ``X-Session-Token``), "W1 cold" the same with the thread cache off
(``BENCH_READ_CACHE=0``, another server: every read builds the whole page), "W1 after a change"
reads where every read follows a change to the thread (``changed.lua``: a like or unlike of one
of its comments, in turn, then an anonymous read; its req/s counts pairs, its latencies both
kinds of request); W2 the counts of 50 articles; W3 posts comments as a
signed-in reader to ``post-target`` (last, so nothing read grows). Every response must be a
2xx: a run with errors, 4xx or 5xx fails loudly.

Peers (``benchmarks.peers``; ``--no-peers`` leaves them out): isso, after our deployments, on W1
(its ``GET /?uri=/hot``, a seeded 1,000-comment thread) and W3 (an anonymous ``POST /new``), with
the same wrk settings and checks but no ceiling; after the table, each goal set against a peer
(W3 ≥ 1.5× isso) is printed with its ratio.

The data comes from ``benchmarks.generate``, cached between runs: SQLite in
``var/bench-<comments>.sqlite3``, or, when DATABASE_URL and REDIS_URL are set, the PostgreSQL
database and Redis they name (the generator refuses to wipe a database it did not build).
"""

import argparse
import json
import math
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from benchmarks import peers

BASE_DIR = Path(__file__).resolve().parent.parent
WRK_DIR = Path(__file__).resolve().parent / "wrk"
VAR = BASE_DIR / "var"
BENCH_EMAIL = "bench@example.com"  # as in benchmarks.generate (not imported: it sets Django up)
BENCH_PASSWORD = "bench password 42"
THREAD = "/api/v1/articles/hot/comments/"
COUNT_KEYS = [f"article-{n:04d}" for n in range(1, 51)]


@dataclass(frozen=True)
class Workload:
    name: str
    path: str
    method: str = "GET"
    signed_in: bool = False
    cold: bool = False  # runs on a server with the thread cache off
    script: str = "get.lua"
    # Every read follows a change (changed.lua): requests alternate like / unlike and an
    # anonymous read; the figures are of the reads (a pair's time: change + first read after it).
    after_change: bool = False


WORKLOADS = [
    Workload("W1", f"{THREAD}?page_size=200"),
    Workload("W1/20", f"{THREAD}?page_size=20"),
    Workload("W1 signed-in", f"{THREAD}?page_size=200", signed_in=True),
    Workload("W1 cold", f"{THREAD}?page_size=200", cold=True),
    Workload("W1 after a change", f"{THREAD}?page_size=200", signed_in=True, script="changed.lua",
             after_change=True),
    Workload("W2", "/api/v1/counts/?" + "&".join(f"article={key}" for key in COUNT_KEYS)),
    Workload("W3", "/api/v1/articles/post-target/comments/", method="POST", signed_in=True, script="post.lua"),
]
PROFILED = ["W1", "W2", "W3"]
REQUEST_FRAME = "SyncWorker.handle_request ("  # one request in a gunicorn sync worker
MAX_SECONDS = 10  # the longest a run of a slow workload is stretched to
CEILING_READY = "/bench/ceiling/?bytes=10"  # our servers' cheapest answer: start-up and drain checks
# The same workloads on isso, and the goals set against it (issue 17: "W3 ≥ 1.5× isso's figure").
PEER_WORKLOADS = [
    Workload("W1", f"/?uri={peers.ISSO_HOT}"),
    Workload("W3", f"/new?uri={peers.ISSO_POST_TARGET}", method="POST", script="isso_post.lua"),
]
PEER_GOALS = {"W1": None, "W3": 1.5}  # ours / isso at least this (None: shown for reference)


@dataclass(frozen=True)
class Deployment:
    name: str
    label: str

    def command(self, port: int, workers: int) -> list[str]:
        if self.name == "procfile":
            return [str(Path(sys.executable).parent / "honcho"), "-f", "deploy/Procfile", "start"]
        if self.name == "gunicorn":
            return [sys.executable, "-m", "gunicorn", "comments_project.wsgi:application", "--worker-class", "sync",
                    "--workers", str(workers), "--bind", f"127.0.0.1:{port}", "--log-level", "warning",
                    "--timeout", "120"]
        return [sys.executable, "-m", "uvicorn", "comments_project.asgi:application", "--host", "127.0.0.1",
                "--port", str(port), "--workers", str(workers), "--no-access-log", "--log-level", "warning"]


    def environment(self, port: int, workers: int, run_dir: str) -> dict[str, str]:
        """What the Procfile reads: where nginx listens, the workers, a run directory of its own."""
        if self.name != "procfile":
            return {}
        return {"LISTEN": f"127.0.0.1:{port}", "WEB_CONCURRENCY": str(workers), "RUN_DIR": run_dir,
                "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}", "WEB_LOG_LEVEL": "warning"}


DEPLOYMENTS = {
    "procfile": Deployment("procfile", "nginx + gunicorn, 2 sync workers (recommended: deploy/Procfile)"),
    "gunicorn": Deployment("gunicorn", "gunicorn alone, 2 sync workers"),
    "uvicorn": Deployment("uvicorn", "uvicorn ASGI, 2 workers (previous)"),
}


class BenchmarkFailed(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(base: str, path: str, *, method: str = "GET", token: str | None = None,
            body: bytes | None = None) -> tuple[int, bytes]:
    headers = {"Accept": "application/json"}
    if token:
        headers["X-Session-Token"] = token
    if body is not None:
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(base + path, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=120) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def server_log(deployment: Deployment, label: str) -> Path:
    """Where a deployment's own output goes (honcho prints every process's lines): var/bench-logs/."""
    folder = BASE_DIR / "var" / "bench-logs"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{deployment.name}-{label}.log"


class Server:
    """One deployment (or a peer) on 127.0.0.1, in its own process group (so its workers stop with it).

    ``ready`` is the path that answers 200 once it serves, and serves to drain it; ``log`` takes
    its output (a peer's chatter) instead of the terminal, and is shown if it does not start."""

    def __init__(self, deployment: Deployment, env: dict, *, workers: int, ready: str = CEILING_READY,
                 log: Path | None = None):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.ready = ready
        self.run_dir = tempfile.mkdtemp(prefix="bench-run-")
        env = {**env, **deployment.environment(self.port, workers, self.run_dir)}
        output = log.open("w") if log else None
        self.process = subprocess.Popen(deployment.command(self.port, workers), cwd=BASE_DIR, env=env,
                                        start_new_session=True, stdout=output, stderr=output)
        if output:
            output.close()
        deadline = time.monotonic() + 60
        while True:
            try:
                if request(self.base, ready)[0] == 200:
                    return
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                shown = f":\n{log.read_text()[-2000:]}" if log else ""
                raise BenchmarkFailed(f"{deployment.name} did not start (exit {self.process.returncode}){shown}")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        shutil.rmtree(self.run_dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def sign_in(base: str) -> str:
    """The benchmark reader's session token from allauth's app API."""
    body = json.dumps({"email": BENCH_EMAIL, "password": BENCH_PASSWORD}).encode()
    status, answer = request(base, "/_allauth/app/v1/auth/login", method="POST", body=body)
    if status != 200:
        raise BenchmarkFailed(f"sign-in answered {status}: {answer[:300]!r}")
    return json.loads(answer)["meta"]["session_token"]


def preflight(base: str, workload: Workload, token: str | None) -> int:
    """One request by hand: its status must be right; returns the size of its body in bytes."""
    body = json.dumps({"body": "Pre-flight comment."}).encode() if workload.method == "POST" else None
    status, answer = request(base, workload.path, method=workload.method, token=token, body=body)
    expected = 201 if workload.method == "POST" else 200
    if status != expected:
        raise BenchmarkFailed(f"{workload.name}: {workload.method} {workload.path} answered {status}, "
                              f"not {expected}: {answer[:300]!r}")
    if workload.path.startswith(THREAD):
        data = json.loads(answer)
        shown = len(data["results"])
        if data["count"] < 1000 or shown != int(workload.path.rsplit("=", 1)[1]):
            raise BenchmarkFailed(f"{workload.name}: the thread has {data['count']} comments and {shown} shown; "
                                  "regenerate the data (python -m benchmarks.generate --reset)")
    return len(answer)


def unlike_all(base: str, path: str, token: str) -> list[int]:
    """Take back the benchmark reader's likes on the page at ``path`` (so that every like that
    changed.lua sends is a change, not a repeat), through the API; returns the page's comment ids."""
    status, answer = request(base, path, token=token)
    if status != 200:
        raise BenchmarkFailed(f"{path} answered {status} to the signed-in reader")
    nodes, stack = [], list(json.loads(answer)["results"])
    while stack:
        node = stack.pop()
        nodes.append(node)
        stack.extend(node["replies"])
    for node in nodes:
        if node["liked"]:
            status, answer = request(base, f"/api/v1/comments/{node['id']}/like/", method="DELETE", token=token)
            if status >= 300:
                raise BenchmarkFailed(f"unlike {node['id']} answered {status}: {answer[:200]!r}")
    return sorted(node["id"] for node in nodes if not node["is_deleted"])


@dataclass
class Run:
    requests_per_s: float
    p50_ms: float
    p99_ms: float


def wrk(url: str, *, script: str, seconds: int, threads: int, connections: int,
        token: str | None = None, warmup: bool = False, headers: dict[str, str] | None = None,
        env: dict[str, str] | None = None, per_request: int = 1) -> Run | None:
    """One wrk run; ``per_request`` wrk requests make one measured request (``changed.lua``: 2)."""
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "60s", "-s", script]
    if token:
        command += ["-H", f"X-Session-Token: {token}"]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    env = {**os.environ, **(env or {}), "LUA_PATH": f"{WRK_DIR}/?.lua;;", "BENCH_RUN": uuid.uuid4().hex[:10]}
    done = subprocess.run([*command, url], cwd=WRK_DIR, env=env, capture_output=True, text=True, timeout=seconds + 120)
    lines = [line for line in done.stdout.splitlines() if line.startswith("BENCH_JSON ")]
    if done.returncode != 0 or not lines:
        raise BenchmarkFailed(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    figures = json.loads(lines[-1].removeprefix("BENCH_JSON "))
    errors = {kind: figures[kind] for kind in ("connect", "read", "write", "status", "timeout") if figures[kind]}
    if errors:
        raise BenchmarkFailed(f"{url}: {errors} (errors out of {figures['requests']} requests)")
    if not figures["requests"]:
        if warmup:
            return None
        raise BenchmarkFailed(f"{url}: no request completed in {seconds} s")
    return Run(figures["requests"] / per_request / (figures["duration_us"] / 1e6), figures["p50_us"] / 1000,
               figures["p99_us"] / 1000)


@dataclass
class Result:
    deployment: str
    workload: str
    bytes: int
    seconds: int
    rounds: list[Run] = field(default_factory=list)
    ceiling: list[Run] = field(default_factory=list)

    @staticmethod
    def _median(runs: list[Run], name: str) -> float:
        return statistics.median(getattr(run, name) for run in runs)

    def as_dict(self) -> dict:
        """The medians; a peer's row (measured without a ceiling) has None for the ceiling's figures."""
        rps = self._median(self.rounds, "requests_per_s")
        ceiling = self._median(self.ceiling, "requests_per_s") if self.ceiling else None
        return {
            "deployment": self.deployment, "workload": self.workload, "bytes": self.bytes, "seconds": self.seconds,
            "requests_per_s": rps, "p50_ms": self._median(self.rounds, "p50_ms"),
            "p99_ms": self._median(self.rounds, "p99_ms"), "ceiling_requests_per_s": ceiling,
            "ceiling_p50_ms": self._median(self.ceiling, "p50_ms") if self.ceiling else None,
            "ratio": rps / ceiling if ceiling else None,
        }


def drain(server: "Server", connections: int) -> None:
    """Wait for the requests wrk left in the server when it stopped: a slow workload would
    otherwise eat into the next run (the ceiling's). Requests queue in order, so once as
    many as wrk had open have come back, the server is idle."""
    with ThreadPoolExecutor(connections) as pool:
        for status, _ in pool.map(lambda _: request(server.base, server.ready), range(connections)):
            if status != 200:
                raise BenchmarkFailed(f"{server.ready} answered {status}")


def measure(server: Server, deployment: Deployment, workload: Workload, args, token: str | None, *,
            check=preflight, headers: dict[str, str] | None = None, ceiling: bool = True) -> Result:
    """Warm-up, then ``args.rounds`` rounds of the workload, each followed by the ceiling's run
    (unless ``ceiling`` is false: a peer has none). ``check(base, workload, token)`` makes the
    pre-flight request and returns the size of the answer; ``headers`` go with every request."""
    token = token if workload.signed_in else None
    started = time.monotonic()
    size = check(server.base, workload, None if workload.after_change else token)
    # A slow workload's first answers come after connections / workers requests' time: run long
    # enough for a few rounds of them (the goal is for this to be the duration asked for).
    seconds = max(args.duration, min(MAX_SECONDS, math.ceil(6 * (time.monotonic() - started)
                                                              * args.connections / args.workers)))
    result = Result(deployment.label, workload.name, size, seconds)
    load = {"threads": args.threads, "connections": args.connections}
    target, script = server.base + workload.path, str(WRK_DIR / workload.script)
    ceiling_url, ceiling_script = f"{server.base}/bench/ceiling/?bytes={size}", str(WRK_DIR / "get.lua")
    if workload.after_change:  # the token goes with the changes only (see changed.lua)
        def run(seconds: int, warmup: bool = False) -> Run | None:
            comments = unlike_all(server.base, workload.path, token)
            return wrk(target, script=script, seconds=seconds, warmup=warmup, per_request=2,
                       env={"BENCH_TOKEN": token, "BENCH_COMMENTS": ",".join(map(str, comments))}, **load)
    else:
        def run(seconds: int, warmup: bool = False) -> Run | None:
            return wrk(target, script=script, seconds=seconds, token=token, warmup=warmup, headers=headers, **load)
    run(args.warmup, warmup=True)
    drain(server, args.connections)
    for _ in range(args.rounds):
        result.rounds.append(run(seconds))
        drain(server, args.connections)
        if ceiling:
            result.ceiling.append(wrk(ceiling_url, script=ceiling_script, seconds=args.duration, **load))
            drain(server, args.connections)
    row = result.as_dict()
    against = (f"  ceiling {row['ceiling_requests_per_s']:>7.1f} req/s  × {row['ratio']:.3f}" if ceiling else "")
    print(f"  {workload.name:<13} {row['requests_per_s']:>9.1f} req/s  p50 {row['p50_ms']:>8.1f} ms  "
          f"p99 {row['p99_ms']:>8.1f} ms{against}", flush=True)
    return result


# --- Environment and data -----------------------------------------------------------------------


def backend() -> str:
    return "PostgreSQL + Redis" if os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL") else "SQLite"


def server_env(comments: int) -> dict:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "benchmarks.settings", "DEBUG": "false", "LOG_LEVEL": "WARNING",
           "PYTHONUNBUFFERED": "1",
           # No collectstatic for an API benchmark: WhiteNoise's warning about it is noise here.
           "PYTHONWARNINGS": "ignore:No directory at"}
    if backend() == "SQLite":
        env.pop("DATABASE_URL", None)
        env.pop("REDIS_URL", None)
        env["SQLITE_PATH"] = str(VAR / f"bench-{comments}.sqlite3")
    else:
        env.setdefault("CACHE_KEY_PREFIX", "bench")
        env.setdefault("COMMENTS_LIVE_PREFIX", "bench")
    return env


def prepare_data(env: dict, comments: int, *, reset: bool) -> None:
    """Generate the data if it is missing or stale, then forget what an earlier run posted."""
    VAR.mkdir(exist_ok=True)
    generate = [sys.executable, "-m", "benchmarks.generate", "--comments", str(comments)]
    subprocess.run([*generate, *(["--reset"] if reset else [])], cwd=BASE_DIR, env=env, check=True)
    subprocess.run([*generate, "--clean"], cwd=BASE_DIR, env=env, check=True, stdout=subprocess.DEVNULL)


def machine() -> str:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores{f' ({model})' if model else ''}, Python {platform.python_version()}"


def load_average() -> str:
    """What else ran on the machine meanwhile: the 1-minute load average."""
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "?"


def print_table(rows: list[dict], duration: int) -> None:
    print("| deployment | workload | req/s | p50 ms | p99 ms | bytes | ceiling req/s | × ceiling |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        ceiling = "—" if r["ceiling_requests_per_s"] is None else f"{r['ceiling_requests_per_s']:,.0f}"
        ratio = "—" if r["ratio"] is None else f"{r['ratio']:.3f}"
        print(f"| {r['deployment']} | {r['workload']} | {r['requests_per_s']:,.1f} | {r['p50_ms']:,.1f} "
              f"| {r['p99_ms']:,.1f} | {r['bytes']:,} | {ceiling} | {ratio} |")
    stretched = [f"{r['workload']} on {r['deployment'].split(',')[0]}: {r['seconds']} s" for r in rows
                 if r["seconds"] > duration]
    if stretched:
        print(f"\nRuns stretched for slow workloads: {'; '.join(stretched)}.")


def peer_goals(rows: list[dict]) -> list[str]:
    """One line per workload measured on us and on the peer: our req/s over the peer's, per deployment."""
    lines = []
    for name, goal in PEER_GOALS.items():
        theirs = next((r for r in rows if r.get("peer") and r["workload"] == name), None)
        if theirs is None:
            continue
        for ours in [r for r in rows if not r.get("peer") and r["workload"] == name]:
            ratio = ours["requests_per_s"] / theirs["requests_per_s"]
            verdict = (f"goal ≥ {goal}: {'met' if ratio >= goal else 'NOT met'}" if goal
                       else "no goal against isso, for reference")
            lines.append(f"{name}: ours {ours['requests_per_s']:,.1f} req/s = {ratio:.2f} × isso "
                         f"({theirs['requests_per_s']:,.1f} req/s) ({verdict}) on {ours['deployment']}")
    return lines


def warm_up(server: Server, args, path: str = "/bench/ceiling/?bytes=1000") -> None:
    """Every worker loads its code and opens its files before the first measured run."""
    wrk(f"{server.base}{path}", script=str(WRK_DIR / "get.lua"), seconds=args.warmup,
        threads=args.threads, connections=args.connections)
    drain(server, args.connections)


def peer_preflight(base: str, workload: Workload, token: str | None) -> int:
    """isso's pre-flight request: a 201 for a post (the first one creates the thread, so it has a
    title), the whole seeded thread for a read; returns the size of the answer in bytes."""
    data = None
    if workload.method == "POST":
        data = {"text": "Pre-flight comment.", "author": "Bench reader", "email": None, "website": None,
                "title": "Post target"}
    status, answer = peers.call(base, workload.path, data)
    expected = 201 if data else 200
    if status != expected:
        raise BenchmarkFailed(f"isso {workload.name}: {workload.method} {workload.path} answered {status}, "
                              f"not {expected}: {answer[:300]!r}")
    if not data:
        peers.check_thread(answer)
    return len(answer)


def benchmark_peers(args) -> list[dict]:
    """isso on the workloads it shares with us (W1 after seeding its thread, W3), without a ceiling."""
    chosen = [w for w in PEER_WORKLOADS if w.name in args.workloads]
    if not chosen:
        return []
    peer = peers.IssoPeer(peers.isso_python(), args.workers)
    print(f"\n{peer.label}", flush=True)
    log = VAR / "peers" / "isso.log"  # isso logs at INFO, and warns that the site does not answer
    log.parent.mkdir(parents=True, exist_ok=True)
    headers = {name: value for name, value in peers.headers().items() if name != "Content-Type"}
    with Server(peer, dict(os.environ), workers=args.workers, ready=peer.ready, log=log) as server:
        if any(w.name == "W1" for w in chosen):
            started = time.monotonic()
            peers.seed(server.base, connections=args.connections)
            print(f"  seeded {peers.ISSO_HOT} with {peers.HOT_COMMENTS:,} comments through its API in "
                  f"{time.monotonic() - started:.1f} s", flush=True)
        warm_up(server, args, peer.ready)
        return [{**measure(server, peer, w, args, None, check=peer_preflight, headers=headers,
                           ceiling=False).as_dict(), "peer": peer.name} for w in chosen]


def benchmark(args, env: dict) -> list[dict]:
    chosen = [w for w in WORKLOADS if w.name in args.workloads]
    rows = []
    for name in args.deployments:
        deployment = DEPLOYMENTS[name]
        print(f"\n{deployment.label}", flush=True)
        cold = [w for w in chosen if w.cold]
        if cold:
            with Server(deployment, {**env, "BENCH_READ_CACHE": "0"}, workers=args.workers,
                        log=server_log(deployment, "cold")) as server:
                warm_up(server, args)
                rows += [measure(server, deployment, w, args, None).as_dict() for w in cold]
        with Server(deployment, env, workers=args.workers, log=server_log(deployment, "warm")) as server:
            warm_up(server, args)
            token = sign_in(server.base) if any(w.signed_in for w in chosen) else None
            rows += [measure(server, deployment, w, args, token).as_dict() for w in chosen if not w.cold]
    if args.peers:
        rows += benchmark_peers(args)
    return rows


# --- Profiles -----------------------------------------------------------------------------------


def summarize_speedscope(path: Path, top: int) -> dict:
    """Where the workers' request time goes: shares of the samples taken inside a request.

    Only stacks under gunicorn's ``SyncWorker.handle_request`` count (the master process and a
    worker waiting for a connection are left out), so 100 % is all the time spent serving
    requests, gunicorn's reading and writing included. "inclusive": the function is on the
    stack (frames on nearly every stack, the middleware chain, are left out); "ours": the same for
    functions of the ``comments`` app; "self": at the top of the stack.
    """
    data = json.loads(path.read_text())
    frames = data["shared"]["frames"]
    names = [f"{f['name']} ({Path(f.get('file') or '?').name})" for f in frames]
    base = {i for i, name in enumerate(names) if name.startswith(REQUEST_FRAME)}
    app = str(BASE_DIR / "comments") + os.sep
    ours = {names[i] for i, f in enumerate(frames) if (f.get("file") or "").startswith(app)}
    inclusive, own, total = Counter(), Counter(), 0.0
    for profile in data["profiles"]:
        for stack, weight in zip(profile["samples"], profile["weights"], strict=True):
            if not base.intersection(stack):
                continue
            total += weight
            for i in set(stack):
                inclusive[names[i]] += weight
            own[names[stack[-1]]] += weight
    if not total:
        raise BenchmarkFailed(f"no sample inside a request in {path}")
    share = lambda pairs: [(name, n / total) for name, n in pairs]  # noqa: E731
    spread = [(name, n) for name, n in inclusive.most_common() if n / total < 0.97 and not name.startswith("process ")]
    return {"seconds": total, "inclusive": share(spread[:top]), "self": share(own.most_common(top)),
            "ours": share([(name, n) for name, n in spread if name in ours][:top])}


def profile(args, env: dict) -> None:
    """py-spy on every worker of the recommended deployment (gunicorn) while wrk drives one workload."""
    # Installed with the dev requirements, next to this Python (make does not put .venv/bin on PATH).
    py_spy = shutil.which("py-spy", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    if not py_spy:
        raise BenchmarkFailed("py-spy is not installed (pip install -r requirements-dev.txt)")
    out = VAR / "profiles"
    out.mkdir(parents=True, exist_ok=True)
    deployment = DEPLOYMENTS["gunicorn"]  # the recommended workers; the summary knows its request frame
    summaries = {}
    for workload in [w for w in WORKLOADS if w.name in PROFILED and w.name in args.workloads]:
        with Server(deployment, env, workers=args.workers) as server:
            token = sign_in(server.base) if workload.signed_in else None
            preflight(server.base, workload, token)
            script = str(WRK_DIR / workload.script)
            wrk(server.base + workload.path, script=script, seconds=args.warmup, threads=args.threads,
                connections=args.connections, token=token if workload.signed_in else None, warmup=True)
            drain(server, args.connections)
            target = out / f"{workload.name.replace('/', '-')}.speedscope.json"
            spy = subprocess.Popen([py_spy, "record", "--subprocesses", "--pid", str(server.process.pid),
                                    "--rate", "250", "--duration", str(int(args.duration) + 2), "--format",
                                    "speedscope", "--output", str(target)], stdout=subprocess.DEVNULL)
            time.sleep(1)
            run = wrk(server.base + workload.path, script=script, seconds=args.duration, threads=args.threads,
                      connections=args.connections, token=token if workload.signed_in else None)
            if spy.wait(args.duration + 60) != 0:
                raise BenchmarkFailed(f"py-spy failed on {workload.name}")
        summary = summaries[workload.name] = {**summarize_speedscope(target, args.top), "requests_per_s":
                                              run.requests_per_s, "p50_ms": run.p50_ms, "file": str(target)}
        print(f"\n{workload.name}: {run.requests_per_s:.1f} req/s, p50 {run.p50_ms:.1f} ms under py-spy; "
              f"{summary['seconds']:.1f} s of samples in requests -> {target.relative_to(BASE_DIR)}")
        print("  inclusive (share of request time with the function on the stack):")
        for name, part in summary["inclusive"]:
            print(f"    {100 * part:5.1f} %  {name}")
        print("  our code (comments/), inclusive:")
        for name, part in summary["ours"]:
            print(f"    {100 * part:5.1f} %  {name}")
        print("  self (the function itself, at the top of the stack):")
        for name, part in summary["self"]:
            print(f"    {100 * part:5.1f} %  {name}")
    (out / "summary.json").write_text(json.dumps(summaries, indent=1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.http", description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=3, help="seconds per measured run (default 3)")
    parser.add_argument("--warmup", type=int, default=1, help="seconds of warm-up per workload and ceiling")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per workload; the median is shown")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (-t)")
    parser.add_argument("--connections", type=int, default=4, help="wrk connections (-c)")
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    parser.add_argument("--comments", type=int, default=100_000, help="comments in the generated database")
    parser.add_argument("--deployments", default="procfile,gunicorn,uvicorn", help=f"of {', '.join(DEPLOYMENTS)}")
    parser.add_argument("--workloads", default=",".join(w.name for w in WORKLOADS),
                        help="comma-separated, of: " + ", ".join(w.name for w in WORKLOADS))
    parser.add_argument("--no-peers", dest="peers", action="store_false",
                        help="leave out the peer (isso) measured beside us on W1 and W3")
    parser.add_argument("--reset-data", action="store_true", help="regenerate the data even if it is up to date")
    parser.add_argument("--json", type=Path, help="also write the rows to this file")
    parser.add_argument("--profile", action="store_true", help="profile W1, W2, W3 with py-spy instead")
    parser.add_argument("--top", type=int, default=25, help="functions listed per profile")
    args = parser.parse_args(argv)
    args.deployments = [d.strip() for d in args.deployments.split(",") if d.strip()]
    args.workloads = [w.strip() for w in args.workloads.split(",") if w.strip()]
    unknown = [d for d in args.deployments if d not in DEPLOYMENTS]
    unknown += [w for w in args.workloads if w not in {w.name for w in WORKLOADS}]
    if unknown:
        parser.error(f"unknown: {', '.join(unknown)}")
    if not shutil.which("wrk"):
        parser.error("wrk is not installed (Debian: apt-get install wrk; `make bench` installs it)")

    started = time.monotonic()
    env = server_env(args.comments)
    try:
        prepare_data(env, args.comments, reset=args.reset_data)
    except subprocess.CalledProcessError:
        print("\nBENCHMARK FAILED: the data could not be prepared (see above)", file=sys.stderr)
        return 1
    before = load_average()
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    heading = (f"{backend()}, {args.comments:,} comments (hot: 1,000), wrk -t{args.threads} -c{args.connections}, "
               f"{args.rounds} × {args.duration} s (median), {machine()}, {when}")
    try:
        if args.profile:
            print(f"Profiles: {heading}")
            profile(args, env)
            return 0
        print(f"HTTP benchmark: {heading}")
        rows = benchmark(args, env)
    except (BenchmarkFailed, peers.PeerFailed) as error:
        print(f"\nBENCHMARK FAILED: {error}", file=sys.stderr)
        return 1
    finally:
        subprocess.run([sys.executable, "-m", "benchmarks.generate", "--clean"], cwd=BASE_DIR, env=env,
                       stdout=subprocess.DEVNULL, check=False)
    print(f"\n{heading}; load average {before} before, {load_average()} after; "
          f"{time.monotonic() - started:.0f} s in all\n")
    print_table(rows, args.duration)
    goals = peer_goals(rows)
    if goals:
        print("\n" + "\n".join(goals))
    if args.json:
        args.json.write_text(json.dumps({"heading": heading, "rows": rows, "goals": goals}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
