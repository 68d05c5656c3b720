"""How events travel from a committed change to the readers' streams.

Services hand ``visibility_changed`` and ``comment_edited`` to ``publish_when_committed``
(after the commit; with the database broker on SQLite, inside the writer's transaction); the
stream views follow articles through ``broker()``. Two brokers share one interface, and both
carry events between processes (pages and the API run in sync WSGI workers, streams in an ASGI
process, so the process that publishes is never the one that streams):

- ``DatabaseBroker`` (no REDIS_URL, the embedded default): events are rows of ``LiveEvent``
  written after the commit; each stream process (event loop) runs one poller task that reads the
  rows beyond the last it saw every ``COMMENTS_LIVE_POLL_INTERVAL`` seconds and hands them to
  its streams. The table is the replay buffer.
- ``RedisBroker`` (REDIS_URL): ids from INCR, a capped sorted set per article as the replay
  buffer and one pub/sub channel, so every process sees every event and replay works across
  processes. Each process (event loop) holds one subscriber connection for all its streams.

Ordering: an event's id is taken after the commit (or, on SQLite, while the writer holds the
database's one write lock) and the count is read from the database after its id, so the count
carried by a higher id is never older than one carried by a lower id. (The database broker
takes the ids and reads the count in one write transaction; writers queue on it, so ids also
follow commit order, which is what lets the poller read ``id > last seen``.) A
stream drops a count older than the last it sent, so readers end on the exact count even when
two commits publish out of order.

Publishing never fails a request: a broker error drops the event with a logged warning, and
the pages fall back to polling the counts until streams resume.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from django.conf import settings
from django.db import connection, transaction

from comments import conf, payloads
from comments.live.database import DatabaseBroker
from comments.live.events import COUNTS_ONLY, HEARTBEAT, BrokerUnavailableError, Event, count_event, make_event
from comments.live.redis_broker import RedisBroker
from comments.live.stream import Subscription
from comments.models import Article

__all__ = [
    "COUNTS_ONLY", "HEARTBEAT", "BrokerUnavailableError", "DatabaseBroker", "Event", "RedisBroker", "Subscription",
    "broker", "comment_edited", "comments_removed", "count_event", "make_event", "publish_when_committed",
    "visibility_changed",
]

logger = logging.getLogger(__name__)


# --- Publishing (sync: in the request's thread) -------------------------------------------------


def publish_when_committed(publish: Callable[[], None]) -> None:
    """Run ``publish`` (a call of ``visibility_changed`` or ``comment_edited``) so that its events
    reach streams with the change, never before it and never without it.

    Normally after the commit (``transaction.on_commit``). With the database broker on SQLite
    the events are written inside the writer's own transaction instead: SQLite lets one writer
    at a time hold the database from its first write to its commit, so ids still follow commit
    order, the count read is the one committed, and pollers see the rows together with the
    change; posting saves a second write transaction (and a second turn at the write lock).
    A failed write of the events is rolled back to its savepoint and logged, as after a commit.
    """
    if connection.vendor == "sqlite" and connection.in_atomic_block and isinstance(broker(), DatabaseBroker):
        publish()
    else:
        transaction.on_commit(publish)


def visibility_changed(*, article_id: int, comment_id: int, visible: bool, article_key: str | None = None,
                       data: dict | None = None) -> None:
    """A comment became visible (``comment`` + ``count`` events) or stopped being (``remove`` + ``count``).

    The ``comment`` event carries the comment as ``payloads.public_comment`` builds it (its own
    fields; replies come with their own events). Pass ``article_key`` and the comment's ``data``
    (``payloads.public_node``) when they are at hand: publishing then reads only the count.
    """
    _publish_safely(article_id=article_id, comment_id=comment_id, kind="comment" if visible else "remove",
                    with_count=True, article_key=article_key, data=data)


def comment_edited(*, article_id: int, comment_id: int, article_key: str | None = None,
                   data: dict | None = None) -> None:
    """A visible comment's text changed (``edit`` event with the new rendering)."""
    _publish_safely(article_id=article_id, comment_id=comment_id, kind="edit", with_count=False,
                    article_key=article_key, data=data)


def comments_removed(*, article_id: int, comment_ids: list[int], article_key: str) -> None:
    """Comments left the count together (their rows were deleted with a reader or an article):
    a ``remove`` event for each, then one ``count``."""
    try:
        broker().publish(article_key, [("remove", {"id": pk}) for pk in comment_ids], count_of=article_id)
    except Exception:  # the deletion is committed; a live event must never turn it into an error
        logger.warning("live events for article %s dropped", article_id, exc_info=True)


def _publish_safely(**kwargs) -> None:
    try:
        _publish(**kwargs)
    except BrokerUnavailableError as error:
        logger.warning("live event for article %s dropped: %s", kwargs["article_id"], error)
    except Exception:  # the change is committed; a live event must never turn it into an error page
        logger.warning("live event for article %s dropped", kwargs["article_id"], exc_info=True)


def _publish(*, article_id: int, comment_id: int, kind: str, with_count: bool, article_key: str | None,
             data: dict | None) -> None:
    key = article_key or Article.objects.filter(pk=article_id).values_list("key", flat=True).first()
    if key is None:
        return
    if kind == "remove":
        data = {"id": comment_id}
    elif data is None:
        data = payloads.public_comment(comment_id, article_key=key)
    changes = [] if data is None else [(kind, data)]
    broker().publish(key, changes, count_of=article_id if with_count else None)


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
