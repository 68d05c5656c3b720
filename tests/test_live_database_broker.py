"""The database broker (no Redis): events as rows, in commit order, pruned, polled by one task per loop."""

import asyncio
import logging
import uuid
from datetime import timedelta

import pytest
from django.db import DatabaseError, OperationalError, connection
from django.test import override_settings
from django.utils import timezone

from comments import live, services
from comments.models import LiveEvent
from comments_project.asgi import application
from tests.live_support import in_thread
from tests.sse import StreamClient
from tests.workers import run_at_once

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def database_broker():
    with override_settings(REDIS_URL="", COMMENTS_LIVE_PREFIX=f"test-db-{uuid.uuid4().hex[:12]}",
                           COMMENTS_SSE_HEARTBEAT=0.3):
        assert isinstance(live.broker(), live.DatabaseBroker)
        yield live.broker()


def test_a_post_writes_its_events_with_the_count_after_the_commit(article, post):
    comment = post(article, "Hello.")
    rows = list(LiveEvent.objects.filter(article_key=article.key).order_by("id"))
    assert [(r.kind, r.count) for r in rows] == [("comment", None), ("count", 1)]
    assert f'"id":{comment.pk}' in rows[0].data
    assert rows[1].id == rows[0].id + 1


def test_on_sqlite_the_events_are_written_in_the_posts_own_transaction(article, post, monkeypatch):
    """SQLite: one write transaction per post (the events share the comment's, whose write lock
    orders their ids); PostgreSQL: after the commit, under the publishers' advisory lock."""
    open_blocks = []
    publish = live.DatabaseBroker.publish

    def spy(self, *args, **kwargs):
        open_blocks.append(len(connection.atomic_blocks))
        return publish(self, *args, **kwargs)

    monkeypatch.setattr(live.DatabaseBroker, "publish", spy)
    post(article, "Hello.")
    assert open_blocks == ([1] if connection.vendor == "sqlite" else [0])


def test_a_rolled_back_post_leaves_no_events(article, reader):
    from django.db import transaction

    with pytest.raises(RuntimeError), transaction.atomic():
        services.post_comment(article=article, author=reader, body="Never committed.")
        raise RuntimeError("the caller's transaction fails after the post")
    assert not LiveEvent.objects.filter(article_key=article.key).exists()


def test_each_article_keeps_its_newest_events_and_expired_ones_go(make_article, post, reader, monkeypatch):
    monkeypatch.setattr(live.DatabaseBroker, "PRUNE_EVERY", 1)  # trim at every publish
    busy, other = make_article("busy"), make_article("other")
    post(other, "Old news.")
    with override_settings(COMMENTS_SSE_BUFFER_SIZE=3):
        for n in range(4):
            post(busy, f"Comment {n}.")
    kept = list(LiveEvent.objects.filter(article_key="busy").order_by("id").values_list("kind", "count"))
    assert kept == [("count", 3), ("comment", None), ("count", 4)]
    assert LiveEvent.objects.filter(article_key="other").count() == 2

    LiveEvent.objects.filter(article_key="other").update(created_at=timezone.now() - timedelta(hours=2))
    live.broker()._next_expiry = 0  # the once-a-minute expiry is due
    post(busy, "Newer.")
    assert not LiveEvent.objects.filter(article_key="other").exists()
    assert LiveEvent.objects.filter(article_key="busy").exists()


def test_ids_keep_growing_after_the_table_is_emptied(article, post):
    """Pollers read ``id > last seen``: an id handed out again after the rows went (SQLite reuses
    rowids unless the table has AUTOINCREMENT) would hide every event up to the old newest id."""
    post(article, "Before.")
    newest = LiveEvent.objects.order_by("-id").values_list("id", flat=True).first()
    LiveEvent.objects.all().delete()  # what expiry does after a quiet hour
    post(article, "After.")
    assert LiveEvent.objects.order_by("id").values_list("id", flat=True).first() > newest


def test_buffers_are_trimmed_every_few_publishes(article, post, monkeypatch):
    monkeypatch.setattr(live.DatabaseBroker, "PRUNE_EVERY", 4)
    with override_settings(COMMENTS_SSE_BUFFER_SIZE=2):
        for n in range(12):
            post(article, f"Comment {n}.")
            # Never more than the buffer plus the rows of the publishes since the last trim.
            assert LiveEvent.objects.filter(article_key=article.key).count() <= 2 + 2 * 4
    assert LiveEvent.objects.filter(article_key=article.key).count() <= 2 + 2 * 4


def test_concurrent_posts_give_counts_in_id_order(article, make_reader):
    """Ids follow commit order and each count is read with its id: a higher id never carries an older count."""
    readers = [make_reader() for _ in range(6)]

    def post_three(reader):
        for n in range(3):
            services.post_comment(article=article, author=reader, body=f"Race {n}.")

    assert run_at_once(post_three, readers) == []
    counts = list(LiveEvent.objects.filter(article_key=article.key, kind="count").order_by("id")
                  .values_list("count", flat=True))
    # Two posts may both commit before either publishes (a count repeats, another is skipped);
    # what must hold is that the counts never go back and the last one is exact.
    assert len(counts) == 18
    assert counts == sorted(counts)
    assert counts[-1] == 18


def test_a_broken_event_table_never_fails_posting(article, reader, caplog, monkeypatch):
    def broken(*args, **kwargs):
        raise DatabaseError("no such table: comments_liveevent")

    monkeypatch.setattr(live.DatabaseBroker, "publish", broken)
    with caplog.at_level(logging.WARNING):
        comment = services.post_comment(article=article, author=reader, body="Still posted.")
    assert comment.pk and "live event for article" in caplog.text


def test_one_poller_per_loop_that_stops_and_lets_go_of_its_connection_when_idle(article, post, database_broker):
    async def scenario():
        clients = [StreamClient(application, f"/api/v1/articles/{article.key}/events/") for _ in range(3)]
        for client in clients:
            await client.__aenter__()
            await client.next_event()
        state = database_broker._state()
        pollers = [t for t in asyncio.all_tasks() if t is state.task]
        assert len(pollers) == 1
        await in_thread(post, article, "Polled once for all.")
        assert [(await c.next_event()).event for c in clients] == ["comment"] * 3
        for client in clients:
            await client.__aexit__(None, None, None)
        poller = state.task
        for _ in range(60):
            if poller.done():
                break
            await asyncio.sleep(0.05)
        assert poller.done() and state.task is None

    asyncio.run(scenario())


def test_replay_reads_the_table_after_a_stream_process_restart(article, post):
    """Replay needs no memory of the process: a fresh event loop (a restarted server) replays from rows."""
    async def first_visit():
        async with StreamClient(application, f"/api/v1/articles/{article.key}/events/") as stream:
            return await stream.next_event()

    seen = asyncio.run(first_visit())
    missed = post(article, "While the server restarted.")

    async def second_visit():
        async with StreamClient(application, f"/api/v1/articles/{article.key}/events/?last_event_id={seen.id}") as s:
            return [await s.next_event() for _ in range(2)]

    replayed = asyncio.run(second_visit())
    assert [(e.event, e.data.get("id")) for e in replayed] == [("comment", missed.pk), ("count", None)]
    assert replayed[1].data["count"] == 1
    connection.close()


def test_the_poller_outlives_a_failing_read(article, post, database_broker, monkeypatch, caplog):
    real, failures = live.DatabaseBroker._rows_after, []

    def flaky(self, after, article_key=None):
        if article_key is None and not failures:
            failures.append(after)
            raise OperationalError("database is locked")
        return real(self, after, article_key)

    monkeypatch.setattr(live.DatabaseBroker, "_rows_after", flaky)

    async def scenario():
        async with StreamClient(application, f"/api/v1/articles/{article.key}/events/") as stream:
            await stream.next_event()
            await in_thread(post, article, "After the hiccup.")
            return await stream.next_event(timeout=10)

    with caplog.at_level(logging.WARNING):
        event = asyncio.run(scenario())
    assert failures and "cannot read events" in caplog.text
    assert (event.event, event.data["body_html"]) == ("comment", "<p>After the hiccup.</p>")
