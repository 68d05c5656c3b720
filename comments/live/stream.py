"""The streams' side of every broker: one subscription per open stream, and who follows what."""

from __future__ import annotations

import asyncio
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field

from comments.live.events import Event


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
    ended: bool = False  # the broker is gone: the stream ends, and its page polls (see ``end``)

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

    def end(self) -> None:
        """End the stream: its broker can no longer deliver. The client reconnects, is told
        ``503 live_unavailable`` while the broker is down, and its page polls the counts."""
        self.ended = True
        self.wakeup.set()

    async def batches(self, heartbeat: float) -> AsyncIterator[list[Event] | None]:
        """Batches of events as they arrive, None after ``heartbeat`` quiet seconds; ends on
        overflow and when the broker is gone (``end``)."""
        while True:
            if self.ended:
                return
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


class Registry:
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

    def end_all(self) -> None:
        """``Subscription.end`` for every stream of this loop."""
        for subscription in {s for followers in self._by_article.values() for s in followers}:
            subscription.end()

    def dispatch(self, events: Iterable[Event]) -> None:
        by_article: dict[str, list[Event]] = defaultdict(list)
        for event in events:
            by_article[event.article].append(event)
        for article_key, group in by_article.items():
            for subscription in self.followers(article_key):
                subscription.offer(group)
