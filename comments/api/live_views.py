"""Live comment counts: a batch count endpoint for news pages and Server-Sent Events streams.

The counts endpoint is a plain Django view answering from cached bytes (no DRF, no
authentication, no session): it is the most requested URL of a news site. The streams are async
views: under ASGI an open stream holds no thread and no database connection. A stream reads the
database when it opens (then closes the connection) and afterwards only waits on the live
broker (``comments.live``).
"""

import functools
import hashlib
import json
import re
import sys
from urllib.parse import unquote_plus

import orjson
from asgiref.sync import sync_to_async
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt

from comments import conf, live, versions
from comments.api.conditional import bytes_response
from comments.models import ARTICLE_KEY_PATTERN, Article

MAX_KEYS = 100  # keys per counts request and per counts stream
COUNTS_CACHE_CONTROL = "public, max-age=5"
RECONNECT_MS = 3000  # how long EventSource waits before reconnecting after a dropped stream
_key_re = re.compile(rf"{ARTICLE_KEY_PATTERN}\Z")
_keys_re = re.compile(rf"{ARTICLE_KEY_PATTERN}(?:\n{ARTICLE_KEY_PATTERN})*\Z")  # keys joined by newlines


def _error(status: int, detail: str, code: str, fields: dict | None = None, **headers) -> JsonResponse:
    body = {"detail": detail, "code": code}
    if fields:
        body["fields"] = fields
    response = JsonResponse(body, status=status)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def _method_not_allowed(request) -> JsonResponse:
    return _error(405, f'Method "{request.method}" not allowed.', "method_not_allowed", Allow="GET")


@functools.cache
def _field_re(name: str) -> re.Pattern:
    """Every value of field ``name`` in a query string with nothing to decode ("name" alone is blank)."""
    return re.compile(rf"(?:^|&){re.escape(name)}(?:=([^&]*))?(?=&|$)")


def _query_values(query_string: str, name: str) -> list[str]:
    """``request.GET.getlist(name)``, read straight from the query string.

    Same decoding as Django's QueryDict (``parse_qsl`` with blank values kept, ``+`` and %-escapes
    decoded as UTF-8 with replacement), without building a QueryDict of every field: for 50
    keys that took longer than the rest of the counts request.
    """
    if "%" not in query_string and "+" not in query_string:  # nothing to decode: the usual case
        return _field_re(name).findall(query_string)
    values = []
    for part in query_string.split("&"):
        field_name, _, value = part.partition("=")
        if unquote_plus(field_name, errors="replace") == name:
            values.append(unquote_plus(value, errors="replace"))
    return values


def _all_keys_valid(keys: list[str]) -> bool:
    """One regex match for all keys (they are joined by newlines, which no valid key holds)."""
    joined = "\n".join(keys)
    return joined.count("\n") == len(keys) - 1 and _keys_re.match(joined) is not None


def _article_keys(request) -> tuple[list[str], JsonResponse | None]:
    """The distinct ``article`` keys of the query, or a 400 in the API's shape: 1 to ``MAX_KEYS``
    parameters, repeats counted (the schema's ``maxItems``, which cannot count distinct values)."""
    values = _query_values(request.META.get("QUERY_STRING", ""), "article")
    keys = list(dict.fromkeys(values))
    if not keys:
        message, code = "Name at least one article key.", "required"
    elif len(values) > MAX_KEYS:
        message, code = f"At most {MAX_KEYS} articles per request.", "too_many_keys"
    elif not _all_keys_valid(keys):
        invalid = next(key for key in keys if not _key_re.match(key))
        message, code = f"Not an article key: {invalid[:50]!r}.", "invalid_key"
    else:
        return keys, None
    return keys, _error(400, "Invalid input.", code, {"article": [message]})


def _etag(counts: dict[str, int]) -> str:
    """A hash of the numbers themselves: unchanged counts keep their ETag across version moves."""
    digest = hashlib.sha256(json.dumps(sorted(counts.items())).encode()).hexdigest()[:20]
    return f'W/"{digest}"'


def _visible_counts(keys: list[str]) -> dict[str, int]:
    """Every key's public count in one query, sorted by key; unknown keys count 0."""
    counts = dict.fromkeys(sorted(keys), 0)
    counts.update(Article.objects.filter(key__in=keys).values_list("key", "comment_count"))
    return counts


# Answers a process keeps beside the shared cache: about 1 KiB each for 50 keys.
recent_answers = versions.RecentAnswers(size=256)


def _counts_answer(keys: list[str]) -> tuple[str, bytes]:
    """(ETag, body) for this key set, cached under the counts version read before the database.

    A version move (any count changed, see ``comments.versions``) makes a new cache key, so an
    answer built from an older snapshot is never served once the change committed. The process
    also keeps its latest answers (one version, one answer), which spares a cache round trip;
    like the shared entries they live ``COMMENTS_READ_CACHE_TTL`` at most, which bounds the
    staleness if a version move was lost (Redis unreachable at that moment).
    """
    digest = hashlib.sha256("\n".join(sorted(keys)).encode()).hexdigest()
    cache_key = f"comments:counts:{versions.counts_version()}:{digest}"
    answer = recent_answers.get(cache_key)
    if answer is not None:
        return answer
    ttl = conf.read_cache_ttl()
    answer = cache.get(cache_key)
    if answer is None:
        counts = _visible_counts(keys)
        answer = (_etag(counts), orjson.dumps({"counts": counts}))
        cache.set(cache_key, answer, ttl)
    recent_answers.put(cache_key, answer)
    return answer


@csrf_exempt  # read-only: other methods get a JSON 405, not the HTML CSRF page
def counts(request):
    """``GET /api/v1/counts/?article=k1&article=k2...``: ``{"counts": {"k1": 3, "k2": 0}}``.

    Up to ``MAX_KEYS`` keys (400 ``too_many_keys`` beyond, ``required`` for none, ``invalid_key``
    for a malformed one); unknown keys count 0. ``If-None-Match`` with the current ETag answers
    304 without touching the database when the answer is cached.
    """
    if request.method not in ("GET", "HEAD"):
        return _method_not_allowed(request)
    keys, error = _article_keys(request)
    if error is not None:
        return error
    etag, body = _counts_answer(keys)
    return bytes_response(request, etag, body, cache_control=COUNTS_CACHE_CONTROL, vary="Origin")


def _visible_count(key: str) -> int | None:
    """The article's count, or None if unknown; the connection is closed so the stream holds none."""
    try:
        return Article.objects.filter(key=key).values_list("comment_count", flat=True).first()
    finally:
        if not connection.in_atomic_block:
            connection.close()


def _visible_counts_and_close(keys: list[str]) -> dict[str, int]:
    try:
        return _visible_counts(keys)
    finally:
        if not connection.in_atomic_block:
            connection.close()


def _resume_after(request) -> int | None:
    """The Last-Event-ID header, or ``last_event_id`` for EventSource polyfills; garbage is ignored."""
    value = request.headers.get("Last-Event-ID") or request.GET.get("last_event_id") or ""
    return int(value) if value.isascii() and value.isdigit() and len(value) < 19 else None


def _unavailable() -> JsonResponse:
    return _error(503, "Live updates are unavailable; poll /api/v1/counts/ instead.", "live_unavailable",
                  Retry_After="30")


def _event_stream(body) -> StreamingHttpResponse:
    response = StreamingHttpResponse(body, content_type="text/event-stream; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx: pass events through at once
    return response


@csrf_exempt  # read-only: other methods get a JSON 405, not the HTML CSRF page
async def article_events(request, key: str):
    """``GET /api/v1/articles/{key}/events/``: ``count``, ``comment``, ``edit`` and ``remove`` events."""
    if request.method != "GET":
        return _method_not_allowed(request)
    if not _key_re.match(key):
        return _error(404, "No such article.", "not_found")
    broker = live.broker()
    try:
        # Taken before the count is read, so every later change is replayed or streamed.
        last_id = await broker.last_id(key)
    except live.BrokerUnavailableError:
        return _unavailable()
    count = await sync_to_async(_visible_count)(key)
    if count is None:
        return _error(404, "No such article.", "not_found")
    return _event_stream(_stream(broker, key, count=count, last_id=last_id, resume_after=_resume_after(request)))


async def _stream(broker, key: str, *, count: int, last_id: int, resume_after: int | None):
    """The current count first (as of ``last_id``), then what the client missed, then live events.

    Events the client missed are replayed from the broker's buffer; a resume id from another
    id sequence (a restarted server, an expired buffer) counts as none. A ``count`` older than
    the newest one sent is dropped, so the last count a reader sees is the exact one.
    """
    after = last_id if resume_after is None or resume_after > last_id else resume_after
    yield f"retry: {RECONNECT_MS}\n\n".encode()
    async with broker.subscribe([key]) as subscription:
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


@csrf_exempt  # read-only: other methods get a JSON 405, not the HTML CSRF page
async def counts_events(request):
    """``GET /api/v1/counts/events/?article=k1&article=k2...``: ``count`` events for a list of articles.

    Same keys and 400s as ``counts``; 503 ``live_unavailable`` when the broker is down (the page
    polls ``/api/v1/counts/`` instead). Every (re)connection starts with the current count of
    every key, then streams live ``count`` events: a count is state, the newest supersedes all
    earlier ones, so this is exact without replaying each article's buffer, and ``Last-Event-ID``
    is not needed (it is ignored).
    """
    if request.method != "GET":
        return _method_not_allowed(request)
    keys, error = _article_keys(request)
    if error is not None:
        return error
    # The stream lives for hours: every page following the same articles shares one copy of their keys.
    keys = [sys.intern(key) for key in keys]
    broker = live.broker()
    try:
        # Taken before the counts are read: an event at or below these ids is already in them.
        floors = await broker.last_ids(keys)
    except live.BrokerUnavailableError:
        return _unavailable()
    return _event_stream(_count_stream(broker, keys, floors))


async def _count_stream(broker, keys: list[str], floors: dict[str, int]):
    """Subscribe first, then read the counts: a change committed in between is in both, never in neither.

    One subscription for all keys (no task per key). A count event is sent only if its id is
    above the key's floor (the id the initial count stands for) and above the last count sent for
    the key, so an older count (two commits publishing out of order) never follows a newer one.
    With one id sequence for all articles (the database broker) the floors are one number.
    """
    yield f"retry: {RECONNECT_MS}\n\n".encode()
    floor = floors[keys[0]] if len(set(floors.values())) == 1 else None
    newest: dict[str, int] = {} if floor is not None else floors  # per key, only once it moved
    async with broker.subscribe(keys, live.COUNTS_ONLY) as subscription:
        counts = await sync_to_async(_visible_counts_and_close, thread_sensitive=False)(keys)
        yield b"".join(live.count_event(floors[key], article_key=key, count=n).frame for key, n in counts.items())
        del counts, floors
        async for batch in subscription.batches(conf.sse_heartbeat()):
            if batch is None:
                yield live.HEARTBEAT
                continue
            frames = []
            for event in batch:
                if event.id > newest.get(event.article, floor or 0):
                    newest[event.article] = event.id
                    frames.append(event.frame)
            if frames:
                yield b"".join(frames)


_KEYS_PARAMETER = {
    "in": "query", "name": "article", "required": True, "style": "form", "explode": True,
    "schema": {"type": "array", "items": {"type": "string", "pattern": f"^{ARTICLE_KEY_PATTERN}$"},
               "minItems": 1, "maxItems": MAX_KEYS},
    "description": f"An article key; repeat for up to {MAX_KEYS} articles.",
}
_ERROR = {"$ref": "#/components/schemas/LiveError"}
_ERROR_SCHEMA = {
    "type": "object", "required": ["detail", "code"],
    "properties": {
        "detail": {"type": "string"}, "code": {"type": "string"},
        "fields": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
    },
}
_BAD_KEYS = {"description": f"No key (`required`), an invalid key (`invalid_key`) or more than {MAX_KEYS} keys "
                            "(`too_many_keys`).", "content": {"application/json": {"schema": _ERROR}}}
_UNAVAILABLE = {"description": "Live updates unavailable (the broker is down): poll /api/v1/counts/.",
                "headers": {"Retry-After": {"schema": {"type": "integer"}}},
                "content": {"application/json": {"schema": _ERROR}}}
_STREAM = {"description": "An event stream.", "content": {"text/event-stream": {"schema": {"type": "string"}}}}


def document_event_stream(result, generator, request, public):
    """drf-spectacular hook: the counts and stream views are plain Django views, so describe them by hand."""
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components["CommentCounts"] = {
        "type": "object", "required": ["counts"],
        "properties": {"counts": {"type": "object", "additionalProperties": {"type": "integer"}}},
    }
    components["LiveError"] = _ERROR_SCHEMA
    paths = result.setdefault("paths", {})
    paths["/api/v1/counts/"] = {"get": {
        "operationId": "comment_counts",
        "summary": "Visible comment counts of up to 100 articles",
        "description": (
            "`{counts: {key: n}}` for every key asked (unknown keys count 0): the number of approved, "
            "undeleted comments. Send the `ETag` back in `If-None-Match` to get 304 while the counts are "
            "unchanged. Cacheable for 5 s."
        ),
        "tags": ["api"],
        "parameters": [_KEYS_PARAMETER,
                       {"in": "header", "name": "If-None-Match", "required": False, "schema": {"type": "string"}}],
        "responses": {
            "200": {"description": "The counts.", "headers": {"ETag": {"schema": {"type": "string"}}},
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CommentCounts"}}}},
            "304": {"description": "Unchanged since the ETag sent in If-None-Match."},
            "400": _BAD_KEYS,
        },
    }}
    paths["/api/v1/counts/events/"] = {"get": {
        "operationId": "counts_events",
        "summary": "Server-Sent Events: the counts of a list of articles",
        "description": (
            f"One stream for every count on a list page (up to {MAX_KEYS} keys, the same rules as "
            "/api/v1/counts/). It starts with a `count` {article, count} event for every key (unknown "
            "keys count 0), then sends one whenever a followed article's visible count changes. A count "
            "is state: the newest supersedes all earlier ones, so a reconnecting client simply gets the "
            "current counts again; there is no per-article replay and `Last-Event-ID` is ignored. A "
            "heartbeat comment line comes at least every 20 s. On 503 (or a dropped stream) poll "
            "/api/v1/counts/ until the stream is back."
        ),
        "tags": ["api"],
        "parameters": [_KEYS_PARAMETER],
        "responses": {"200": _STREAM, "400": _BAD_KEYS, "503": _UNAVAILABLE},
    }}
    paths["/api/v1/articles/{key}/events/"] = {"get": {
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
            "200": _STREAM,
            "404": {"description": "Unknown article.", "content": {"application/json": {"schema": _ERROR}}},
            "503": _UNAVAILABLE,
        },
    }}
    return result
