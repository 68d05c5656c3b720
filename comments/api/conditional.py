"""Answers of cached bytes with an ETag: 304 when the client holds them already (RFC 9110 §13.1.2)."""

import contextlib
import time

from django.http import HttpResponse, HttpResponseNotModified

from comments import conf


def etag_matches(if_none_match: str, etag: str) -> bool:
    """Weak comparison (RFC 9110 §13.1.2): W/"x" and "x" name the same representation."""
    if not if_none_match:
        return False
    wanted = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in wanted or etag.removeprefix("W/") in wanted


def bytes_response(request, etag: str, body: bytes, *, cache_control: str, vary: str) -> HttpResponse:
    """200 with the JSON ``body``, or 304 when ``If-None-Match`` names ``etag``."""
    if etag_matches(request.META.get("HTTP_IF_NONE_MATCH", ""), etag):
        response = HttpResponseNotModified()
    else:
        response = HttpResponse(body, content_type="application/json")
    response["ETag"] = etag
    response["Cache-Control"] = cache_control
    response["Vary"] = vary
    return response


class RecentAnswers:
    """The answers (ETag, bytes) a process served lately, beside the shared cache: a hit skips a
    round trip to it (and copying a large page out of Redis). Keys must hold the version read
    from the shared cache on every request, so a kept answer is never served after a change;
    entries also expire after ``COMMENTS_READ_CACHE_TTL``. Oldest out first past ``size``."""

    def __init__(self, size: int):
        self.size = size
        self._entries: dict[str, tuple[float, tuple[str, bytes]]] = {}

    def get(self, key: str) -> tuple[str, bytes] | None:
        deadline, answer = self._entries.get(key, (0.0, None))
        return answer if deadline > time.monotonic() else None

    def put(self, key: str, answer: tuple[str, bytes]) -> None:
        self._entries[key] = (time.monotonic() + conf.read_cache_ttl(), answer)
        while len(self._entries) > self.size:
            with contextlib.suppress(KeyError, RuntimeError, StopIteration):  # another thread evicted it
                del self._entries[next(iter(self._entries))]

    def clear(self) -> None:
        self._entries.clear()
