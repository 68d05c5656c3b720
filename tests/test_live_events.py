"""The article event stream: live count, comment and remove events, replay, heartbeat, fan-out.

Each test drives the real ASGI application in-process, once with the database broker (the
default without Redis) and once with Redis, so both transports keep the same contract.
"""

import asyncio
import logging
import threading
import uuid

import pytest
from django.db import connection
from django.test import override_settings

from comments import live, services
from comments.readers import public_name
from comments_project.asgi import application
from tests import live_support
from tests.conftest import require
from tests.live_support import delete_keys, in_thread, redis_url
from tests.sse import StreamClient

pytestmark = pytest.mark.django_db(transaction=True)

broker_settings = live_support.broker_settings  # a database broker and a Redis one, each test
DEAD_REDIS = "redis://127.0.0.1:8199/0"  # a port in this project's test range where nothing listens


def events_path(article) -> str:
    return f"/api/v1/articles/{article.key}/events/"


def test_stream_starts_with_the_count_then_follows_posting_and_deleting(broker_settings, article, post, reader):
    post(article, "Already here.")

    async def scenario():
        async with StreamClient(application, events_path(article)) as stream:
            assert stream.status == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            assert stream.headers["cache-control"] == "no-cache"
            first = await stream.next_event()
            assert (first.event, first.data) == ("count", {"article": article.key, "count": 1})

            comment = await in_thread(post, article, "Breaking: a new comment")
            posted, count = await stream.next_event(), await stream.next_event()
            assert posted.event == "comment"
            assert posted.data["id"] == comment.pk
            assert posted.data["body_html"] == "<p>Breaking: a new comment</p>"
            assert posted.data["author"]["display_name"] == public_name(reader)
            assert posted.data["can_edit"] is False  # rendered for the anonymous public
            assert (count.event, count.data["count"]) == ("count", 2)

            await in_thread(services.delete_comment, comment=comment, actor=reader)
            removed, count_after = await stream.next_event(), await stream.next_event()
            assert (removed.event, removed.data) == ("remove", {"id": comment.pk})
            assert count_after.data["count"] == 1
            ids = [first.id, posted.id, count.id, removed.id, count_after.id]
            assert ids == sorted(ids) and len(set(ids)) == len(ids)

    asyncio.run(scenario())


def test_moderation_approval_and_flag_hiding_reach_the_stream(broker_settings, article, post, make_reader, moderator):
    author = make_reader("Author")

    async def scenario():
        async with StreamClient(application, events_path(article)) as stream:
            assert (await stream.next_event()).data["count"] == 0
            with override_settings(COMMENTS_PREMODERATE=True):
                held = await in_thread(post, article, "Wait for me.", author=author)
            await in_thread(services.approve_comment, comment=held, moderator=moderator)
            approved = await stream.next_event()
            assert (approved.event, approved.data["id"]) == ("comment", held.pk)
            assert (await stream.next_event()).data["count"] == 1

            with override_settings(COMMENTS_FLAGS_TO_HIDE=1):
                await in_thread(services.flag_comment, comment=held, reader=moderator, reason="abuse")
            assert (await stream.next_event()).data == {"id": held.pk}
            assert (await stream.next_event()).data["count"] == 0

    asyncio.run(scenario())


def test_deleting_a_reader_outright_reaches_the_stream(broker_settings, article, post, reader, other_reader):
    stays = post(article, "Stays.", author=other_reader)
    gone = [post(article, "Goes."), post(article, "Goes too.", parent=stays)]

    async def scenario():
        async with StreamClient(application, events_path(article)) as stream:
            assert (await stream.next_event()).data["count"] == 3
            await in_thread(reader.delete)  # an administrator removes the account outright
            removed = [await stream.next_event() for _ in gone]
            assert sorted(e.data["id"] for e in removed) == sorted(c.pk for c in gone)
            assert {e.event for e in removed} == {"remove"}
            count = await stream.next_event()
            assert (count.event, count.data) == ("count", {"article": article.key, "count": 1})

    asyncio.run(scenario())


def test_edit_sends_the_new_rendering(broker_settings, article, post, reader):
    comment = post(article, "Frist!")

    async def scenario():
        async with StreamClient(application, events_path(article)) as stream:
            await stream.next_event()
            await in_thread(services.edit_comment, comment=comment, editor=reader, body="First!")
            edited = await stream.next_event()
            assert (edited.event, edited.data["id"], edited.data["body_html"]) == ("edit", comment.pk, "<p>First!</p>")

    asyncio.run(scenario())


@pytest.mark.parametrize("resume", ["header", "query"])
def test_reconnecting_client_gets_what_it_missed(broker_settings, resume, article, post, reader):
    async def scenario():
        async with StreamClient(application, events_path(article)) as stream:
            seen = await stream.next_event()
            first = await in_thread(post, article, "Seen live.")
            await stream.next_event()
            last_seen = await stream.next_event()
            assert last_seen.data["count"] == 1
        missed = await in_thread(post, article, "Posted while away.")
        await in_thread(services.delete_comment, comment=first, actor=reader)

        headers, path = {}, events_path(article)
        if resume == "header":
            headers["Last-Event-ID"] = str(last_seen.id)
        else:
            path += f"?last_event_id={last_seen.id}"
        async with StreamClient(application, path, headers) as stream:
            replayed = [await stream.next_event() for _ in range(3)]
        # The missed comment and removal, then the count as of now (the stale counts between
        # them are not replayed), in id order.
        assert [(e.event, e.data) for e in replayed] == [
            ("comment", replayed[0].data), ("remove", {"id": first.pk}), ("count", {"article": article.key, "count": 1})
        ]
        assert replayed[0].data["id"] == missed.pk
        ids = [seen.id, last_seen.id, *(e.id for e in replayed)]
        assert ids == sorted(ids) and len(set(ids)) == len(ids)

    asyncio.run(scenario())


def test_heartbeat_keeps_an_idle_stream_open(broker_settings, article):
    async def scenario():
        async with StreamClient(application, events_path(article)) as stream:
            await stream.next_event()
            assert await stream.next_item(timeout=3) == "heartbeat"

    asyncio.run(scenario())


def test_one_event_reaches_every_stream_on_the_article(broker_settings, article, post):
    async def scenario():
        clients = [StreamClient(application, events_path(article)) for _ in range(5)]
        for client in clients:
            await client.__aenter__()
            await client.next_event()
        await in_thread(post, article, "To everyone.")
        received = [(await c.next_event()).event for c in clients]
        for client in clients:
            await client.__aexit__(None, None, None)
        assert received == ["comment"] * 5

    asyncio.run(scenario())


def test_a_burst_of_streams_opening_at_once_all_open(broker_settings, article):
    """A breaking story: more readers open its stream at the same moment than a connection pool
    holds (redis-py's default pool failed the 101st command, answering 503 live_unavailable)."""
    burst = 150

    async def scenario():
        broker = live.broker()
        return await asyncio.gather(*(broker.last_ids([article.key]) for _ in range(burst)), return_exceptions=True)

    answers = asyncio.run(scenario())
    assert [a for a in answers if isinstance(a, BaseException)] == []
    assert len(answers) == burst


def test_open_streams_hold_no_thread_and_no_database_connection(broker_settings, article, post):
    def db_connections() -> int:
        if connection.vendor != "postgresql":
            return 0
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
            return cursor.fetchone()[0]

    async def scenario():
        baseline_connections = await in_thread(db_connections)
        threads_before = threading.active_count()
        clients = [StreamClient(application, events_path(article)) for _ in range(10)]
        for client in clients:
            await client.__aenter__()
            await client.next_event()
        for _ in range(40):  # released worker threads exit on their own schedule
            if threading.active_count() - threads_before <= 2:
                break
            await asyncio.sleep(0.05)
        threads_open, connections_open = threading.active_count(), await in_thread(db_connections)
        await in_thread(post, article, "Still delivered.")
        assert [(await c.next_event()).event for c in clients] == ["comment"] * 10
        for client in clients:
            await client.__aexit__(None, None, None)
        # The broker's own machinery may start a thread or two; ten streams must not add ten.
        assert threads_open - threads_before <= 2
        assert connections_open <= baseline_connections + 1

    asyncio.run(scenario())


def test_unknown_article_and_wrong_method_answer_json(broker_settings, db):
    async def scenario():
        for path, method, status in [
            ("/api/v1/articles/no-such-article/events/", "GET", 404),
            ("/api/v1/articles/bad%20key!/events/", "GET", 404),
            ("/api/v1/articles/no-such-article/events/", "POST", 405),
        ]:
            client = StreamClient(application, path)
            client.scope["method"] = method
            async with client:
                body = await client.read_body()
            assert client.status == status
            assert client.headers["content-type"] == "application/json"
            assert b'"code"' in body and b'"detail"' in body

    asyncio.run(scenario())


def test_without_redis_posting_still_works_and_the_stream_says_to_poll(article, reader, caplog):
    caches = {"default": {"BACKEND": "comments.cache.TolerantRedisCache", "LOCATION": DEAD_REDIS,
                          "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2}}}
    with override_settings(REDIS_URL=DEAD_REDIS, CACHES=caches, COMMENTS_LIVE_PREFIX=uuid.uuid4().hex), \
            caplog.at_level(logging.WARNING):
        comment = services.post_comment(article=article, author=reader, body="Redis is down, I am not.")
        services.delete_comment(comment=comment, actor=reader)

        async def scenario():
            async with StreamClient(application, events_path(article)) as stream:
                body = await stream.read_body()
            return stream.status, stream.headers, body

        status, headers, body = asyncio.run(scenario())
    article.refresh_from_db()
    assert article.comment_count == 0
    assert "live event for article" in caplog.text and "dropped" in caplog.text
    assert status == 503 and b'"live_unavailable"' in body and headers["retry-after"] == "30"


def test_stream_resumes_after_the_redis_subscription_drops(article, post):
    url = redis_url()
    require(url is not None, "Redis at REDIS_URL or 127.0.0.1:6379")
    prefix = f"test-live-{uuid.uuid4().hex[:12]}"

    async def scenario():
        async with StreamClient(application, events_path(article)) as stream:
            await stream.next_event()
            state = live.broker()._state()
            await in_thread(post, article, "Before the outage.")
            assert (await stream.next_event()).event == "comment"
            await stream.next_event()
            import redis

            # Drop this process's subscriber connection (only ours: others may share the Redis).
            admin = redis.Redis.from_url(url)
            ours = [c["id"] for c in admin.client_list(_type="pubsub") if c["name"] == f"{prefix}:listener"]
            assert len(ours) == 1
            admin.client_kill_filter(_id=ours[0])
            await in_thread(post, article, "During the reconnect.")
            resumed = await stream.next_event(timeout=10)
            assert (resumed.event, resumed.data["body_html"]) == ("comment", "<p>During the reconnect.</p>")
            assert state.task is not None and not state.task.done()

    try:
        with override_settings(REDIS_URL=url, COMMENTS_LIVE_PREFIX=prefix):
            asyncio.run(scenario())
    finally:
        delete_keys(url, prefix)


def _redis_scenario(scenario, **settings):
    url = redis_url()
    require(url is not None, "Redis at REDIS_URL or 127.0.0.1:6379")
    prefix = f"test-live-{uuid.uuid4().hex[:12]}"
    try:
        with override_settings(REDIS_URL=url, COMMENTS_LIVE_PREFIX=prefix, **settings):
            asyncio.run(scenario(url, prefix))
    finally:
        delete_keys(url, prefix)


def test_counts_keep_coming_after_redis_forgets_the_ids(article, post):
    """Issue 16: Redis restarted empty (or the article's id key expired): INCR began again at 1,
    and open streams dropped every later count as older than the last they had sent."""

    async def scenario(url, prefix):
        async with StreamClient(application, events_path(article)) as stream:
            await stream.next_event()
            await in_thread(post, article, "Before Redis forgets.")
            await stream.next_event()
            before = await stream.next_event()
            assert before.event == "count"
            delete_keys(url, prefix)  # what a restart without persistence, or the TTL, leaves
            await in_thread(post, article, "After Redis forgot.")
            comment, count = await stream.next_event(), await stream.next_event()
            assert comment.data["body_html"] == "<p>After Redis forgot.</p>"
            assert (count.event, count.data["count"]) == ("count", 2)
            assert int(count.id) > int(before.id)

    _redis_scenario(scenario)


def test_streams_end_when_redis_is_gone_so_pages_poll(article, post):
    """Issue 16: during a Redis outage open streams stayed connected but silent, so pages never
    fell back to polling. Once a reconnect fails, the streams end; reconnecting is then answered
    503 live_unavailable (test_without_redis_posting_still_works_and_the_stream_says_to_poll)."""

    async def scenario(url, prefix):
        import redis

        async with StreamClient(application, events_path(article)) as stream:
            await stream.next_event()
            broker = live.broker()
            broker.url = DEAD_REDIS  # where the listener reconnects: nothing answers there
            admin = redis.Redis.from_url(url)
            ours = [c["id"] for c in admin.client_list(_type="pubsub") if c["name"] == f"{prefix}:listener"]
            admin.client_kill_filter(_id=ours[0])
            async with asyncio.timeout(15):
                await stream.read_body()  # returns once the response ends

    _redis_scenario(scenario, COMMENTS_SSE_HEARTBEAT=0.3, COMMENTS_LIVE_REDIS_TIMEOUT=0.3)
