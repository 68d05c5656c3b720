"""The event format: one SSE frame per event, encoded once and sent to every stream as is."""

from __future__ import annotations

import json
from dataclasses import dataclass

from django.core.serializers.json import DjangoJSONEncoder

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


def dumps(data) -> str:
    return json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, separators=(",", ":"))


def encode_frame(event_id: int, kind: str, payload: str) -> bytes:
    return f"id: {event_id}\nevent: {kind}\ndata: {payload}\n\n".encode()


def make_event(event_id: int, kind: str, data, article: str = "") -> Event:
    return Event(event_id, kind, encode_frame(event_id, kind, dumps(data)), article)


def count_event(event_id: int, *, article_key: str, count: int) -> Event:
    return make_event(event_id, "count", {"article": article_key, "count": count}, article_key)
