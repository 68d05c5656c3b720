"""GET /api/v1/counts/events/: one stream carries the counts of every article a list page shows.

Each test drives the real ASGI application in-process, with the database broker and with Redis.
"""

import asyncio
import uuid

import pytest
from django.test import override_settings

from comments import live, services
from comments_project.asgi import application
from tests import live_support
from tests.live_support import in_thread
from tests.sse import StreamClient

pytestmark = pytest.mark.django_db(transaction=True)

broker_settings = live_support.broker_settings  # a database broker and a Redis one, each test
DEAD_REDIS = "redis://127.0.0.1:8199/0"  # a port in this project's test range where nothing listens


def stream_path(*keys: str) -> str:
    return "/api/v1/counts/events/?" + "&".join(f"article={key}" for key in keys)


async def initial_counts(stream, n: int) -> dict[str, int]:
    events = [await stream.next_event(timeout=15) for _ in range(n)]
    assert {e.event for e in events} == {"count"}
    return {e.data["article"]: e.data["count"] for e in events}


def test_stream_starts_with_every_count_then_follows_only_its_articles(broker_settings, make_article, post, reader):
    busy, quiet, elsewhere = make_article("busy"), make_article("quiet"), make_article("elsewhere")
    post(busy, "Already here.")

    async def scenario():
        async with StreamClient(application, stream_path("busy", "quiet", "never-heard-of")) as stream:
            assert stream.status == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            assert stream.headers["cache-control"] == "no-cache"
            assert await initial_counts(stream, 3) == {"busy": 1, "quiet": 0, "never-heard-of": 0}

            await in_thread(post, elsewhere, "Not followed here.")
            comment = await in_thread(post, quiet, "Followed.")
            moved = await stream.next_event()
            assert (moved.event, moved.data) == ("count", {"article": "quiet", "count": 1})
            await in_thread(services.delete_comment, comment=comment, actor=reader)
            assert (await stream.next_event()).data == {"article": "quiet", "count": 0}
            # No comment bodies, no other article's counts: the next item is a heartbeat.
            assert await stream.next_item(timeout=3) == "heartbeat"

    asyncio.run(scenario())


def test_reconnecting_gets_the_current_counts(broker_settings, make_article, post):
    article = make_article("story")

    async def scenario():
        async with StreamClient(application, stream_path("story")) as stream:
            seen = await stream.next_event()
            assert seen.data["count"] == 0
        await in_thread(post, article, "Posted while away.")
        await in_thread(post, article, "And another.")
        async with StreamClient(application, stream_path("story"), {"Last-Event-ID": str(seen.id)}) as stream:
            current = await stream.next_event()
            assert current.data == {"article": "story", "count": 2}
            # Counts are state: nothing older follows the current one.
            assert await stream.next_item(timeout=3) == "heartbeat"

    asyncio.run(scenario())


def test_one_subscription_per_stream_under_every_key_and_no_task_per_key(broker_settings, make_article, post):
    keys = [f"list-{i}" for i in range(50)]
    article = make_article(keys[7])

    async def scenario():
        broker = live.broker()
        async with StreamClient(application, stream_path(*keys)) as stream:
            await initial_counts(stream, 50)
            tasks_with_one = len(asyncio.all_tasks())
            async with StreamClient(application, f"/api/v1/articles/{article.key}/events/") as article_stream:
                await article_stream.next_event()
                tasks_per_article_stream = len(asyncio.all_tasks()) - tasks_with_one
            async with StreamClient(application, stream_path(*keys)) as second:
                await initial_counts(second, 50)
                tasks_per_list_stream = len(asyncio.all_tasks()) - tasks_with_one
                registry = broker._state().registry
                followers = [registry.followers(key) for key in keys]
                assert all(len(f) == 2 for f in followers)
                assert len({s for f in followers for s in f}) == 2  # two objects, each under 50 keys
                await in_thread(post, article, "Reaches both.")
                for client in (stream, second):
                    assert (await client.next_event()).data == {"article": article.key, "count": 1}
            # A list stream of 50 keys runs the same tasks as one article stream: none per key.
            assert tasks_per_list_stream == tasks_per_article_stream
        for _ in range(40):  # the stream's context exits just after the response ends
            if not broker._state().registry:
                break
            await asyncio.sleep(0.05)
        assert not broker._state().registry

    asyncio.run(scenario())


@pytest.mark.parametrize("query,code", [
    ("", "required"), ("?article=", "invalid_key"), ("?article=bad%20key", "invalid_key"),
    ("?" + "&".join(f"article=k{i}" for i in range(101)), "too_many_keys"),
])
def test_bad_keys_are_the_counts_endpoint_s_400(broker_settings, client, query, code):
    async def scenario():
        async with StreamClient(application, "/api/v1/counts/events/" + query) as stream:
            body = await stream.read_body()
        return stream.status, stream.headers, body

    status, headers, body = asyncio.run(scenario())
    plain = client.get("/api/v1/counts/" + query)
    assert status == plain.status_code == 400
    assert headers["content-type"] == "application/json"
    assert body == plain.content
    assert plain.json()["code"] == code


def test_wrong_method_is_a_json_405(broker_settings, db):
    async def scenario():
        client = StreamClient(application, stream_path("k"))
        client.scope["method"] = "POST"
        async with client:
            body = await client.read_body()
        return client.status, body

    status, body = asyncio.run(scenario())
    assert status == 405 and b'"method_not_allowed"' in body


def test_without_redis_the_stream_says_to_poll(db):
    caches = {"default": {"BACKEND": "comments.cache.TolerantRedisCache", "LOCATION": DEAD_REDIS,
                          "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2}}}

    async def scenario():
        async with StreamClient(application, stream_path("a", "b")) as stream:
            body = await stream.read_body()
        return stream.status, stream.headers, body

    with override_settings(REDIS_URL=DEAD_REDIS, CACHES=caches, COMMENTS_LIVE_PREFIX=uuid.uuid4().hex):
        status, headers, body = asyncio.run(scenario())
    assert status == 503 and b'"live_unavailable"' in body and headers["retry-after"] == "30"


def test_schema_describes_the_counts_stream():
    from drf_spectacular.generators import SchemaGenerator

    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    operation = paths["/api/v1/counts/events/"]["get"]
    assert "text/event-stream" in operation["responses"]["200"]["content"]
    assert {"400", "503"} <= set(operation["responses"])
    assert "supersedes" in operation["description"]
