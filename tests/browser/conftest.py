"""A real server and Debian's Chromium for the widget tests.

The tests talk HTTP only, never the pytest-django database: a session fixture prepares a temp
SQLite file (migrate + load_seeds + ``scenario.py``) and serves it with uvicorn on a free port in
8200-8259. It uses SQLite also when DATABASE_URL is set (the PostgreSQL pass of CI), and no Redis,
so the browser suite is independent of the database under test and the same in both passes;
the PostgreSQL behaviour of the API is covered by the API tests.

The server runs with the cross-site settings an embedding news site needs (CORS, CSRF trusted
origin, SameSite=None cookies), and a second origin (http://localhost:<port>) serves
docs/embed-demo.html. Chromium treats 127.0.0.1 and localhost as secure contexts, so Secure
cookies work over plain HTTP here.
"""

import http.server
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from functools import partial
from pathlib import Path

import pytest

from tests.conftest import require

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "artifacts" / "screenshots"
PASSWORD = "correct horse battery"
PORTS = range(8200, 8260)


def _free_port(exclude=()) -> int:
    for port in PORTS:
        if port in exclude:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 8200-8259")


class Server:
    """The comments service under test, plus ``shell()`` to arrange data like an operator would."""

    def __init__(self, url: str, env: dict, embed_origin: str):
        self.url = url
        self.env = env
        self.embed_origin = embed_origin
        self.embed_dir: Path | None = None  # what the embed origin serves: tests may add news pages

    def shell(self, code: str) -> str:
        """Run Python in ``manage.py shell`` against the server's database; returns stdout."""
        done = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", code],
            cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=60,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    def data(self, code: str):
        """Run ``code`` that binds ``result``; returns it, JSON-decoded."""
        out = self.shell(code + "\nimport json; print('@@' + json.dumps(result))")
        return json.loads(out.rsplit("@@", 1)[1])


def _wait_until_up(url: str, process: subprocess.Popen, log: Path) -> None:
    for _ in range(150):
        if process.poll() is not None:
            raise RuntimeError(f"server exited:\n{log.read_text()}")
        try:
            urllib.request.urlopen(url + "/widget/session/", timeout=1).read()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server did not start:\n{log.read_text()}")


@pytest.fixture(scope="session")
def server():
    require(os.path.exists(CHROMIUM), f"Debian's Chromium at {CHROMIUM}")
    tmp = Path(tempfile.mkdtemp(prefix="widget-browser-"))
    port = _free_port()
    embed_port = _free_port(exclude={port})
    embed_origin = f"http://localhost:{embed_port}"
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update({
        "SQLITE_PATH": str(tmp / "browser.sqlite3"),
        "DEBUG": "true",
        "SECRET_KEY": "browser-tests-only",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "CORS_ALLOWED_ORIGINS": embed_origin,
        "CSRF_TRUSTED_ORIGINS": embed_origin,
        "SESSION_COOKIE_SAMESITE": "None",
        "CSRF_COOKIE_SAMESITE": "None",
        "ACCOUNT_EMAIL_VERIFICATION": "optional",
        "THROTTLE_POST_COMMENT": "100/min",
        "LOG_LEVEL": "WARNING",
    })
    for command in (["migrate", "--noinput", "-v", "0"], ["load_seeds"]):
        subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True, capture_output=True)
    url = f"http://127.0.0.1:{port}"
    srv = Server(url, env, embed_origin)
    srv.shell((Path(__file__).parent / "scenario.py").read_text())
    log = tmp / "server.log"
    with open(log, "w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "comments_project.asgi:application",
             "--host", "127.0.0.1", "--port", str(port), "--no-access-log", "--timeout-graceful-shutdown", "2"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_up(url, process, log)
        embed = _serve_embed_page(tmp / "embed", embed_port, url)
        srv.embed_dir = tmp / "embed"
        yield srv
        embed.shutdown()
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def _serve_embed_page(directory: Path, port: int, server_url: str):
    """docs/embed-demo.html on a second origin, pointed at the server under test."""
    directory.mkdir()
    page = (ROOT / "docs" / "embed-demo.html").read_text().replace("http://127.0.0.1:8000", server_url)
    # The news site's own favicon is not ours to test: without one Chromium logs a 404.
    page = page.replace("<head>", '<head><link rel="icon" href="data:,">', 1)
    (directory / "embed-demo.html").write_text(page)
    handler = partial(_QuietHandler, directory=str(directory))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def browser(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield chromium
        chromium.close()


def sign_in(page, server, email: str) -> None:
    """Through allauth's sign-in page, like a reader."""
    page.goto(f"{server.url}/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


@pytest.fixture(scope="session")
def signed_in_states(browser, server, tmp_path_factory):
    """One sign-in per reader for the whole session; contexts start from the saved cookies."""
    states = {}

    def state_for(email: str) -> str:
        if email not in states:
            context = browser.new_context()
            sign_in(context.new_page(), server, email)
            states[email] = str(tmp_path_factory.mktemp("state") / "state.json")
            context.storage_state(path=states[email])
            context.close()
        return states[email]

    return state_for


@pytest.fixture
def new_page(browser, server, signed_in_states):
    """``new_page(as_email=None, **context_options)``: a page in a fresh context, which fails
    the test on any JavaScript dialog or page error (a hostile comment must never run), and on
    any console error: a CSP violation, a 404, a failed request.

    A test that provokes an error on purpose (a refused post, a wrong password) says so with
    ``new_page.allow_console(regex)``; only matching console errors are then let through."""
    contexts = []
    problems = []
    allowed = []

    def make(as_email: str | None = None, **options):
        options.setdefault("viewport", {"width": 1280, "height": 900})
        if as_email:
            options["storage_state"] = signed_in_states(as_email)
        context = browser.new_context(**options)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)

        def on_dialog(dialog):
            problems.append(f"dialog: {dialog.message}")
            dialog.dismiss()

        page.on("dialog", on_dialog)
        page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
        page.on("console", lambda message: problems.append(
            f"console error: {message.text} at {message.location.get('url', '')}"
        ) if message.type == "error" else None)
        return page

    make.allow_console = lambda pattern: allowed.append(re.compile(pattern))
    yield make
    for context in contexts:
        context.close()
    problems = [p for p in problems if not (p.startswith("console error:") and any(a.search(p) for a in allowed))]
    assert not problems, problems


def article_url(server, key: str) -> str:
    return f"{server.url}/articles/{key}/"


def screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)
