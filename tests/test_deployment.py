"""The production shape, started the documented way, answers through nginx.

``honcho -f deploy/Procfile start`` runs gunicorn (pages and the API), uvicorn (event streams)
and nginx in front, on a free port of 127.0.0.1, against this run's PostgreSQL and Redis when
DATABASE_URL / REDIS_URL are set (a database of its own, dropped afterwards), or the embedded
default otherwise (a temporary SQLite file and cache directory). The servers run with DEBUG off
and collected static files, as in production. Everything is stopped at the end: honcho stops its
processes, and whatever is left is killed by process group.
"""

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from contextlib import ExitStack

import httpx
import pytest

from benchmarks.production import BASE_DIR, SEED_ARTICLE, STOP_LIMIT, Deployment, nginx_installed
from tests.conftest import require
from tests.live_support import free_ports
from tests.sse import ServerSentEvent, parse_frames

WEB_WORKERS = 2
ARTICLE = SEED_ARTICLE


@pytest.fixture(scope="module")
def deployment():
    require(nginx_installed(), "Debian's nginx (apt-get install nginx) for the deployment test")
    (port,) = free_ports(1)
    running = Deployment(port=port, workers=WEB_WORKERS)
    try:
        yield running.start()
    finally:
        running.stop()


class EventReader:
    """Reads server-sent events from an open httpx stream, frame by frame as they arrive."""

    def __init__(self, response: httpx.Response):
        self.response = response
        self.chunks = response.iter_bytes()
        self.items: list = []
        self.rest = b""

    def next_event(self) -> ServerSentEvent:
        """The next event (heartbeat comments skipped); httpx's read timeout bounds the wait."""
        while True:
            while self.items:
                item = self.items.pop(0)
                if isinstance(item, ServerSentEvent):
                    return item
            chunk = next(self.chunks, None)
            assert chunk is not None, "the stream ended"
            items, self.rest = parse_frames(self.rest + chunk)
            self.items.extend(items)


def open_stream(stack: ExitStack, client: httpx.Client, article: str = ARTICLE) -> EventReader:
    response = stack.enter_context(client.stream("GET", f"/api/v1/articles/{article}/events/"))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    return EventReader(response)


def test_a_page_answers_html_through_nginx(deployment):
    with deployment.client() as client:
        response = client.get("/")

    assert response.status_code == 200, deployment.output()
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["server"] == "nginx"


def test_the_api_answers_json_through_nginx(deployment):
    with deployment.client() as client:
        thread = client.get(f"/api/v1/articles/{ARTICLE}/comments/")
        missing = client.get("/api/v1/articles/no-such-article/comments/")

    assert thread.status_code == 200, deployment.output()
    assert thread.headers["content-type"].startswith("application/json")
    assert isinstance(thread.json()["results"], list)
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/json")


def test_load_balancer_probes_by_ip_answer_through_nginx(deployment):
    """A probe naming a host the site does not serve (its IP address) still gets its answers."""
    with deployment.client() as client:
        alive = client.get("/healthz", headers={"Host": "10.9.8.7"})
        ready = client.get("/readyz", headers={"Host": "10.9.8.7"})
        page = client.get("/", headers={"Host": "10.9.8.7"})

    assert (alive.status_code, alive.json()) == (200, {"status": "ok"}), deployment.output()
    assert ready.status_code == 200, ready.text
    assert {name: check["status"] for name, check in ready.json()["checks"].items()} == {
        "database": "ok", "cache": "ok", "broker": "ok"}
    assert page.status_code == 400  # everything else still checks the host


def test_a_counts_request_of_100_long_keys_passes_the_web_server(deployment):
    """gunicorn's default request line (4 KB) refused a list page's counts with an HTML 414."""
    keys = [f"k{n:02d}-" + "x" * 60 for n in range(100)]  # a 7 KB request line
    with deployment.client() as client:
        counts = client.get("/api/v1/counts/", params=[("article", key) for key in keys])

    assert counts.status_code == 200, deployment.output()
    assert len(counts.json()["counts"]) == 100


def test_static_files_answer_with_long_lived_caching(deployment):
    with deployment.client() as client:
        page = client.get("/").text
        stylesheet = re.search(r'href="(/static/comments/site\.[0-9a-f]+\.css)"', page)
        assert stylesheet, "the page links its stylesheet by a hashed name (collectstatic)"
        response = client.get(stylesheet.group(1))

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")
    assert "immutable" in response.headers["cache-control"]


def test_event_streams_answer_unbuffered_and_hold_no_web_worker(deployment):
    """The first event arrives while the stream stays open; more open streams than web workers
    leave the pages answering, so the streams are on the stream server."""
    with deployment.client() as client, ExitStack() as stack:
        streams = [open_stream(stack, client) for _ in range(WEB_WORKERS + 1)]
        firsts = [stream.next_event() for stream in streams]
        page = client.get("/")

    assert [(event.event, event.data["article"]) for event in firsts] == [("count", ARTICLE)] * (WEB_WORKERS + 1)
    assert page.status_code == 200


def test_nginx_routes_several_machines(tmp_path):
    """The configuration for web and stream servers on other machines passes ``nginx -t``."""
    require(nginx_installed(), "Debian's nginx (apt-get install nginx) for the deployment test")
    tmp_path.chmod(0o755)
    env = {**os.environ, "RUN_DIR": str(tmp_path), "LISTEN": "127.0.0.1:8199",
           "WEB_UPSTREAMS": "10.0.0.11:8001, 10.0.0.12:8001", "STREAM_UPSTREAMS": "10.0.0.21:8002",
           "NGINX_TRUST_FORWARDED_PROTO": "true"}
    result = subprocess.run([sys.executable, "deploy/nginx.py", "--check"], cwd=BASE_DIR, env=env,
                            capture_output=True, text=True, timeout=30)

    assert result.returncode == 0, result.stderr
    config = (tmp_path / "nginx.conf").read_text()
    assert "server 10.0.0.12:8001;" in config and "server 10.0.0.21:8002;" in config
    assert "location ~ ^/api/v1/(articles/[^/]+/events/$|counts/events/)" in config


def test_nginx_answers_json_under_the_api_while_a_server_is_down(tmp_path):
    """Nothing listens on the web and stream sockets: nginx's own errors under /api/ are JSON."""
    require(nginx_installed(), "Debian's nginx (apt-get install nginx) for the deployment test")
    tmp_path.chmod(0o755)
    (port,) = free_ports(1)
    env = {**os.environ, "RUN_DIR": str(tmp_path), "LISTEN": f"127.0.0.1:{port}", "NGINX_WORKERS": "1"}
    nginx = subprocess.Popen([sys.executable, "deploy/nginx.py"], cwd=BASE_DIR, env=env, start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            while True:
                try:
                    api = client.get("/api/v1/counts/", params={"article": ARTICLE})
                    break
                except httpx.TransportError:
                    assert nginx.poll() is None and time.monotonic() < deadline, "nginx did not start"
                    time.sleep(0.2)
            stream = client.get(f"/api/v1/articles/{ARTICLE}/events/")
            too_large = client.post(f"/api/v1/articles/{ARTICLE}/comments/", content=b"x" * (2 << 20))
    finally:
        os.killpg(nginx.pid, signal.SIGTERM)
        nginx.wait(STOP_LIMIT)

    for response, status, code in [(api, 503, "unavailable"), (stream, 503, "unavailable"),
                                   (too_large, 413, "request_too_large")]:
        assert response.status_code == status
        assert response.headers["content-type"] == "application/json"
        assert response.json()["code"] == code
    assert api.headers["retry-after"] == "5"


if os.environ.get("REDIS_URL"):
    # Events cross processes through Redis. The embedded default's broker lives in one process,
    # so a comment posted to a web worker cannot reach the stream server without Redis.

    def test_a_comment_posted_through_the_api_reaches_an_open_stream(deployment):
        with deployment.client() as client, ExitStack() as stack:
            stream = open_stream(stack, client)
            assert stream.next_event().event == "count"
            signup = client.post("/_allauth/app/v1/auth/signup", json={
                "email": f"{uuid.uuid4().hex[:8]}@example.com", "password": "a long pass phrase 1",
                "display_name": "Deployed reader"})
            assert signup.status_code == 200, signup.text
            token = signup.json()["meta"]["session_token"]
            posted = client.post(f"/api/v1/articles/{ARTICLE}/comments/", json={"body": "Through nginx."},
                                 headers={"X-Session-Token": token})
            assert posted.status_code == 201, posted.text
            events = [stream.next_event() for _ in range(2)]

        assert {event.event for event in events} == {"comment", "count"}
        comment = next(event for event in events if event.event == "comment")
        assert comment.data["id"] == posted.json()["id"]
