"""How events travel from a committed change to the readers' streams.

Services call ``visibility_changed`` and ``comment_edited`` from ``transaction.on_commit`` only;
the events view follows one article through ``broker()``. Two brokers share one interface:

- ``LocalBroker`` (no REDIS_URL): in-process, for the embedded default with one server process.
- ``RedisBroker`` (REDIS_URL): ids from INCR, a capped sorted set per article as the replay
  buffer and one pub/sub channel, so every process sees every event and replay works across
  processes. Each process (event loop) holds one subscriber connection for all its streams.

Ordering: an event's id is taken after the commit and the count is read from the database after
its id, so the count carried by a higher id is never older than one carried by a lower id. A
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
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder

from comments import conf, selectors
from comments.api.serializers import CommentSerializer
from comments.models import Article, Comment

logger = logging.getLogger(__name__)

HEARTBEAT = b": heartbeat\n\n"


class BrokerUnavailableError(Exception):
    """The event transport (Redis) cannot be reached; the caller degrades, never fails."""


@dataclass(frozen=True, slots=True)
class Event:
    id: int
    kind: str  # "count", "comment", "edit" or "remove"
    frame: bytes  # the complete SSE frame, encoded once for every stream


def make_event(event_id: int, kind: str, data) -> Event:
    payload = json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, separators=(",", ":"))
    return Event(event_id, kind, f"id: {event_id}\nevent: {kind}\ndata: {payload}\n\n".encode())


def count_event(event_id: int, *, article_key: str, count: int) -> Event:
    return make_event(event_id, "count", {"article": article_key, "count": count})


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
    target = broker()
    last = target.allocate_ids(key, 2 if with_count else 1)
    events = []
    data = {"id": comment_id} if kind == "remove" else _comment_payload(comment_id)
    if data is not None:
        events.append(make_event(last - 1 if with_count else last, kind, data))
    if with_count:
        # Read after the id was taken: see the module docstring.
        count = Article.objects.filter(pk=article_id).values_list("comment_count", flat=True).first() or 0
        events.append(count_event(last, article_key=key, count=count))
    target.publish(key, events)


def _comment_payload(comment_id: int) -> dict | None:
    """The comment as the anonymous API shows it, or None if it is no longer visible."""
    comment = Comment.objects.select_related("article", "author").filter(pk=comment_id).first()
    if comment is None or not comment.is_visible:
        return None
    node = selectors.shown_comment(comment, viewer=None)
    return None if node is None else dict(CommentSerializer(node).data)


# --- Subscriptions (async: one per open stream) -------------------------------------------------


@dataclass(eq=False)
class Subscription:
    """One stream's inbox; filled on its own event loop, drained by the stream."""

    article_key: str
    loop: asyncio.AbstractEventLoop
    limit: int
    pending: deque = field(default_factory=deque)
    wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    overflowed: bool = False

    def offer(self, events: Iterable[Event]) -> None:
        """Runs on ``loop``. A stream that falls too far behind is closed; its client resumes by id."""
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


def _fan_out(subscriptions: Iterable[Subscription], events: list[Event]) -> None:
    """Hand events to each subscriber on its own loop: one thread-safe call per loop."""
    by_loop: dict[asyncio.AbstractEventLoop, list[Subscription]] = defaultdict(list)
    for subscription in subscriptions:
        by_loop[subscription.loop].append(subscription)
    for loop, group in by_loop.items():
        with contextlib.suppress(RuntimeError):  # a closed loop: its streams are gone
            loop.call_soon_threadsafe(_deliver, group, events)


def _deliver(group: list[Subscription], events: list[Event]) -> None:
    for subscription in group:
        subscription.offer(events)


class _Registry:
    """Which subscriptions follow which article; thread-safe, shared by both brokers."""

    def __init__(self):
        self._lock = threading.Lock()
        self._by_article: dict[str, set[Subscription]] = defaultdict(set)

    def add(self, subscription: Subscription) -> None:
        with self._lock:
            self._by_article[subscription.article_key].add(subscription)

    def remove(self, subscription: Subscription) -> None:
        with self._lock:
            followers = self._by_article.get(subscription.article_key)
            if followers is not None:
                followers.discard(subscription)
                if not followers:
                    del self._by_article[subscription.article_key]

    def followers(self, article_key: str) -> list[Subscription]:
        with self._lock:
            return list(self._by_article.get(article_key, ()))

    def articles(self) -> list[str]:
        with self._lock:
            return list(self._by_article)


# --- In-process broker -------------------------------------------------------------------------


@dataclass
class _ArticleLog:
    last_id: int = 0
    buffer: list[Event] = field(default_factory=list)  # sorted by id
    touched: float = field(default_factory=time.monotonic)


class LocalBroker:
    """Events within one process: ids, replay buffer and fan-out all in memory."""

    def __init__(self):
        self._lock = threading.Lock()
        self._logs: dict[str, _ArticleLog] = {}
        self._registry = _Registry()
        self._publishes = 0

    def allocate_ids(self, article_key: str, n: int) -> int:
        with self._lock:
            log = self._logs.setdefault(article_key, _ArticleLog())
            log.last_id += n
            log.touched = time.monotonic()
            return log.last_id

    def publish(self, article_key: str, events: list[Event]) -> None:
        size = conf.sse_buffer_size()
        with self._lock:
            log = self._logs.setdefault(article_key, _ArticleLog())
            log.buffer.extend(events)
            log.buffer.sort(key=lambda e: e.id)
            del log.buffer[:-size]
            log.touched = time.monotonic()
            self._publishes += 1
            if self._publishes % 1000 == 0:
                self._forget_quiet_articles()
        _fan_out(self._registry.followers(article_key), events)

    def _forget_quiet_articles(self) -> None:
        cutoff = time.monotonic() - conf.sse_buffer_ttl()
        for key in [k for k, log in self._logs.items() if log.touched < cutoff]:
            del self._logs[key]

    async def last_id(self, article_key: str) -> int:
        with self._lock:
            log = self._logs.get(article_key)
            return log.last_id if log else 0

    async def replay(self, article_key: str, after: int) -> list[Event]:
        with self._lock:
            log = self._logs.get(article_key)
            return [e for e in log.buffer if e.id > after] if log else []

    @contextlib.asynccontextmanager
    async def subscribe(self, article_key: str) -> AsyncIterator[Subscription]:
        subscription = Subscription(article_key, asyncio.get_running_loop(), conf.sse_queue_size())
        self._registry.add(subscription)
        try:
            yield subscription
        finally:
            self._registry.remove(subscription)


# --- Redis broker ------------------------------------------------------------------------------


@dataclass(eq=False)
class _LoopState:
    """What one event loop (one server process) holds: a command client and the listener."""

    client: object
    registry: _Registry = field(default_factory=_Registry)
    listening: asyncio.Event = field(default_factory=asyncio.Event)
    last_seen: dict[str, int] = field(default_factory=dict)
    task: asyncio.Task | None = None


class RedisBroker:
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
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        if self._sync_client is None:
            timeout = conf.live_redis_timeout()
            self._sync_client = redis.Redis.from_url(
                self.url, socket_timeout=timeout, socket_connect_timeout=timeout, retry=Retry(NoBackoff(), 0)
            )
        return self._sync_client

    def _call(self, operation):
        import redis

        if time.monotonic() < self._down_until:
            raise BrokerUnavailableError("Redis was unreachable moments ago")
        try:
            return operation(self._client())
        except (redis.RedisError, OSError) as error:
            self._down_until = time.monotonic() + self.RETRY_PAUSE
            raise BrokerUnavailableError(f"Redis unreachable: {error}") from error

    def allocate_ids(self, article_key: str, n: int) -> int:
        return int(self._call(lambda client: client.incrby(self._key(article_key, "id"), n)))

    def publish(self, article_key: str, events: list[Event]) -> None:
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
        import redis.asyncio

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
        import redis

        try:
            return await coroutine_factory(self._state().client)
        except (redis.RedisError, OSError) as error:
            raise BrokerUnavailableError(f"Redis unreachable: {error}") from error

    async def last_id(self, article_key: str) -> int:
        value = await self._command(lambda client: client.get(self._key(article_key, "id")))
        return int(value or 0)

    async def replay(self, article_key: str, after: int) -> list[Event]:
        rows = await self._command(
            lambda client: client.zrangebyscore(self._key(article_key, "buffer"), f"({after}", "+inf", withscores=True)
        )
        events = []
        for member, score in rows:
            kind, frame = member.split(b"\n", 1)
            events.append(Event(int(score), kind.decode(), frame))
        return events

    @contextlib.asynccontextmanager
    async def subscribe(self, article_key: str) -> AsyncIterator[Subscription]:
        state = self._state()
        if state.task is None or state.task.done():
            state.task = asyncio.get_running_loop().create_task(self._listen(state))
        subscription = Subscription(article_key, asyncio.get_running_loop(), conf.sse_queue_size())
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
        import redis
        import redis.asyncio

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
        event = Event(int(event_id), kind, frame)
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

_brokers: dict[tuple[str, str], LocalBroker | RedisBroker] = {}
_brokers_lock = threading.Lock()


def broker() -> LocalBroker | RedisBroker:
    """Redis when REDIS_URL is set, else in-process; one instance per (URL, prefix)."""
    url, prefix = getattr(settings, "REDIS_URL", ""), conf.live_prefix()
    with _brokers_lock:
        if (url, prefix) not in _brokers:
            _brokers[(url, prefix)] = RedisBroker(url, prefix) if url else LocalBroker()
        return _brokers[(url, prefix)]
