"""Live events through the database (no Redis): rows written after the commit, polled by one task per loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
import weakref
from collections.abc import AsyncIterator, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta

from asgiref.sync import sync_to_async
from django.db import DatabaseError, connection, connections, transaction
from django.db.models import Subquery
from django.utils import timezone

from comments import conf
from comments.live.events import BrokerUnavailableError, Event, dumps, encode_frame
from comments.live.stream import Registry, Subscription
from comments.models import Article, LiveEvent

logger = logging.getLogger(__name__)

_ADVISORY_LOCK = 0x636F6D6D656E7473  # "comments": on PostgreSQL, publishers of live events queue on it


@dataclass(eq=False)
class _PollerState:
    """One event loop's streams and its poller task."""

    registry: Registry = field(default_factory=Registry)
    task: asyncio.Task | None = None
    ready: asyncio.Event = field(default_factory=asyncio.Event)


class DatabaseBroker:
    """Events through the ``LiveEvent`` table: works across processes with nothing but the database."""

    FETCH_LIMIT = 500  # rows per poll; a longer backlog is read at once in further polls
    EXPIRY_EVERY = 60.0  # seconds between deletions of rows older than the TTL, per process
    # Publishes per process between trims of an article's buffer to its newest rows: a buffer
    # may hold a few rows more than COMMENTS_SSE_BUFFER_SIZE, and posting skips a DELETE (a
    # third of publishing's cost) seven times in eight. Expired rows go whatever the count.
    PRUNE_EVERY = 8

    def __init__(self):
        self._lock = threading.Lock()
        self._loops: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._next_expiry = 0.0
        self._publishes = 0

    # Publishing side (sync).

    def publish(self, article_key: str, changes: list[tuple[str, object]], *, count_of: int | None) -> None:
        """Write the events (and ``count_of``'s count) in one transaction that queues behind other writers.

        On SQLite the first INSERT takes the database's write lock (or BEGIN IMMEDIATE already
        did); on PostgreSQL an advisory lock does the same for publishers. Inside it the ids are
        taken and the count is read in the INSERT that stores it, so ids follow commit order and
        a higher id never carries an older count.
        """
        if not changes and count_of is None:
            return
        now = timezone.now()
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_ADVISORY_LOCK])
            LiveEvent.objects.bulk_create([
                LiveEvent(article_key=article_key, kind=kind, data=dumps(data), created_at=now)
                for kind, data in changes
            ])
            if count_of is not None:
                self._insert_count(count_of, now)
            self._prune(article_key)

    @staticmethod
    def _insert_count(article_id: int, now) -> None:
        quote = connection.ops.quote_name
        table, articles = quote(LiveEvent._meta.db_table), quote(Article._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} ({quote('article_key')}, {quote('kind')}, {quote('data')}, {quote('count')}, "
                f"{quote('created_at')}) SELECT {quote('key')}, 'count', '', {quote('comment_count')}, %s "
                f"FROM {articles} WHERE {quote('id')} = %s",
                [connection.ops.adapt_datetimefield_value(now), article_id],
            )

    def _prune(self, article_key: str) -> None:
        """Every ``PRUNE_EVERY`` publishes, keep the newest ``COMMENTS_SSE_BUFFER_SIZE`` rows of the
        article; now and then drop expired rows."""
        self._publishes += 1
        if self._publishes % self.PRUNE_EVERY == 0:
            size = conf.sse_buffer_size()
            oldest_kept = LiveEvent.objects.filter(article_key=article_key).order_by("-id").values("id")[size:size + 1]
            LiveEvent.objects.filter(article_key=article_key, id__lte=Subquery(oldest_kept)).delete()
        ttl = conf.sse_buffer_ttl()
        if time.monotonic() >= self._next_expiry:
            self._next_expiry = time.monotonic() + min(ttl, self.EXPIRY_EVERY)
            LiveEvent.objects.filter(created_at__lt=timezone.now() - timedelta(seconds=ttl)).delete()

    # Reading (sync, in a worker thread).

    @staticmethod
    def _events(rows) -> list[Event]:
        events = []
        for event_id, article_key, kind, data, count in rows:
            if kind == "count":
                data = dumps({"article": article_key, "count": count})
            events.append(Event(event_id, kind, encode_frame(event_id, kind, data), article_key))
        return events

    @staticmethod
    def _newest_id() -> int:
        return LiveEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0

    def _rows_after(self, after: int, article_key: str | None = None) -> list[Event]:
        rows = LiveEvent.objects.filter(id__gt=after)
        if article_key is not None:
            rows = rows.filter(article_key=article_key)
        return self._events(rows.order_by("id").values_list("id", "article_key", "kind", "data", "count")
                            [:self.FETCH_LIMIT])

    @staticmethod
    def _closing(function, *args):
        """``function(*args)``, then this thread's connection goes back (to the pool, or closed):
        a read that its caller stopped waiting for (a cancelled task) still returns it."""
        try:
            return function(*args)
        finally:
            connection.close()

    @classmethod
    async def _read(cls, function, *args):
        """Run a read off the event loop; its connection is closed at once, so no stream holds one."""

        def call():
            try:
                return cls._closing(function, *args)
            except DatabaseError as error:
                raise BrokerUnavailableError(f"database unreachable: {error}") from error

        return await sync_to_async(call, thread_sensitive=False)()

    # Stream side (async, per event loop).

    async def last_ids(self, article_keys: Iterable[str]) -> dict[str, int]:
        """Ids are global here: the newest one bounds every article's."""
        return dict.fromkeys(article_keys, await self._read(self._newest_id))

    async def last_id(self, article_key: str) -> int:
        return await self._read(self._newest_id)

    async def replay(self, article_key: str, after: int) -> list[Event]:
        """The article's events after ``after`` that the table still holds, oldest first."""
        events: list[Event] = []
        while True:
            batch = await self._read(self._rows_after, after, article_key)
            events.extend(batch)
            if len(batch) < self.FETCH_LIMIT:
                return events
            after = batch[-1].id

    def _state(self) -> _PollerState:
        loop = asyncio.get_running_loop()
        with self._lock:
            state = self._loops.get(loop)
            if state is None:
                state = self._loops[loop] = _PollerState()
        return state

    @contextlib.asynccontextmanager
    async def subscribe(self, article_keys: Iterable[str], kinds: frozenset[str] | None = None
                        ) -> AsyncIterator[Subscription]:
        state = self._state()
        subscription = Subscription(tuple(article_keys), conf.sse_queue_size(), kinds)
        state.registry.add(subscription)
        if state.task is None:
            state.ready = asyncio.Event()
            state.task = asyncio.get_running_loop().create_task(self._poll(state))
        try:
            # The poller knows where it starts before the stream replays; anything newer it delivers.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(5):
                    await state.ready.wait()
            yield subscription
        finally:
            state.registry.remove(subscription)

    async def _poll(self, state: _PollerState) -> None:
        """The loop's one reader of new rows; ends (closing its connection) when no stream is left.

        It runs in a thread of its own, outside any transaction (on SQLite, WAL: it never holds
        up a writer), and gives its connection back after every poll: a poller cancelled with
        its event loop (a test's ``asyncio.run``, a server stopping) must not keep a pooled
        connection to the end of the process. Taking one from the pool (PostgreSQL) or opening
        SQLite costs far less than the poll interval.
        """
        loop, ready = asyncio.get_running_loop(), state.ready
        executor = ThreadPoolExecutor(1, thread_name_prefix="comments-live-poller")
        last_seen: int | None = None
        failing = False
        try:
            while state.registry:
                try:
                    if last_seen is None:
                        last_seen = await loop.run_in_executor(executor, self._closing, self._newest_id)
                        ready.set()
                        events = []
                    else:
                        events = await loop.run_in_executor(executor, self._closing, self._rows_after, last_seen)
                    if failing:
                        logger.info("live: reading events from the database again")
                        failing = False
                except Exception as error:  # the poller must outlive any failure, or its streams go quiet
                    if not failing:
                        logger.warning("live: cannot read events from the database (%s); retrying", error,
                                       exc_info=not isinstance(error, DatabaseError))
                    failing = True
                    await loop.run_in_executor(executor, connections.close_all)
                    await asyncio.sleep(1.0)
                    continue
                if events:
                    last_seen = events[-1].id
                    state.registry.dispatch(events)
                if len(events) < self.FETCH_LIMIT:
                    await asyncio.sleep(conf.live_poll_interval())
        finally:
            if state.task is asyncio.current_task():
                state.task = None  # before any await: a stream that subscribes now starts a new poller
            with contextlib.suppress(Exception):
                await loop.run_in_executor(executor, connections.close_all)
            executor.shutdown(wait=False)

