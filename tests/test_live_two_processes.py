"""Two server processes: a comment committed anywhere reaches streams on both.

Two uvicorn processes share the test database, and either Redis (a key and channel prefix of
their own, so parallel runs don't mix) or nothing else at all (the database broker, the embedded
default); a third process posts through the services, as any server or command would, and
prints the moment it began posting. A reader who then resumes on the other server
(Last-Event-ID) gets the comment from the replay buffer kept in Redis or in the database.
"""

import asyncio
import os
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection

from benchmarks.production import start_uvicorn
from tests.conftest import require
from tests.live_support import delete_keys, redis_url
from tests.sse import ServerSentEvent, parse_frames

pytestmark = pytest.mark.django_db(transaction=True)

BASE_DIR = Path(__file__).resolve().parent.parent
LATENCY_BOUND = 2.0  # seconds from posting to event, as the issue demands


def database_env() -> dict[str, str]:
    name = connection.settings_dict["NAME"]
    if connection.vendor == "sqlite":
        return {"SQLITE_PATH": str(name)}
    return {"DATABASE_URL": os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/" + name}


@pytest.fixture(params=["database", "redis"])
def live_env(request):
    url = ""
    if request.param == "redis":
        url = redis_url()
        require(url is not None, "Redis at REDIS_URL or 127.0.0.1:6379 for the two-process test")
    prefix = f"test-2p-{uuid.uuid4().hex[:12]}"
    env = {**os.environ, **database_env(), "REDIS_URL": url, "COMMENTS_LIVE_PREFIX": prefix,
           "DJANGO_SETTINGS_MODULE": "comments_project.settings", "LOG_LEVEL": "WARNING"}
    yield env
    if url:
        delete_keys(url, prefix)


@pytest.fixture
def servers(live_env):
    started = [start_uvicorn(live_env) for _ in range(2)]
    try:
        yield [base for _, base in started]
    finally:
        for process, _ in started:
            process.terminate()
        for process, _ in started:
            process.wait(10)


class RawStream:
    """An event stream over a plain socket, as a browser's EventSource holds it."""

    async def open(self, base: str, path: str):
        host, port = base.removeprefix("http://").split(":")
        self.reader, self.writer = await asyncio.open_connection(host, int(port))
        self.writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n\r\n".encode())
        await self.writer.drain()
        head = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), 10)
        assert head.startswith(b"HTTP/1.1 200"), head
        self.buffer, self.items = b"", []
        return self

    async def next_event(self, timeout: float) -> tuple[ServerSentEvent, float]:
        """The next event and the wall-clock time it arrived."""
        async with asyncio.timeout(timeout):
            while True:
                while self.items:
                    item = self.items.pop(0)
                    if isinstance(item, ServerSentEvent):
                        return item, time.time()
                chunk = await self.reader.read(65536)
                assert chunk, "stream closed"
                # Chunked transfer encoding: the frames' own blank lines survive, sizes are skipped.
                self.buffer += b"".join(line + b"\n" for line in chunk.split(b"\r\n") if not _is_chunk_size(line))
                items, self.buffer = parse_frames(self.buffer)
                self.items.extend(items)

    def close(self):
        self.writer.close()


def _is_chunk_size(line: bytes) -> bool:
    return bool(line) and all(c in b"0123456789abcdefABCDEF" for c in line)


POST_SCRIPT = """
import time
from comments import services
from django.contrib.auth import get_user_model
from comments.models import Article
article = Article.objects.get(key={key!r})
reader = get_user_model().objects.get(pk={reader_pk})
started = time.time()  # before the post: the latency below includes posting, an upper bound
comment = services.post_comment(article=article, author=reader, body="Across processes.")
print("POSTED", comment.pk, started)
"""


def test_a_comment_posted_in_one_process_reaches_streams_on_both_servers(servers, live_env, article, reader):
    async def scenario():
        path = f"/api/v1/articles/{article.key}/events/"
        streams = [await RawStream().open(base, path) for base in servers]
        for stream in streams:
            first, _ = await stream.next_event(10)
            assert (first.event, first.data["count"]) == ("count", 0)
        # A list page's one stream for several articles, on the second server.
        listing = await RawStream().open(servers[1], f"/api/v1/counts/events/?article=elsewhere&article={article.key}")
        initial = [(await listing.next_event(10))[0].data for _ in range(2)]
        poster = await asyncio.create_subprocess_exec(
            sys.executable, "manage.py", "shell", "-c", POST_SCRIPT.format(key=article.key, reader_pk=reader.pk),
            cwd=BASE_DIR, env=live_env, stdout=asyncio.subprocess.PIPE,
        )
        arrivals = [[await stream.next_event(30), await stream.next_event(30)] for stream in streams]
        listed, _ = await listing.next_event(30)
        output = (await poster.communicate())[0].decode()
        for stream in [*streams, listing]:
            stream.close()
        # A reader who drops and comes back to the other server gets the comment from the buffer.
        resumed = await RawStream().open(servers[1], f"{path}?last_event_id={first.id}")
        replayed = [(await resumed.next_event(10))[0] for _ in range(2)]
        resumed.close()
        return arrivals, output, replayed, (initial, listed)

    arrivals, output, replayed, (initial, listed) = asyncio.run(scenario())
    assert {e["article"]: e["count"] for e in initial} == {"elsewhere": 0, article.key: 0}
    assert (listed.event, listed.data) == ("count", {"article": article.key, "count": 1})
    comment_pk, started_at = output.split("POSTED", 1)[1].split()
    assert [(e.event, e.data.get("id")) for e in replayed] == [("comment", int(comment_pk)), ("count", None)]
    for server, ((comment, comment_at), (count, count_at)) in zip(servers, arrivals, strict=True):
        assert (comment.event, comment.data["id"]) == ("comment", int(comment_pk))
        assert (count.event, count.data) == ("count", {"article": article.key, "count": 1})
        latency = max(comment_at, count_at) - float(started_at)
        print(f"{server}: comment and count events {latency * 1000:.1f} ms after posting began")
        assert latency < LATENCY_BOUND
