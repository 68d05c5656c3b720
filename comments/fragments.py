"""Cached renderings of single threads: a top-level comment and its shown replies, as the
public sees them, in JSON bytes.

A page of an article's thread is its top-level comments' renderings side by side. Any change
moves the article's version and orphans its cached pages (``comments.versions``); the first read
after it then rebuilds only the threads that changed and takes the others from here, instead of
building the whole page again (on a breaking story's 1,000-comment page: one thread of 200,
while readers keep commenting).

An entry is keyed by the top-level comment's id and ``thread_revision``, which services move in
the same transaction as any change to what the public sees of that thread, and by what else
shapes the bytes (the base of the replies links, ``COMMENTS_REPLIES_SHOWN``). Its bytes are built
from a read that starts after the revision was read, so they are never older than the revision
names; an entry is never updated, only orphaned, and expires after ``COMMENTS_READ_CACHE_TTL``.
Per-reader fields are not here: they are laid over the public page (``payloads.overlay_viewer``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from django.core.cache import cache

from comments import conf, payloads, versions
from comments.models import Comment

# Threads a process keeps beside the shared cache: a few hot articles' pages of 200 threads.
recent_threads = versions.RecentAnswers(size=4096)


def context_of(replies_link_base: str) -> str:
    """What besides a thread's revision shapes its bytes, as a short key part."""
    raw = f"{replies_link_base}|{conf.replies_shown()}".encode()
    return hashlib.blake2b(raw, digest_size=8).hexdigest()


def _key(row: dict, context: str) -> str:
    return f"comments:thread:{row['id']}:{row['thread_revision']}:{context}"


def public_threads(heads: Sequence[dict], *, article_key: str, context: str,
                   replies_link: payloads.RepliesLink | None) -> list[bytes]:
    """The public rendering of each top-level comment's thread, in order: JSON bytes of one node
    as ``payloads.threads`` builds it, cut after ``COMMENTS_REPLIES_SHOWN``, or ``b""`` for a
    thread with nothing shown. ``heads`` are rows with ``payloads.HEAD_FIELDS`` at least.

    Costs one shared-cache read for the threads this process does not hold, and, for those the
    cache does not hold either, two queries (their top-level rows, their replies) and one write
    to the cache.
    """
    keys = [_key(head, context) for head in heads]
    found: dict[str, bytes] = {}
    for key in keys:
        if (kept := recent_threads.get(key)) is not None:
            found[key] = kept
    missing = [key for key in keys if key not in found]
    if missing:
        found.update(cache.get_many(missing))
    if unbuilt := [head["id"] for head, key in zip(heads, keys, strict=True) if key not in found]:
        found.update(_build(unbuilt, {head["id"]: key for head, key in zip(heads, keys, strict=True)},
                            article_key=article_key, replies_link=replies_link))
    for key in missing:
        recent_threads.put(key, found[key])
    return [found[key] for key in keys]


def _build(ids: list[int], keys: dict[int, str], *, article_key: str,
           replies_link: payloads.RepliesLink | None) -> dict[str, bytes]:
    """Build the threads of these top-level comments and store them under their ``keys``."""
    rows = {row["id"]: row for row in payloads.fetch_rows(Comment.objects.filter(pk__in=ids))}
    nodes = payloads.threads([rows[pk] for pk in ids if pk in rows], article_key=article_key, viewer=None,
                             replies_shown=conf.replies_shown(), replies_link=replies_link)
    built = {node["id"]: payloads.dumps(node) for node in nodes}
    entries = {keys[pk]: built.get(pk, b"") for pk in ids}
    cache.set_many(entries, timeout=conf.read_cache_ttl())
    return entries


def page_bytes(header: dict, threads: Sequence[bytes]) -> bytes:
    """A page's JSON from its other fields (``count``, ``next``, ``previous``) and its threads'
    bytes: the same bytes as ``payloads.dumps({**header, "results": [...]})``."""
    return payloads.dumps(header)[:-1] + b',"results":[' + b",".join(t for t in threads if t) + b"]}"
