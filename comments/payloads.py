"""The public form of a comment, as plain dicts: what the API returns, live events carry and the
read caches hold. One home for the shape of API.md's comment.

Threads are built from ``values()`` rows, never from a serializer per comment (DRF builds and
deep-copies every field of a nested serializer each time it is instantiated: 87 % of a
1,000-comment read went there). A page of threads costs two queries (its top-level comments,
then all their descendants through the ``root`` index) and a few milliseconds of Python.

Per-viewer fields (``liked``, ``can_edit``, ``can_delete``) and the viewer's own pending
comments are the only differences between readers. ``overlay_viewer`` adds the first three to a
public tree, so signed-in readers share the cached public page.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime

import orjson
from django.utils import timezone

from comments import conf
from comments.models import Comment, Like, public_name

# What a node is built from: one row of ``Comment.objects.values(*ROW_FIELDS)``.
ROW_FIELDS = (
    "id", "parent_id", "root_id", "in_reply_to_id", "depth", "author_id", "author__display_name",
    "body_html", "created_at", "edited_at", "status", "is_deleted", "like_count", "reply_count",
)
APPROVED, PENDING = Comment.Status.APPROVED, Comment.Status.PENDING
EDITABLE = {APPROVED, PENDING}


def dumps(data) -> bytes:
    """JSON bytes as the API sends them: UTF-8, compact."""
    return orjson.dumps(data)


def loads(data: bytes):
    return orjson.loads(data)


def timestamp(value: datetime | None, tz=None) -> str | None:
    """RFC 3339 in the site's time zone (``tz``: the current one), exactly as DRF's
    DateTimeField renders it."""
    if value is None:
        return None
    text = value.astimezone(tz or timezone.get_current_timezone()).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _viewer_id(viewer) -> int | None:
    return viewer.pk if viewer is not None and viewer.is_authenticated else None


def _visible_to(row: dict, viewer_id: int | None) -> bool:
    if row["is_deleted"]:
        return False
    return row["status"] == APPROVED or (row["status"] == PENDING and viewer_id is not None
                                         and row["author_id"] == viewer_id)


def _node(row: dict, *, article_key: str, tombstone: bool, viewer_id: int | None, liked: set[int],
          edit_cutoff: datetime, tz) -> dict:
    """One comment in API.md's shape (``replies`` filled by the caller)."""
    own = not tombstone and viewer_id is not None and row["author_id"] == viewer_id
    return {
        "id": row["id"],
        "article": article_key,
        "parent": row["parent_id"],
        "in_reply_to": row["in_reply_to_id"],
        "depth": row["depth"],
        "author": None if tombstone else {
            "id": row["author_id"], "display_name": public_name(row["author_id"], row["author__display_name"]),
        },
        "body_html": "" if tombstone else row["body_html"],
        "created_at": timestamp(row["created_at"], tz),
        "edited_at": timestamp(row["edited_at"], tz),
        "status": "deleted" if tombstone else row["status"],
        "is_deleted": tombstone,
        "like_count": row["like_count"],
        "liked": row["id"] in liked,
        "reply_count": row["reply_count"],
        # A tombstone is out of its author's hands too: the API answers 404 for it.
        "can_edit": own and row["status"] in EDITABLE and row["created_at"] > edit_cutoff,
        "can_delete": own,
        "replies": [],
    }


def _liked_ids(viewer_id: int | None, ids: Sequence[int]) -> set[int]:
    if viewer_id is None or not ids:
        return set()
    return set(Like.objects.filter(reader_id=viewer_id, comment_id__in=ids).values_list("comment_id", flat=True))


def build_threads(tops: Sequence[dict], descendants: Iterable[dict], *, article_key: str, viewer) -> list[dict]:
    """Nest ``descendants`` (rows, oldest first) under ``tops`` (rows, in page order).

    A hidden comment (deleted, removed, or pending for someone else) stays only while a shown
    reply hangs below it, and then as a tombstone. Costs one query (the viewer's likes) when
    the viewer is signed in, none otherwise.
    """
    viewer_id = _viewer_id(viewer)
    children: dict[int, list[dict]] = defaultdict(list)
    descendants = list(descendants)
    for row in descendants:
        children[row["parent_id"]].append(row)
    liked = _liked_ids(viewer_id, [r["id"] for r in tops] + [r["id"] for r in descendants])
    edit_cutoff = timezone.now() - conf.edit_window()
    tz = timezone.get_current_timezone()  # once: each lookup goes through a thread-local

    def build(row: dict) -> dict | None:
        replies = [node for child in children.get(row["id"], ()) if (node := build(child)) is not None]
        tombstone = not _visible_to(row, viewer_id)
        if tombstone and not replies:
            return None
        node = _node(row, article_key=article_key, tombstone=tombstone, viewer_id=viewer_id, liked=liked,
                     edit_cutoff=edit_cutoff, tz=tz)
        node["replies"] = replies
        return node

    return [node for row in tops if (node := build(row)) is not None]


def descendant_rows(root_ids: Sequence[int]) -> list[dict]:
    """Every comment below these top-level comments, oldest first: one query on the ``root`` index."""
    if not root_ids:
        return []
    return list(
        Comment.objects.filter(root_id__in=root_ids).order_by("created_at", "id").values(*ROW_FIELDS)
    )


def threads(tops: Sequence[dict], *, article_key: str, viewer) -> list[dict]:
    """A page of top-level rows with their shown subtrees: one query for the subtrees, one for likes."""
    tops = list(tops)
    return build_threads(tops, descendant_rows([row["id"] for row in tops]), article_key=article_key, viewer=viewer)


def comment(comment_id: int, *, viewer) -> dict | None:
    """One comment with its shown subtree as ``viewer`` sees it, or None if they may not see it.

    Two queries: the comment's thread (all of it, through the ``root`` index), the viewer's likes.
    """
    head = Comment.objects.filter(pk=comment_id).values(*ROW_FIELDS, "article__key").first()
    if head is None:
        return None
    thread_root = head["root_id"] or head["id"]
    rows = [row for row in descendant_rows([thread_root]) if row["id"] != head["id"]]
    nodes = build_threads([head], rows, article_key=head["article__key"], viewer=viewer)
    return nodes[0] if nodes else None


def new_comment(instance: Comment, *, article_key: str, author_name: str) -> dict:
    """A comment its author just posted or edited, from the instance in hand: no query."""
    row = {name: getattr(instance, name) for name in ROW_FIELDS if "__" not in name}
    row["author__display_name"] = author_name
    viewer_id = instance.author_id
    tombstone = not _visible_to(row, viewer_id)
    return _node(row, article_key=article_key, tombstone=tombstone, viewer_id=viewer_id, liked=set(),
                 edit_cutoff=timezone.now() - conf.edit_window(), tz=timezone.get_current_timezone())


# --- Per-viewer overlay on a shared public tree ----------------------------------------------------


def _walk(nodes: Iterable[dict]):
    for node in nodes:
        yield node
        yield from _walk(node["replies"])


def overlay_viewer(nodes: list[dict], *, viewer) -> list[dict]:
    """Fill ``liked``, ``can_edit`` and ``can_delete`` of a public tree (as anonymous readers get
    it) for a signed-in ``viewer``, in place: one query for the viewer's likes.

    Only valid when the viewer has no pending comment in these threads (the caller checks):
    then the viewer sees exactly the public tree.
    """
    viewer_id = _viewer_id(viewer)
    if viewer_id is None:
        return nodes
    every = list(_walk(nodes))
    liked = _liked_ids(viewer_id, [node["id"] for node in every])
    edit_cutoff = timezone.now() - conf.edit_window()
    for node in every:
        node["liked"] = node["id"] in liked
        author = node["author"]
        if author is not None and author["id"] == viewer_id:
            node["can_delete"] = True
            node["can_edit"] = (node["status"] in EDITABLE
                                and datetime.fromisoformat(node["created_at"]) > edit_cutoff)
    return nodes
