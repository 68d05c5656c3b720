"""Live comment counts: a batch count endpoint for news pages and a Server-Sent Events stream.

The stream is an async view: under ASGI an open stream holds no thread and no database
connection. It reads the article once (then closes the connection) and afterwards only waits
on the live broker (``comments.live``).
"""

import hashlib
import json
import re

from asgiref.sync import sync_to_async
from django.db import connection
from django.http import JsonResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from comments import conf, live
from comments.models import ARTICLE_KEY_PATTERN, Article

MAX_KEYS = 100
COUNTS_CACHE_CONTROL = "public, max-age=5"
RECONNECT_MS = 3000  # how long EventSource waits before reconnecting after a dropped stream
_key_re = re.compile(rf"{ARTICLE_KEY_PATTERN}\Z")


def _etag(counts: dict[str, int]) -> str:
    digest = hashlib.sha256(json.dumps(sorted(counts.items())).encode()).hexdigest()[:20]
    return f'W/"{digest}"'


def _matches(if_none_match: str, etag: str) -> bool:
    """Weak comparison (RFC 9110): W/"x" and "x" name the same counts."""
    wanted = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in wanted or etag.removeprefix("W/") in wanted


class CountsView(APIView):
    """Visible comment counts for up to 100 articles in one query, for every count on a page."""

    authentication_classes = []  # public numbers: no session lookup, so one SQL query in all
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="comment_counts",
        parameters=[OpenApiParameter("article", OpenApiTypes.STR, many=True, required=True,
                                     description=f"An article key; repeat for up to {MAX_KEYS} articles.")],
        responses={
            200: inline_serializer(
                "CommentCounts", {"counts": serializers.DictField(child=serializers.IntegerField())}
            ),
            304: OpenApiResponse(description="Unchanged since the ETag sent in If-None-Match."),
            400: OpenApiResponse(description="No key, an invalid key, or more than 100 keys."),
        },
    )
    def get(self, request):
        keys = list(dict.fromkeys(request.query_params.getlist("article")))
        if not keys:
            raise ValidationError({"article": ["Name at least one article key."]}, code="required")
        if len(keys) > MAX_KEYS:
            raise ValidationError({"article": [f"At most {MAX_KEYS} articles per request."]}, code="too_many_keys")
        invalid = [key for key in keys if not _key_re.match(key)]
        if invalid:
            raise ValidationError({"article": [f"Not an article key: {invalid[0][:50]!r}."]}, code="invalid_key")
        counts = dict.fromkeys(keys, 0)
        counts.update(Article.objects.filter(key__in=keys).values_list("key", "comment_count"))
        etag = _etag(counts)
        headers = {"ETag": etag, "Cache-Control": COUNTS_CACHE_CONTROL, "Vary": "Origin"}
        if _matches(request.headers.get("If-None-Match", ""), etag):
            return Response(status=304, headers=headers)
        return Response({"counts": counts}, headers=headers)


def _error(status: int, detail: str, code: str, **headers) -> JsonResponse:
    response = JsonResponse({"detail": detail, "code": code}, status=status)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def _visible_count(key: str) -> int | None:
    """The article's count, or None if unknown; the connection is closed so the stream holds none."""
    try:
        return Article.objects.filter(key=key).values_list("comment_count", flat=True).first()
    finally:
        if not connection.in_atomic_block:
            connection.close()


def _resume_after(request) -> int | None:
    """The Last-Event-ID header, or ``last_event_id`` for EventSource polyfills; garbage is ignored."""
    value = request.headers.get("Last-Event-ID") or request.GET.get("last_event_id") or ""
    return int(value) if value.isascii() and value.isdigit() and len(value) < 19 else None


@csrf_exempt  # read-only: other methods get a JSON 405, not the HTML CSRF page
async def article_events(request, key: str):
    """``GET /api/v1/articles/{key}/events/``: ``count``, ``comment``, ``edit`` and ``remove`` events."""
    if request.method != "GET":
        return _error(405, f'Method "{request.method}" not allowed.', "method_not_allowed", Allow="GET")
    if not _key_re.match(key):
        return _error(404, "No such article.", "not_found")
    broker = live.broker()
    try:
        # Taken before the count is read, so every later change is replayed or streamed.
        last_id = await broker.last_id(key)
    except live.BrokerUnavailableError:
        return _error(503, "Live updates are unavailable; poll /api/v1/counts/ instead.", "live_unavailable",
                      Retry_After="30")
    count = await sync_to_async(_visible_count)(key)
    if count is None:
        return _error(404, "No such article.", "not_found")
    response = StreamingHttpResponse(
        _stream(broker, key, count=count, last_id=last_id, resume_after=_resume_after(request)),
        content_type="text/event-stream; charset=utf-8",
    )
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx: pass events through at once
    return response


async def _stream(broker, key: str, *, count: int, last_id: int, resume_after: int | None):
    """The current count first (as of ``last_id``), then what the client missed, then live events.

    Events the client missed are replayed from the broker's buffer; a resume id from another
    id sequence (a restarted server, an expired buffer) counts as none. A ``count`` older than
    the newest one sent is dropped, so the last count a reader sees is the exact one.
    """
    after = last_id if resume_after is None or resume_after > last_id else resume_after
    yield f"retry: {RECONNECT_MS}\n\n".encode()
    async with broker.subscribe(key) as subscription:
        try:
            replayed = await broker.replay(key, after)
        except live.BrokerUnavailableError:
            replayed = []
        missed = [e.frame for e in replayed if e.id <= last_id and e.kind != "count"]
        newest_count = max([last_id, *(e.id for e in replayed if e.kind == "count")])
        current = live.count_event(last_id, article_key=key, count=count).frame
        yield b"".join([*missed, current, *(e.frame for e in replayed if e.id > last_id)])
        already_sent = {e.id for e in replayed}
        async for batch in subscription.batches(conf.sse_heartbeat()):
            if batch is None:
                yield live.HEARTBEAT
                continue
            frames = []
            for event in batch:
                if event.id in already_sent or (event.kind == "count" and event.id < newest_count):
                    continue
                if event.kind == "count":
                    newest_count = event.id
                frames.append(event.frame)
            if frames:
                yield b"".join(frames)


def document_event_stream(result, generator, request, public):
    """drf-spectacular hook: the stream is a plain async Django view, so describe it by hand."""
    result.setdefault("paths", {})["/api/v1/articles/{key}/events/"] = {"get": {
        "operationId": "article_events",
        "summary": "Server-Sent Events for one article",
        "description": (
            "Events: `count` {article, count} whenever the visible count changes; `comment` {comment} when a "
            "comment becomes visible; `edit` {comment} when a visible comment's text changes; `remove` {id} "
            "when a visible comment is deleted, rejected or hidden. Every event has an `id`; a client that "
            "reconnects with `Last-Event-ID` (or `?last_event_id=`) gets what the buffer still holds. The "
            "stream starts with the current `count`. A heartbeat comment line comes at least every 20 s."
        ),
        "tags": ["api"],
        "parameters": [
            {"in": "path", "name": "key", "required": True, "schema": {"type": "string"}},
            {"in": "query", "name": "last_event_id", "required": False, "schema": {"type": "integer"},
             "description": "Resume after this event id (for EventSource polyfills that cannot set headers)."},
            {"in": "header", "name": "Last-Event-ID", "required": False, "schema": {"type": "integer"}},
        ],
        "responses": {
            "200": {"description": "An event stream.",
                    "content": {"text/event-stream": {"schema": {"type": "string"}}}},
            "404": {"description": "Unknown article."},
            "503": {"description": "Live updates unavailable (Redis down); poll /api/v1/counts/."},
        },
    }}
    return result
