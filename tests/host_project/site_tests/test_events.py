"""The event streams, through the site's ASGI application: the story's stream delivers a new comment
and the new count; the list page's counts stream (what {% comment_count_script %} follows) the new count."""

import asyncio
import json

import pytest
from asgiref.sync import sync_to_async
from comments import hosts, services
from django.db import connection

from newsroom_site.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)


def post_comment(**kwargs):
    """Post off the event loop, in a thread whose connection is closed after: no test database stays in use."""

    def call():
        try:
            return services.post_comment(**kwargs)
        finally:
            connection.close()

    return sync_to_async(call, thread_sensitive=False)()


class EventStream:
    """One GET on the site's ASGI application, read as server-sent events: ``await next_event()``."""

    def __init__(self, url: str):
        path, _, query = url.partition("?")
        self.scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
            "path": path, "raw_path": path.encode(), "query_string": query.encode(), "root_path": "",
            "headers": [(b"host", b"testserver")], "client": ("127.0.0.1", 50000), "server": ("testserver", 80),
        }
        self.messages: asyncio.Queue = asyncio.Queue()
        self.disconnect = asyncio.Event()
        self.sent_request = False
        self.buffer = b""
        self.events: list[tuple[str, dict]] = []

    async def receive(self):
        if not self.sent_request:
            self.sent_request = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await self.disconnect.wait()
        return {"type": "http.disconnect"}

    async def __aenter__(self):
        self.task = asyncio.create_task(application(self.scope, self.receive, self.messages.put))
        self.start = await asyncio.wait_for(self.messages.get(), 10)
        return self

    async def __aexit__(self, *exc):
        self.disconnect.set()
        await asyncio.wait_for(self.task, 10)

    async def next_event(self, timeout: float = 20.0) -> tuple[str, dict]:
        async with asyncio.timeout(timeout):
            while not self.events:
                self.buffer += (await self.messages.get()).get("body", b"")
                while b"\n\n" in self.buffer:
                    frame, self.buffer = self.buffer.split(b"\n\n", 1)
                    lines = [line for line in frame.decode().split("\n") if not line.startswith(":")]
                    fields = dict(line.split(": ", 1) for line in lines if ": " in line)
                    if "event" in fields:
                        self.events.append((fields["event"], json.loads(fields["data"])))
            return self.events.pop(0)


def test_the_article_event_stream_delivers_a_new_comment(story, reader):
    article = hosts.article_for(story)

    async def scenario():
        async with EventStream(f"/api/v1/articles/{article.key}/events/") as stream:
            assert stream.start["status"] == 200
            first = await stream.next_event()
            comment = await post_comment(article=article, author=reader, body="Live!")
            return first, comment, [await stream.next_event(), await stream.next_event()]

    first, comment, events = asyncio.run(scenario())
    assert first == ("count", {"article": article.key, "count": 0})
    kinds = dict(events)
    assert kinds["comment"]["id"] == comment.pk and kinds["comment"]["body_html"] == "<p>Live!</p>"
    assert kinds["count"] == {"article": article.key, "count": 1}


def test_the_counts_stream_of_a_list_page_delivers_the_new_count(story, reader):
    article = hosts.article_for(story)
    other = hosts.article_for(story.__class__.objects.create(title="Elsewhere", slug="elsewhere"))

    async def scenario():
        async with EventStream(f"/api/v1/counts/events/?article={article.key}&article={other.key}") as stream:
            assert stream.start["status"] == 200
            first = sorted([await stream.next_event(), await stream.next_event()], key=lambda e: e[1]["article"])
            await post_comment(article=article, author=reader, body="Counted.")
            return first, await stream.next_event()

    first, update = asyncio.run(scenario())
    assert [data for _, data in first] == sorted(
        [{"article": article.key, "count": 0}, {"article": other.key, "count": 0}], key=lambda d: d["article"]
    )
    assert update == ("count", {"article": article.key, "count": 1})
