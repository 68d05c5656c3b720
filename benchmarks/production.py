"""The production shape on this machine, started the documented way, for tests and the soak.

``honcho -f deploy/Procfile start`` runs gunicorn (pages and the API), uvicorn (event streams)
and nginx in front, on a port of 127.0.0.1, against the PostgreSQL and Redis named by
``DATABASE_URL`` / ``REDIS_URL`` (a database of its own, dropped afterwards), or the embedded
default otherwise (a temporary SQLite file and cache directory). DEBUG is off and static files
are collected, as in production. ``stop()`` ends everything: honcho stops its processes, and
whatever is left is killed by process group.
"""

import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx

BASE_DIR = Path(__file__).resolve().parent.parent
SEED_ARTICLE = "8dd8c1dd39dbf15b"  # the seed article (seeds/)
STARTUP_LIMIT = 90  # seconds for migrations, collectstatic and the servers on a busy machine
STOP_LIMIT = 20  # honcho gives its processes 5 s, then kills them
PORT_RANGE = range(8140, 8199)  # this project's test ports; 8199 stays free: tests use it as "a Redis that is down"


def nginx_installed() -> bool:
    return bool(shutil.which("nginx")) or os.access("/usr/sbin/nginx", os.X_OK)


def create_postgres_database(url: str, prefix: str = "deploy") -> str:
    """A new, empty database beside the one ``url`` names; returns its URL."""
    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return url.rsplit("/", 1)[0] + "/" + name


def drop_postgres_database(admin_url: str, url: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def manage(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    """``manage.py args`` in the deployment's environment; its output, or AssertionError on failure."""
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, capture_output=True,
                            text=True, timeout=STARTUP_LIMIT, input=stdin)
    assert result.returncode == 0, f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


class Deployment:
    """A running production shape: ``base`` is nginx's address; ``log`` holds every process's output."""

    def __init__(self, *, port: int, workers: int, extra_env: dict[str, str] | None = None, prefix: str = "deploy"):
        self.port, self.workers = port, workers
        self.base = f"http://127.0.0.1:{port}"
        self.work = Path(tempfile.mkdtemp(prefix=f"comments-{prefix}-"))
        self.work.chmod(0o755)  # nginx's workers run as "nobody" when started by root
        self.log = self.work / "honcho.log"
        self.key_prefix = f"{prefix}-{uuid.uuid4().hex[:12]}"
        self.honcho: subprocess.Popen | None = None
        self._stopped = False
        self.env = {
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "DJANGO_SETTINGS_MODULE": "comments_project.settings",
            "DEBUG": "false", "SECRET_KEY": f"deployment-{uuid.uuid4().hex}", "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "false", "ACCOUNT_EMAIL_VERIFICATION": "none",
            "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
            "LISTEN": f"127.0.0.1:{port}", "RUN_DIR": str(self.work / "run"), "STATIC_ROOT": str(self.work / "static"),
            "WEB_CONCURRENCY": str(workers), "LOG_LEVEL": "WARNING",
            "COMMENTS_LIVE_PREFIX": self.key_prefix, "CACHE_KEY_PREFIX": self.key_prefix,
            "CACHE_DIR": str(self.work / "cache"),
            **(extra_env or {}),
        }
        self.env.pop("SQLITE_TEST_PATH", None)
        self.admin_url = os.environ.get("DATABASE_URL")
        if self.admin_url:
            self.env["DATABASE_URL"] = create_postgres_database(self.admin_url, prefix)
        else:
            self.env["SQLITE_PATH"] = str(self.work / "db.sqlite3")

    def start(self) -> "Deployment":
        """Migrate, load the seeds, collect static files, start honcho and wait until nginx answers."""
        manage(self.env, "migrate", "--noinput", "-v", "0")
        manage(self.env, "load_seeds")
        manage(self.env, "collectstatic", "--noinput", "-v", "0")
        with self.log.open("wb") as output:
            # The command README documents, with the virtualenv's bin/ on PATH.
            self.honcho = subprocess.Popen([sys.executable, "-m", "honcho", "-f", "deploy/Procfile", "start"],
                                           cwd=BASE_DIR, env=self.env, stdout=output, stderr=subprocess.STDOUT,
                                           start_new_session=True)
        self._wait_until_ready()
        return self

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def client(self, **kwargs) -> httpx.Client:
        return httpx.Client(base_url=self.base, timeout=15, **kwargs)

    def process_ids(self) -> dict[str, int]:
        """honcho's processes by name (web, stream, nginx); each leads a process group of its own."""
        log = self.log.read_text(errors="replace")
        return {name: int(pid) for name, pid in re.findall(r"(\w+)\.\d+ started \(pid=(\d+)\)", log)}

    def _wait_until_ready(self) -> None:
        """Until nginx answers for both the web workers and the stream server (bounded)."""
        deadline = time.monotonic() + STARTUP_LIMIT
        with self.client() as client:
            while True:
                assert self.honcho.poll() is None, f"honcho stopped:\n{self.output()}"
                try:
                    web = client.get("/api/v1/counts/", params={"article": SEED_ARTICLE}).status_code
                    with client.stream("GET", f"/api/v1/articles/{SEED_ARTICLE}/events/") as response:
                        stream = response.status_code
                    if (web, stream) == (200, 200):
                        return
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, f"not ready within {STARTUP_LIMIT} s:\n{self.output()}"
                time.sleep(0.5)

    def stop(self) -> None:
        """SIGTERM to honcho (it stops its processes); then SIGKILL to every process group left;
        then the database, the Redis keys and the files of this deployment are removed."""
        try:
            self.stop_servers()
        finally:
            if self.admin_url:
                drop_postgres_database(self.admin_url, self.env["DATABASE_URL"])
            if redis_url := os.environ.get("REDIS_URL"):
                delete_keys(redis_url, self.key_prefix)
            shutil.rmtree(self.work, ignore_errors=True)

    def stop_servers(self) -> None:
        """Stop the processes, keeping the database (to inspect it afterwards); stop() calls it too."""
        if self.honcho is None or self._stopped:
            return
        self._stopped = True
        if self.honcho.poll() is None:
            os.killpg(self.honcho.pid, signal.SIGTERM)
            try:
                self.honcho.wait(STOP_LIMIT)
            except subprocess.TimeoutExpired:
                pass
        # honcho starts each process in a session of its own; its log names their ids.
        children = list(self.process_ids().values())
        for pgid in [self.honcho.pid, *children]:
            try:
                os.killpg(pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.honcho.wait(STOP_LIMIT)


def delete_keys(url: str, prefix: str) -> None:
    """Remove every Redis key under ``prefix`` (the cache's and the live broker's)."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        for key in client.scan_iter(match=f"{prefix}:*", count=1000):
            client.delete(key)
    finally:
        client.close()


def start_uvicorn(env: dict[str, str], *, timeout: float = 60) -> tuple[subprocess.Popen, str]:
    """uvicorn serving ``comments_project.asgi`` on 127.0.0.1, on a port the kernel picks
    (``--port 0``), read back from its startup line; returns the process and its base URL.

    A port chosen beforehand can be taken by another process before the server binds it (seen
    in a test run beside other runs: the server exited, and the test talked to someone else's).
    """
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "comments_project.asgi:application", "--host", "127.0.0.1",
         "--port", "0", "--no-access-log", "--log-level", "info"],
        cwd=BASE_DIR, env=env, stderr=subprocess.PIPE, text=True,
    )
    found: list[str] = []
    ready = threading.Event()

    def read() -> None:  # until the startup line, then drained so the server never blocks on it
        for line in process.stderr:
            if not found and (match := re.search(r"running on (http://127\.0\.0\.1:\d+)", line)):
                found.append(match.group(1))
                ready.set()
        ready.set()  # the server exited (a failed start): nothing found

    threading.Thread(target=read, daemon=True).start()
    if not ready.wait(timeout) or not found:
        process.kill()
        process.wait(STOP_LIMIT)
        raise RuntimeError(f"uvicorn did not start within {timeout:g} s")
    return process, found[0]


def free_ports(count: int) -> list[int]:
    """Ports in this project's range that nothing listens on right now, in random order: test runs
    side by side (other checkouts on the machine) would otherwise all reach for the first one."""
    found = []
    for port in random.sample(PORT_RANGE, len(PORT_RANGE)):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        found.append(port)
        if len(found) == count:
            return found
    raise RuntimeError("no free port in the range")
