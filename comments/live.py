"""How events travel from a committed change to the readers' streams.

Services call ``visibility_changed`` and ``comment_edited`` from ``transaction.on_commit`` only;
the stream views follow articles through ``broker()``. Two brokers share one interface, and both
carry events between processes (pages and the API run in sync WSGI workers, streams in an ASGI
process, so the process that publishes is never the one that streams):

- ``DatabaseBroker`` (no REDIS_URL, the embedded default): events are rows of ``LiveEvent``
  written after the commit; each stream process (event loop) runs one poller task that reads the
  rows beyond the last it saw every ``COMMENTS_LIVE_POLL_INTERVAL`` seconds and hands them to
  its streams. The table is the replay buffer.
- ``RedisBroker`` (REDIS_URL): ids from INCR, a capped sorted set per article as the replay
  buffer and one pub/sub channel, so every process sees every event and replay works across
  processes. Each process (event loop) holds one subscriber connection for all its streams.

Ordering: an event's id is taken after the commit and the count is read from the database after
its id, so the count carried by a higher id is never older than one carried by a lower id. (The
database broker takes the ids and reads the count in one write transaction; writers queue on it,
so ids also follow commit order, which is what lets the poller read ``id > last seen``.) A
stream drops a count older than the last it sent, so readers end on the exact count even when
two commits publish out of order.

Publishing never fails a request: a broker error drops the event with a logged warning, and
the pages fall back to polling the counts until streams resume.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
import weakref
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta

import redis
import redis.asyncio
from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DatabaseError, connection, connections, transaction
from django.db.models import Subquery
from django.utils import timezone
from redis.backoff import NoBackoff
from redis.retry import Retry

from comments import conf, selectors
from comments.api.serializers import CommentSerializer
from comments.models import Article, Comment, LiveEvent

logger = logging.getLogger(__name__)

HEARTBEAT = b": heartbeat\n\n"
COUNTS_ONLY = frozenset({"count"})


class BrokerUnavailableError(Exception):
    """The event transport (Redis, or the database) cannot be reached; the caller degrades, never fails."""


@dataclass(frozen=True, slots=True)
class Event:
    id: int
    kind: str  # "count", "comment", "edit" or "remove"
    frame: bytes  # the complete SSE frame, encoded once for every stream
    article: str = ""  # the article's key


def _json(data) -> str:
    return json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, separators=(",", ":"))


def _frame(event_id: int, kind: str, payload: str) -> bytes:
    return f"id: {event_id}\nevent: {kind}\ndata: {payload}\n\n".encode()


def make_event(event_id: int, kind: str, data, article: str = "") -> Event:
    return Event(event_id, kind, _frame(event_id, kind, _json(data)), article)


def count_event(event_id: int, *, article_key: str, count: int) -> Event:
    return make_event(event_id, "count", {"article": article_key, "count": count}, article_key)


# --- Publishing (sync: called from on_commit in the request's thread) -------------------------


def visibility_changed(*, article_id: int, comment_id: int, visible: bool) -> None:
    """A comment became visible (``comment`` + ``count`` events) or stopped being (``remove`` + ``count``)."""
    _publish_safely(article_id=article_id, comment_id=comment_id, kind="comment" if visible else "remove",
                    with_count=True)


def comment_edited(*, article_id: int, comment_id: int) -> None:
    """A visible comment's text changed (``edit`` event with the new rendering)."""
    _publish_safely(article_id=article_id, comment_id=comment_id, kind="edit", with_count=False)


def _publish_safely(**kwargs) -> None:
    try:
        _publish(**kwargs)
    except BrokerUnavailableError as error:
        logger.warning("live event for article %s dropped: %s", kwargs["article_id"], error)
    except Exception:  # the change is committed; a live event must never turn it into an error page
        logger.warning("live event for article %s dropped", kwargs["article_id"], exc_info=True)


def _publish(*, article_id: int, comment_id: int, kind: str, with_count: bool) -> None:
    key = Article.objects.filter(pk=article_id).values_list("key", flat=True).first()
    if key is None:
        return
    data = {"id": comment_id} if kind == "remove" else _comment_payload(comment_id)
    changes = [] if data is None else [(kind, data)]
    broker().publish(key, changes, count_of=article_id if with_count else None)


def _read_count(article_id: int) -> int:
    return Article.objects.filter(pk=article_id).values_list("comment_count", flat=True).first() or 0


def _comment_payload(comment_id: int) -> dict | None:
    """The comment as the anonymous API shows it, or None if it is no longer visible."""
    comment = Comment.objects.select_related("article", "author").filter(pk=comment_id).first()
    if comment is None or not comment.is_visible:
        return None
    node = selectors.shown_comment(comment, viewer=None)
    return None if node is None else dict(CommentSerializer(node).data)


# --- Subscriptions (async: one per open stream) -------------------------------------------------


@dataclass(eq=False, slots=True)
class Subscription:
    """One stream's inbox, for one article or many (a list page); filled and drained on one loop.

    ``kinds`` limits what is queued (a list page wants counts only), so a stream never holds
    comment bodies it would throw away.
    """

    keys: tuple[str, ...]
    limit: int
    kinds: frozenset[str] | None = None
    pending: deque = field(default_factory=deque)
    wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    overflowed: bool = False

    def offer(self, events: Iterable[Event]) -> None:
        """A stream that falls too far behind is closed; its client resumes by id."""
        if self.kinds is not None:
            events = [e for e in events if e.kind in self.kinds]
            if not events:
                return
        self.pending.extend(events)
        if len(self.pending) > self.limit:
            self.overflowed = True
            self.pending.clear()
        self.wakeup.set()

    async def batches(self, heartbeat: float) -> AsyncIterator[list[Event] | None]:
        """Batches of events as they arrive, None after ``heartbeat`` quiet seconds; ends on overflow."""
        while True:
            if not self.pending and not self.overflowed:
                self.wakeup.clear()
                try:
                    async with asyncio.timeout(heartbeat):
                        await self.wakeup.wait()
                except TimeoutError:
                    yield None
                    continue
            if self.overflowed:
                return
            batch = list(self.pending)
            self.pending.clear()
            yield batch


class _Registry:
    """Which subscriptions follow which article, for one event loop (so no lock).

    A list page's one subscription sits under each of its keys: the server's cost of a page is
    one object and a set entry per key, never a task or a connection per key.
    """

    def __init__(self):
        self._by_article: dict[str, set[Subscription]] = defaultdict(set)

    def __bool__(self) -> bool:
        return bool(self._by_article)

    def add(self, subscription: Subscription) -> None:
        for key in subscription.keys:
            self._by_article[key].add(subscription)

    def remove(self, subscription: Subscription) -> None:
        for key in subscription.keys:
            followers = self._by_article.get(key)
            if followers is not None:
                followers.discard(subscription)
                if not followers:
                    del self._by_article[key]

    def followers(self, article_key: str) -> Sequence[Subscription]:
        return tuple(self._by_article.get(article_key, ()))

    def articles(self) -> list[str]:
        return list(self._by_article)

    def dispatch(self, events: Iterable[Event]) -> None:
        by_article: dict[str, list[Event]] = defaultdict(list)
        for event in events:
            by_article[event.article].append(event)
        for article_key, group in by_article.items():
            for subscription in self.followers(article_key):
                subscription.offer(group)


class _IdsFirst:
    """Shared by the brokers whose ids come before the events are stored (Redis)."""

    def publish(self, article_key: str, changes: list[tuple[str, object]], *, count_of: int | None) -> None:
        """Store and send ``changes`` (kind, data), then, with ``count_of`` (an article id), its count."""
        n = len(changes) + (1 if count_of is not None else 0)
        if n == 0:
            return
        last = self.allocate_ids(article_key, n)
        first = last - n + 1
        events = [make_event(first + i, kind, data, article_key) for i, (kind, data) in enumerate(changes)]
        if count_of is not None:
            # Read after the id was taken: see the module docstring.
            events.append(count_event(last, article_key=article_key, count=_read_count(count_of)))
        self.store_and_send(article_key, events)

    async def last_id(self, article_key: str) -> int:
        return (await self.last_ids([article_key]))[article_key]


# --- Database broker (no Redis) ------------------------------------------------------------------


@dataclass(eq=False)
class _PollerState:
    """One event loop's streams and its poller task."""

    registry: _Registry = field(default_factory=_Registry)
    task: asyncio.Task | None = None
    ready: asyncio.Event = field(default_factory=asyncio.Event)


class DatabaseBroker:
    """Events through the ``LiveEvent`` table: works across processes with nothing but the database."""

    FETCH_LIMIT = 500  # rows per poll; a longer backlog is read at once in further polls
    EXPIRY_EVERY = 60.0  # seconds between deletions of rows older than the TTL, per process

    def __init__(self):
        self._lock = threading.Lock()
        self._loops: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._next_expiry = 0.0

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
                LiveEvent(article_key=article_key, kind=kind, data=_json(data), created_at=now)
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
        """Keep the newest ``COMMENTS_SSE_BUFFER_SIZE`` rows of the article; now and then drop expired rows."""
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
                data = _json({"article": article_key, "count": count})
            events.append(Event(event_id, kind, _frame(event_id, kind, data), article_key))
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
    async def _read(function, *args):
        """Run a read off the event loop; its connection is closed at once, so no stream holds one."""

        def call():
            try:
                return function(*args)
            except DatabaseError as error:
                raise BrokerUnavailableError(f"database unreachable: {error}") from error
            finally:
                connection.close()

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

        It runs in a thread of its own that keeps one connection between polls, outside any
        transaction: on SQLite (WAL) that never holds up a writer.
        """
        loop, ready = asyncio.get_running_loop(), state.ready
        executor = ThreadPoolExecutor(1, thread_name_prefix="comments-live-poller")
        last_seen: int | None = None
        failing = False
        try:
            while state.registry:
                try:
                    if last_seen is None:
                        last_seen = await loop.run_in_executor(executor, self._newest_id)
                        ready.set()
                        events = []
                    else:
                        events = await loop.run_in_executor(executor, self._rows_after, last_seen)
                    if failing:
                        logger.info("live: reading events from the database again")
                        failing = False
                except DatabaseError as error:
                    if not failing:
                        logger.warning("live: cannot read events from the database (%s); retrying", error)
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


_ADVISORY_LOCK = 0x636F6D6D656E7473 & 0x7FFFFFFFFFFFFFFF  # "comments": publishers of live events queue on it


# --- Redis broker ------------------------------------------------------------------------------


@dataclass(eq=False)
class _LoopState:
    """What one event loop (one server process) holds: a command client and the listener."""

    client: object
    registry: _Registry = field(default_factory=_Registry)
    listening: asyncio.Event = field(default_factory=asyncio.Event)
    last_seen: dict[str, int] = field(default_factory=dict)
    task: asyncio.Task | None = None


class RedisBroker(_IdsFirst):
    """Events across processes through Redis; every call from a request has a short timeout."""

    RETRY_PAUSE = 2.0  # seconds publishing stays off after a failure, so requests don't queue on it

    def __init__(self, url: str, prefix: str):
        self.url, self.prefix = url, prefix
        self.channel = f"{prefix}:live:events"
        self._sync_client = None
        self._down_until = 0.0
        self._lock = threading.Lock()
        self._loops: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def _key(self, article_key: str, what: str) -> str:
        return f"{self.prefix}:live:{article_key}:{what}"

    # Publishing side (sync).

    def _client(self):
        if self._sync_client is None:
            timeout = conf.live_redis_timeout()
            self._sync_client = redis.Redis.from_url(
                self.url, socket_timeout=timeout, socket_connect_timeout=timeout, retry=Retry(NoBackoff(), 0)
            )
        return self._sync_client

    def _call(self, operation):
        if time.monotonic() < self._down_until:
            raise BrokerUnavailableError("Redis was unreachable moments ago")
        try:
            return operation(self._client())
        except (redis.RedisError, OSError) as error:
            self._down_until = time.monotonic() + self.RETRY_PAUSE
            raise BrokerUnavailableError(f"Redis unreachable: {error}") from error

    def allocate_ids(self, article_key: str, n: int) -> int:
        return int(self._call(lambda client: client.incrby(self._key(article_key, "id"), n)))

    def store_and_send(self, article_key: str, events: list[Event]) -> None:
        buffer, ids, ttl = self._key(article_key, "buffer"), self._key(article_key, "id"), conf.sse_buffer_ttl()

        def send(client):
            pipe = client.pipeline(transaction=False)
            for event in events:
                pipe.zadd(buffer, {event.kind.encode() + b"\n" + event.frame: event.id})
                pipe.publish(self.channel, f"{event.id} {event.kind} {article_key}\n".encode() + event.frame)
            pipe.zremrangebyrank(buffer, 0, -conf.sse_buffer_size() - 1)
            pipe.expire(buffer, ttl)
            pipe.expire(ids, ttl)
            pipe.execute()

        self._call(send)

    # Stream side (async, per event loop).

    def _state(self) -> _LoopState:
        loop = asyncio.get_running_loop()
        with self._lock:
            state = self._loops.get(loop)
            if state is None:
                timeout = conf.live_redis_timeout()
                client = redis.asyncio.Redis.from_url(self.url, socket_timeout=timeout,
                                                      socket_connect_timeout=timeout)
                state = self._loops[loop] = _LoopState(client)
        return state

    async def _command(self, coroutine_factory):
        try:
            return await coroutine_factory(self._state().client)
        except (redis.RedisError, OSError) as error:
            raise BrokerUnavailableError(f"Redis unreachable: {error}") from error

    async def last_ids(self, article_keys: Iterable[str]) -> dict[str, int]:
        keys = list(article_keys)
        values = await self._command(lambda client: client.mget([self._key(k, "id") for k in keys]))
        return {key: int(value or 0) for key, value in zip(keys, values, strict=True)}

    async def replay(self, article_key: str, after: int) -> list[Event]:
        rows = await self._command(
            lambda client: client.zrangebyscore(self._key(article_key, "buffer"), f"({after}", "+inf", withscores=True)
        )
        events = []
        for member, score in rows:
            kind, frame = member.split(b"\n", 1)
            events.append(Event(int(score), kind.decode(), frame, article_key))
        return events

    @contextlib.asynccontextmanager
    async def subscribe(self, article_keys: Iterable[str], kinds: frozenset[str] | None = None
                        ) -> AsyncIterator[Subscription]:
        state = self._state()
        if state.task is None or state.task.done():
            state.task = asyncio.get_running_loop().create_task(self._listen(state))
        subscription = Subscription(tuple(article_keys), conf.sse_queue_size(), kinds)
        state.registry.add(subscription)
        try:
            # Events published before the channel is subscribed come from the replay buffer.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(2 * conf.live_redis_timeout() + 1):
                    await state.listening.wait()
            yield subscription
        finally:
            state.registry.remove(subscription)

    async def _listen(self, state: _LoopState) -> None:
        """The process's one subscriber connection: reconnects with backoff, then catches up."""
        delay, connected_before = 0.5, False
        while True:
            client = redis.asyncio.Redis.from_url(self.url, socket_connect_timeout=conf.live_redis_timeout(),
                                                  client_name=f"{self.prefix}:listener")
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                state.listening.set()
                if connected_before:
                    logger.info("live: Redis subscription restored")
                    await self._catch_up(state)
                connected_before, delay = True, 0.5
                while True:
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=15.0)
                    if message is None:
                        await pubsub.ping()  # an idle connection that died shows up here
                    elif message["type"] == "message":
                        self._dispatch(state, message["data"])
            except (redis.RedisError, OSError, BrokerUnavailableError) as error:
                state.listening.clear()
                logger.warning("live: Redis subscription lost (%s); retrying in %.1f s", error, delay)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
                    await client.aclose()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)

    def _dispatch(self, state: _LoopState, data: bytes) -> None:
        header, frame = data.split(b"\n", 1)
        event_id, kind, article_key = header.decode().split(" ", 2)
        event = Event(int(event_id), kind, frame, article_key)
        state.last_seen[article_key] = max(event.id, state.last_seen.get(article_key, 0))
        for subscription in state.registry.followers(article_key):
            subscription.offer([event])

    async def _catch_up(self, state: _LoopState) -> None:
        """After an outage, hand followed articles what the buffer holds beyond what they saw."""
        for article_key in state.registry.articles():
            if article_key in state.last_seen:
                events = await self.replay(article_key, state.last_seen[article_key])
                for event in events:
                    state.last_seen[article_key] = max(event.id, state.last_seen[article_key])
                for subscription in state.registry.followers(article_key):
                    subscription.offer(events)


# --- Choosing the broker -----------------------------------------------------------------------

_brokers: dict[tuple[str, str], DatabaseBroker | RedisBroker] = {}
_brokers_lock = threading.Lock()


def broker() -> DatabaseBroker | RedisBroker:
    """Redis when REDIS_URL is set, else the database; one instance per (URL, prefix)."""
    url, prefix = getattr(settings, "REDIS_URL", ""), conf.live_prefix()
    with _brokers_lock:
        if (url, prefix) not in _brokers:
            _brokers[(url, prefix)] = RedisBroker(url, prefix) if url else DatabaseBroker()
        return _brokers[(url, prefix)]
