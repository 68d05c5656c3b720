"""Keyset (cursor) pages of top-level comments.

A cursor names the last (or first) top-level comment a page showed, by its sort key and id, so
the next page starts strictly after it: comments posted or removed meanwhile never shift a
page, and no comment is shown twice or skipped. (With ``sort=top`` a comment whose likes change
while a reader pages may move across the page boundary: the order itself moved.)
"""

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db.models import Q, QuerySet
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.utils.urls import replace_query_param

from comments.models import MAX_ID
from comments.querysets import SORT_ORDERS as SORT_KEYS

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 200


class PageQuerySerializer(serializers.Serializer):
    """The list's query parameters; anything else in them is ignored."""

    sort = serializers.ChoiceField(choices=list(SORT_KEYS), default="newest")
    page_size = serializers.IntegerField(min_value=1, max_value=MAX_PAGE_SIZE, default=DEFAULT_PAGE_SIZE)
    cursor = serializers.CharField(required=False, max_length=500, help_text="Opaque, from `next` or `previous`.")


@dataclass(frozen=True)
class Cursor:
    """A position between two top-level comments: after (``forward``) or before this key."""

    position: tuple
    forward: bool

    def encode(self) -> str:
        values = [v.isoformat() if isinstance(v, datetime) else v for v in self.position]
        raw = json.dumps({"p": values, "f": self.forward}, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str, *, sort: str) -> "Cursor":
        """The cursor, or a 400 (code ``invalid_cursor``) for anything we did not hand out."""
        try:
            data = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
            values, forward = data["p"], data["f"]
            fields = [key.lstrip("-") for key in SORT_KEYS[sort]]
            if not isinstance(forward, bool) or not isinstance(values, list) or len(values) != len(fields):
                raise ValueError("wrong shape")
            position = tuple(_parse_value(field, value) for field, value in zip(fields, values, strict=True))
        except (ValueError, TypeError, KeyError, binascii.Error, UnicodeDecodeError, OverflowError):
            raise ValidationError({"cursor": ["Invalid cursor."]}, code="invalid_cursor") from None
        return cls(position, forward)


def _parse_value(field: str, value):
    if field == "created_at":
        if not isinstance(value, str):
            raise ValueError(field)
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            raise ValueError(field)
        return parsed.astimezone(UTC)  # OverflowError at the ends of the calendar: invalid
    if type(value) is not int or not 0 <= value <= MAX_ID:
        raise ValueError(field)
    return value


def _after_q(keys: tuple[str, ...], position: tuple, *, forward: bool) -> Q:
    """Rows strictly after ``position`` in the order ``keys`` (before it when not ``forward``)."""
    condition = Q()
    equal = Q()
    for key, value in zip(keys, position, strict=True):
        field = key.lstrip("-")
        descending = key.startswith("-") == forward
        step = Q(**{f"{field}__lt" if descending else f"{field}__gt": value})
        condition |= equal & step
        equal &= Q(**{field: value})
    return condition


def _position(comment, keys: tuple[str, ...]) -> tuple:
    """The sort key of a comment, given as a model instance or a ``values()`` row."""
    if isinstance(comment, dict):
        return tuple(comment[key.lstrip("-")] for key in keys)
    return tuple(getattr(comment, key.lstrip("-")) for key in keys)


def link_here(request, **params: str) -> str:
    """This request's path and query with ``params`` replaced: a link relative to the origin the
    client asked (``/api/v1/...?cursor=...``).

    Never absolute: the host and port would come from the request's ``Host`` header, and Django
    checks only the host name against ALLOWED_HOSTS, so any port a client wrote would be handed
    back in links (and in cached pages other readers get). Clients resolve the link against the
    URL they asked, as the widget does (``new URL(next, BASE)``).
    """
    url = request.get_full_path()
    for name, value in params.items():
        url = replace_query_param(url, name, value)
    return url


@dataclass
class Page:
    items: list
    next: str | None
    previous: str | None


def paginate(queryset, *, request, sort: str, page_size: int, cursor: str | None,
             fetch: Callable[[QuerySet], list] = list) -> Page:
    """One page of ``queryset`` (top-level comments) in ``sort`` order, with its neighbours' URLs.

    ``fetch`` runs the page's one query (``payloads.fetch_rows`` for rows without Django's
    converters); items are model instances or dicts with the sort fields.
    """
    keys = SORT_KEYS[sort]
    current = Cursor.decode(cursor, sort=sort) if cursor else None
    if current is None or current.forward:
        rows = queryset.order_by(*keys)
        if current is not None:
            rows = rows.filter(_after_q(keys, current.position, forward=True))
        items = fetch(rows[: page_size + 1])
        has_next, has_previous = len(items) > page_size, current is not None
        items = items[:page_size]
    else:
        reversed_keys = tuple(k[1:] if k.startswith("-") else f"-{k}" for k in keys)
        rows = queryset.order_by(*reversed_keys).filter(_after_q(keys, current.position, forward=False))
        items = fetch(rows[: page_size + 1])
        has_next, has_previous = True, len(items) > page_size
        items = items[:page_size][::-1]

    def link(forward: bool) -> str | None:
        anchor = _position(items[-1] if forward else items[0], keys)
        return link_here(request, cursor=Cursor(anchor, forward).encode())

    # An empty page (everything past the cursor is gone) links nowhere; the first page is a
    # request without a cursor.
    return Page(
        items,
        next=link(True) if items and has_next else None,
        previous=link(False) if items and has_previous else None,
    )
