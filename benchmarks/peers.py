"""Peers measured beside us in the HTTP benchmark: isso (https://isso-comments.de), a comment server.

Issue 17's posting goal is relative to isso ("W3 ≥ 1.5× isso's figure in the same run"), so the
benchmark runs isso on the same machine, with the same wrk settings, after our deployments:

- installed on first use into its own virtual environment, ``var/peers/isso`` (``python -m venv``,
  then ``pip install isso==ISSO_VERSION gunicorn==<our pin>``), never into ours;
- served as isso's documentation says (``gunicorn --preload isso.run``, ``ISSO_SETTINGS`` naming
  the configuration), with our worker shape: ``--workers`` sync gunicorn workers (2 by default);
- configured like our benchmark settings: a fresh SQLite database in the run's temporary
  directory, no rate limits (``[guard] enabled = false``, as our throttles are raised), no
  moderation, no notifications, no SMTP, no Gravatar;
- its ``/hot`` thread seeded through its own API (``POST /new``) with 1,000 comments (200
  top-level, 800 replies, from 500 authors) of about the size of ours; posting goes to
  ``/post-target``, another thread, so the reads never grow.

This module knows nothing of wrk or of our server: ``benchmarks.http`` drives both.
"""

import json
import random
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
ISSO_VERSION = "0.14.0"
ISSO_VENV = BASE_DIR / "var" / "peers" / "isso"
# The news site that embeds the comments. isso checks it once at start-up (and warns, in its log,
# that nothing answers there); posts carry it as their Origin and Referer, as a browser's would.
ISSO_SITE = "http://127.0.0.1:9"
ISSO_READY = "/info"  # isso's cheapest answer: start-up and drain checks
ISSO_HOT = "/hot"
ISSO_POST_TARGET = "/post-target"
HOT_COMMENTS, HOT_ROOTS, AUTHORS = 1000, 200, 500
SEED = 17


class PeerFailed(RuntimeError):
    pass


def gunicorn_pin() -> str:
    """Our own gunicorn version (requirements.txt), so both sides run the same server."""
    found = re.search(r"^gunicorn==(\S+)", (BASE_DIR / "requirements.txt").read_text(), re.MULTILINE)
    if not found:
        raise PeerFailed("requirements.txt does not pin gunicorn")
    return found.group(1)


def isso_requirements() -> list[str]:
    return [f"isso=={ISSO_VERSION}", f"gunicorn=={gunicorn_pin()}"]


def isso_python(venv: Path = ISSO_VENV) -> Path:
    """The Python of isso's virtual environment, created and installed the first time (about 15 s).

    A marker file holds what was installed: a changed pin reinstalls from scratch."""
    python, marker = venv / "bin" / "python", venv / "bench-requirements.txt"
    wanted = "\n".join(isso_requirements()) + "\n"
    if python.exists() and marker.exists() and marker.read_text() == wanted:
        return python
    print(f"Installing {' '.join(isso_requirements())} into {venv.relative_to(BASE_DIR)} (once)", flush=True)
    shutil.rmtree(venv, ignore_errors=True)
    steps = [[sys.executable, "-m", "venv", str(venv)],
             [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *isso_requirements()]]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            raise PeerFailed(f"{' '.join(step[:4])} … failed ({done.returncode}):\n{done.stderr[-2000:]}")
    marker.write_text(wanted)
    return python


def isso_config(dbpath: Path) -> str:
    """isso's configuration for the benchmark (its defaults fill in the rest)."""
    return f"""\
[general]
dbpath = {dbpath}
host = {ISSO_SITE}
notify =
reply-notifications = false
gravatar = false
latest-enabled = false

[moderation]
enabled = false

[guard]
enabled = false

[admin]
enabled = false
"""


class IssoPeer:
    """isso under gunicorn, shaped like a ``benchmarks.http.Deployment`` (name, label, command,
    environment) so the same ``Server`` starts and stops it."""

    name = "isso"
    ready = ISSO_READY

    def __init__(self, python: Path, workers: int):
        self.python = python
        self.label = f"isso {ISSO_VERSION}, gunicorn {workers} sync workers"

    def command(self, port: int, workers: int) -> list[str]:
        return [str(self.python), "-m", "gunicorn", "isso.run:application", "--preload", "--worker-class", "sync",
                "--workers", str(workers), "--bind", f"127.0.0.1:{port}", "--log-level", "warning",
                "--timeout", "120"]

    def environment(self, port: int, workers: int, run_dir: str) -> dict[str, str]:
        """Writes the configuration into the run's directory (the database goes there too)."""
        config = Path(run_dir) / "isso.cfg"
        config.write_text(isso_config(Path(run_dir) / "comments.db"))
        return {"ISSO_SETTINGS": str(config)}


# --- Talking to isso ----------------------------------------------------------------------------


def headers() -> dict[str, str]:
    """What a browser on the site sends with isso's XHR posts."""
    return {"Content-Type": "application/json", "Origin": ISSO_SITE, "Referer": ISSO_SITE + ISSO_HOT}


def call(base: str, path: str, data: dict | None = None) -> tuple[int, bytes]:
    """One request to isso: a POST of ``data`` as JSON, or a GET; (status, body)."""
    body = json.dumps(data).encode() if data is not None else None
    req = urllib.request.Request(base + path, data=body, method="POST" if body else "GET", headers=headers())
    try:
        with urllib.request.urlopen(req, timeout=120) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def post(base: str, uri: str, data: dict) -> dict:
    status, answer = call(base, f"/new?uri={uri}", data)
    if status != 201:
        raise PeerFailed(f"isso: POST /new?uri={uri} answered {status}, not 201: {answer[:300]!r}")
    return json.loads(answer)


SENTENCES = [
    "This is exactly what I was worried about when the council first proposed it.",
    "Does anyone have the actual figures? The article only quotes percentages.",
    "I live two streets from there and nobody asked us anything.",
    "The headline is misleading, the second paragraph says the opposite.",
    "We had the same problem in 2019 and it took three years to fix.",
    "Can the author clarify whether the budget includes maintenance?",
    "Prices at our local market went up by a third since spring.",
    "Très bon article, merci pour les détails sur le financement.",
    "Finally some good news for the neighbourhood 🎉",
    "Two years of roadworks and the junction is as dangerous as before.",
]
MARKUP = [  # isso's readers write Markdown
    lambda s: f"*{s}*",
    lambda s: f"**{s}**",
    lambda s: f"{s} See https://example.com/news/2026/11/4711",
    lambda s: f"[the report](https://example.org/report.pdf): {s}",
    lambda s: f"> {s}",
    lambda s: f"{s} `rate = 0.4 * base`",
]


def make_text(rng: random.Random) -> str:
    """One to four paragraphs, sometimes with markup: about the length of our generated bodies."""
    paragraphs = []
    for _ in range(rng.choice([1, 1, 1, 2, 2, 3, 4]) + (6 if rng.random() < 0.03 else 0)):
        sentences = [rng.choice(SENTENCES) for _ in range(rng.randint(1, 3))]
        if rng.random() < 0.15:
            sentences[0] = rng.choice(MARKUP)(sentences[0])
        paragraphs.append(" ".join(sentences))
    return "\n\n".join(paragraphs)


def hot_comments(rng: random.Random) -> tuple[list[dict], list[tuple[int, dict]]]:
    """The top-level comments, then the replies as (index of their top-level comment, data)."""
    def comment(n: int) -> dict:
        author = rng.randrange(AUTHORS)
        return {"text": make_text(rng), "author": f"Reader {author}", "email": f"reader{author}@example.com",
                "website": None}
    roots = [comment(n) for n in range(HOT_ROOTS)]
    roots[0]["title"] = "Hot story"  # the first post creates the thread
    replies = [(rng.randrange(HOT_ROOTS), comment(n)) for n in range(HOT_COMMENTS - HOT_ROOTS)]
    return roots, replies


def seed(base: str, *, connections: int = 4) -> None:
    """Post the 1,000-comment ``/hot`` thread through isso's API (a few seconds)."""
    roots, replies = hot_comments(random.Random(SEED))
    ids = [post(base, ISSO_HOT, roots[0])["id"]]
    with ThreadPoolExecutor(connections) as pool:
        ids += [c["id"] for c in pool.map(lambda data: post(base, ISSO_HOT, data), roots[1:])]
        list(pool.map(lambda pair: post(base, ISSO_HOT, {**pair[1], "parent": ids[pair[0]]}), replies))


def check_thread(answer: bytes) -> None:
    """isso's answer to ``GET /?uri=/hot`` must hold the whole seeded thread."""
    data = json.loads(answer)
    top = len(data["replies"])
    shown = top + sum(len(c.get("replies", [])) for c in data["replies"])
    if data["total_replies"] != HOT_COMMENTS or top != HOT_ROOTS or shown != HOT_COMMENTS:
        raise PeerFailed(f"isso's {ISSO_HOT} thread has {data['total_replies']} comments, {top} top-level, "
                         f"{shown} shown; {HOT_COMMENTS} and {HOT_ROOTS} were seeded")
