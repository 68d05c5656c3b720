"""Live events through Redis: INCR ids, a capped sorted set per article for replay, one pub/sub channel."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
import weakref
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field

import redis
import redis.asyncio
from redis.backoff import NoBackoff
from redis.retry import Retry

from comments import conf
from comments.live.events import BrokerUnavailableError, Event, count_event, make_event
from comments.live.stream import Registry, Subscription
from comments.models import Article

logger = logging.getLogger(__name__)


# KEYS[1] the id key; ARGV[1] how many ids; ARGV[2] where a new sequence starts (see allocate_ids).
_ALLOCATE = """
if redis.call('EXISTS', KEYS[1]) == 0 then redis.call('SET', KEYS[1], ARGV[2]) end
return redis.call('INCRBY', KEYS[1], ARGV[1])
"""


def _read_count(article_id: int) -> int:
    return Article.objects.filter(pk=article_id).values_list("comment_count", flat=True).first() or 0


@dataclass(eq=False)
class _LoopState:
    """What one event loop (one server process) holds: a command client and the listener."""

    client: object
    registry: Registry = field(default_factory=Registry)
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

    # Connections a stream process's event loop opens for short commands (ids, replays) at most;
    # each command holds one for a round trip, so a few dozen serve thousands of openings a second.
    STREAM_CONNECTIONS = 32
    POOL_WAIT = 10.0  # seconds a command waits for one of them

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

    def publish(self, article_key: str, changes: list[tuple[str, object]], *, count_of: int | None) -> None:
        """Store and send ``changes`` (kind, data), then, with ``count_of`` (an article id), its count."""
        n = len(changes) + (1 if count_of is not None else 0)
        if n == 0:
            return
        last = self.allocate_ids(article_key, n)
        first = last - n + 1
        events = [make_event(first + i, kind, data, article_key) for i, (kind, data) in enumerate(changes)]
        if count_of is not None:
            # Read after the id was taken: see the package docstring (comments.live).
            events.append(count_event(last, article_key=article_key, count=_read_count(count_of)))
        self.store_and_send(article_key, events)

    def allocate_ids(self, article_key: str, n: int) -> int:
        """Take ``n`` ids for the article's next events; returns the last.

        Ids never go backwards for a client (issue 16: after Redis restarted empty, or the id key
        expired with a quiet article's buffer, INCR began again at 1, and open streams dropped
        every new ``count`` as older than the last they had sent). A missing id key starts from
        the time in microseconds, which is beyond any id an earlier sequence of this article
        reached (that would take more than one event per microsecond since it began); both steps
        run in Redis as one script, so concurrent publishers agree.
        """
        floor = time.time_ns() // 1000
        return int(self._call(lambda client: client.eval(_ALLOCATE, 1, self._key(article_key, "id"), n, floor)))

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
                # Commands wait for a free connection (up to POOL_WAIT seconds) instead of
                # failing: redis-py's default pool raises MaxConnectionsError past 100, and a
                # burst of readers opening a breaking story's streams got 503 live_unavailable.
                # The wait is not the socket timeout: a busy pool is not a Redis that is down.
                pool = redis.asyncio.BlockingConnectionPool.from_url(
                    self.url, max_connections=self.STREAM_CONNECTIONS, timeout=self.POOL_WAIT,
                    socket_timeout=timeout, socket_connect_timeout=timeout)
                state = self._loops[loop] = _LoopState(redis.asyncio.Redis(connection_pool=pool))
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

    async def last_id(self, article_key: str) -> int:
        return (await self.last_ids([article_key]))[article_key]

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
                if not connected_before or delay > 0.5:
                    # Not a dropped connection that one retry restores: Redis itself is away.
                    # Open streams would stay silent, so end them: their pages reconnect, are
                    # told 503 live_unavailable, and poll the counts until Redis is back.
                    state.registry.end_all()
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
