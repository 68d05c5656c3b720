"""Thread pages as cached bytes: the hot read of a breaking story.

A page of an article's thread, as anonymous readers get it, is stored as its JSON bytes and its
ETag under the article's version (``comments.versions``) and the path and query asked for (the
body holds ``next`` / ``previous`` links built from them; links carry no host, so neither does
the key). A change to anything the thread shows moves the version on commit, so no reader is
ever served a page older than a committed change; the entry itself is never updated, only
orphaned.

Anonymous requests that hit the cache are answered before DRF runs (no authentication,
throttling or parsing: the answer costs less than the throttle check would). Misses, and every
signed-in request, take the full API path with its throttles. Signed-in readers share the public
bytes too, with their likes and edit rights laid over them (``payloads.overlay_viewer``), unless
they have a pending comment in the thread, which only they see: then their page is built for them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse

from comments import conf, versions
from comments.api.conditional import bytes_response

PUBLIC_VARY = "Origin, Cookie, X-Session-Token, Authorization"
# Pages a process keeps beside the shared cache (see RecentAnswers).
recent_pages = versions.RecentAnswers(size=64)


def etag_of(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'


def sends_credentials(request) -> bool:
    """Whether the request might be a signed-in reader's (then it never takes the anonymous path)."""
    meta = request.META
    return (settings.SESSION_COOKIE_NAME in request.COOKIES or "HTTP_X_SESSION_TOKEN" in meta
            or "HTTP_AUTHORIZATION" in meta
            or hasattr(request, "_force_auth_user"))  # DRF's test client signs in this way


def _key(request, article_key: str, version: str) -> str:
    url = hashlib.blake2b(request.get_full_path().encode(), digest_size=16).hexdigest()
    return f"comments:page:{article_key}:{version}:{url}"


def respond(request, etag: str, body: bytes, *, public: bool) -> HttpResponse:
    """200 with ``body``, or 304 when the client holds it already."""
    if public:
        max_age = conf.shared_max_age()
        cache_control = f"public, max-age=0, s-maxage={max_age}" if max_age else "public, no-cache"
    else:
        cache_control = "private, no-cache"
    return bytes_response(request, etag, body, cache_control=cache_control, vary=PUBLIC_VARY)


def cached_public_page(request, article_key: str) -> HttpResponse | None:
    """The anonymous answer straight from the cache, or None (then take the full path)."""
    if not conf.read_cache() or sends_credentials(request):
        return None
    version = versions.peek(article_key)
    if version is None:
        return None
    key = _key(request, article_key, version)
    entry = recent_pages.get(key)
    if entry is None:
        entry = cache.get(key)
        if entry is None:
            return None
        recent_pages.put(key, entry)
    return respond(request, *entry, public=True)


def public_page(request, article_key: str, version: str, build: Callable[[], bytes]) -> tuple[str, bytes]:
    """(etag, body) of the public page at ``version``: from the cache, or built and stored.

    ``version`` must have been read before ``build`` reads the database.
    """
    key = _key(request, article_key, version)
    if conf.read_cache():
        entry = recent_pages.get(key) or cache.get(key)
        if entry is not None:
            recent_pages.put(key, entry)
            return entry
    body = build()
    entry = (etag_of(body), body)
    if conf.read_cache():
        cache.set(key, entry, timeout=conf.read_cache_ttl())
        recent_pages.put(key, entry)
    return entry
