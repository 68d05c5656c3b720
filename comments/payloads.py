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

import base64
import binascii
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime

import orjson
from django.db import connection
from django.db.models import TextField
from django.db.models.functions import Cast
from django.utils import timezone

from comments import conf, readers
from comments.models import MAX_ID, Comment, Like
from comments.querysets import visible_q

# What a node is built from: one row of ``Comment.objects.values(*ROW_FIELDS)``, plus the
# author's public name (``AUTHOR_NAME``, set by ``readers.name_rows``: under the default rule, from
# the profile's display name joined in the same query; never the email or the username).
AUTHOR_NAME, PROFILE_NAME = "author_name", "author__comments_profile__display_name"
ROW_FIELDS = (
    "id", "parent_id", "root_id", "in_reply_to_id", "depth", "author_id", PROFILE_NAME,
    "body_html", "created_at", "edited_at", "status", "is_deleted", "like_count", "reply_count",
    "thread_revision",
)
APPROVED, PENDING = Comment.Status.APPROVED, Comment.Status.PENDING
EDITABLE = {APPROVED, PENDING}


def dumps(data) -> bytes:
    """JSON bytes as the API sends them: UTF-8, compact."""
    return orjson.dumps(data)


def loads(data: bytes):
    return orjson.loads(data)


def timestamp(value: datetime | None) -> str | None:
    """RFC 3339 in UTC ("2026-11-29T13:45:00.123456Z"), as the whole API writes times
    (``ApiView`` renders DRF's fields in UTC too); readers' screens show them in their zone."""
    if value is None:
        return None
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.isoformat()[:-6] + "Z"  # isoformat ends in "+00:00" once in UTC


# SQLite keeps a datetime as its UTC text, "2026-11-29 13:45:00.123456" (Django's adapter:
# ``str()`` of the naive UTC value, so no fraction when it is zero, as ``isoformat`` does).
_SQLITE_TIMES = {"created_at", "edited_at"}


def _sqlite_time(text: str | None) -> str | None:
    """SQLite's stored text of a datetime in the API's form: "2026-11-29T13:45:00.123456Z"."""
    return None if text is None else f"{text[:10]}T{text[11:]}Z"


def fetch_rows(queryset, *, fields: tuple[str, ...] = ROW_FIELDS, extra: tuple[str, ...] = ()) -> list[dict]:
    """The rows of ``queryset`` (comments, ordered and sliced as the caller likes), as
    ``values(*fields, *extra)`` would give them but with the times as the API writes them
    (``timestamp``) and without Django's per-value converters: one query.

    A 1,000-comment thread spent more time in Django's converters (text to datetime, made aware,
    then written back as text) and the ``values()`` dict building than in the query. On SQLite
    the times are selected as the text the database holds and rewritten in place; PostgreSQL's
    driver parses them in C, and ``timestamp`` writes them. ``is_deleted`` comes as 0 / 1 from
    SQLite. Use ``row_time`` where a datetime is needed (sort keys, the edit window).
    """
    names = fields + extra
    times = [name for name in names if name in _SQLITE_TIMES]
    sqlite = connection.vendor == "sqlite"
    if sqlite:
        queryset = queryset.annotate(**{f"_{name}_text": Cast(name, TextField()) for name in times})
        selected = tuple(f"_{name}_text" if name in _SQLITE_TIMES else name for name in names)
    else:
        selected = names
    sql, params = queryset.values_list(*selected).query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    write = _sqlite_time if sqlite else timestamp
    for row in rows:
        for name in times:
            if row[name] is not None:
                row[name] = write(row[name])
        if sqlite and "is_deleted" in row:
            row["is_deleted"] = bool(row["is_deleted"])
    return rows


# What a page needs of a top-level comment to find its cached thread (``comments.fragments``):
# its id, its thread's revision and its sort keys (``querysets.SORT_ORDERS``).
HEAD_FIELDS = ("id", "thread_revision", "created_at", "like_count")


def row_time(text: str) -> datetime:
    """The aware datetime of a row's or a node's time (``timestamp``'s text)."""
    return datetime.fromisoformat(text)


def _named(rows: list[dict]) -> list[dict]:
    """Give each row its author's public name (``AUTHOR_NAME``), in place: see ``readers.name_rows``."""
    return readers.name_rows(rows, id_key="author_id", display_key=PROFILE_NAME, name_key=AUTHOR_NAME)


def _viewer_id(viewer) -> int | None:
    return viewer.pk if viewer is not None and viewer.is_authenticated else None


def _visible_to(row: dict, viewer_id: int | None) -> bool:
    if row["is_deleted"]:
        return False
    return row["status"] == APPROVED or (row["status"] == PENDING and viewer_id is not None
                                         and row["author_id"] == viewer_id)


def _node(row: dict, *, article_key: str, tombstone: bool, viewer_id: int | None, liked: set[int],
          edit_cutoff: datetime) -> dict:
    """One comment in API.md's shape (``replies`` filled by the caller)."""
    own = not tombstone and viewer_id is not None and row["author_id"] == viewer_id
    return {
        "id": row["id"],
        "article": article_key,
        "parent": row["parent_id"],
        "in_reply_to": row["in_reply_to_id"],
        "depth": row["depth"],
        "author": None if tombstone else {
            "id": row["author_id"], "display_name": row[AUTHOR_NAME],
        },
        "body_html": "" if tombstone else row["body_html"],
        "created_at": row["created_at"],
        "edited_at": row["edited_at"],
        "status": "deleted" if tombstone else row["status"],
        "is_deleted": tombstone,
        "like_count": row["like_count"],
        "liked": row["id"] in liked,
        "reply_count": row["reply_count"],
        # A tombstone is out of its author's hands too: the API answers 404 for it.
        "can_edit": own and row["status"] in EDITABLE and row_time(row["created_at"]) > edit_cutoff,
        "can_delete": own,
        "replies": [],
        # Set on the head of a cut subtree only (see ``build_threads``).
        "more_replies": None,
    }


def _liked_ids(viewer_id: int | None, ids: Sequence[int]) -> set[int]:
    """Which of ``ids`` the viewer liked: one range scan of the ``like_reader`` index (reader,
    comment) between the smallest and largest id, then kept if among ``ids``.

    Not ``comment_id IN (ids)``: a page of 1,000 comments made that a query of 1,000 parameters,
    which Django prepares one by one and psycopg re-parses on every request (it caches only short
    statements): most of a signed-in read's time on PostgreSQL. The range holds only the
    viewer's own likes, a few rows however large the thread.
    """
    if viewer_id is None or not ids:
        return set()
    wanted = set(ids)
    likes = Like.objects.filter(reader_id=viewer_id, comment_id__gte=min(wanted), comment_id__lte=max(wanted))
    return wanted.intersection(likes.values_list("comment_id", flat=True))


# Where a subtree continues: ``link(comment_id, cursor)`` -> the URL of its next replies.
RepliesLink = Callable[[int, str], str]
# A node's place in its subtree: the (created_at, id) of each comment from the head's reply
# down to the node. Depth-first order, oldest first among siblings, is the order of these paths.
Path = tuple[tuple[datetime, int], ...]


def _build(tops: Sequence[dict], descendants: Iterable[dict], *, article_key: str, viewer) -> list[dict]:
    """The shown trees."""
    viewer_id = _viewer_id(viewer)
    children: dict[int, list[dict]] = defaultdict(list)
    descendants = list(descendants)
    _named([*tops, *descendants])
    for row in descendants:
        children[row["parent_id"]].append(row)
    liked = _liked_ids(viewer_id, [r["id"] for r in tops] + [r["id"] for r in descendants])
    edit_cutoff = timezone.now() - conf.edit_window()

    def build(row: dict) -> dict | None:
        replies = [node for child in children.get(row["id"], ()) if (node := build(child)) is not None]
        tombstone = not _visible_to(row, viewer_id)
        if tombstone and not replies:
            return None
        node = _node(row, article_key=article_key, tombstone=tombstone, viewer_id=viewer_id, liked=liked,
                     edit_cutoff=edit_cutoff)
        node["replies"] = replies
        return node

    return [node for row in tops if (node := build(row)) is not None]


def build_threads(tops: Sequence[dict], descendants: Iterable[dict], *, article_key: str, viewer,
                  replies_shown: int | None = None, replies_link: RepliesLink | None = None) -> list[dict]:
    """Nest ``descendants`` (rows, oldest first) under ``tops`` (rows, in page order).

    A hidden comment (deleted, removed, or pending for someone else) stays only while a shown
    reply hangs below it, and then as a tombstone. Costs one query (the viewer's likes) when
    the viewer is signed in, none otherwise.

    With ``replies_shown``, each top keeps only the first that many nodes of its subtree in
    depth-first order (see ``cut_at``), and a cut top says how many are left and where they
    continue: ``more_replies = {"count": n, "next": replies_link(id, cursor)}``.
    """
    nodes = _build(tops, descendants, article_key=article_key, viewer=viewer)
    if replies_shown is not None:
        for node in nodes:
            _cut(node, replies_shown, replies_link)
    return nodes


def _flat(nodes: Iterable[dict], path: Path = ()) -> Iterable[tuple[dict, Path]]:
    """Every node below, depth first, with its path."""
    for node in nodes:
        here = (*path, _key_of(node))
        yield node, here
        yield from _flat(node["replies"], here)


def cut_at(tombstones: Sequence[bool], start: int, limit: int) -> int:
    """Where a batch of at most ``limit`` nodes that starts at ``start`` of a depth-first
    sequence ends (exclusive), given which nodes of the sequence are tombstones.

    A tombstone is shown only for the replies below it: a batch never ends on one (it is left
    for the next batch, which holds its replies), unless the batch would be empty, and then it
    runs on to the first comment. The last node of a sequence is never a tombstone.
    """
    total = len(tombstones)
    end = min(start + max(limit, 1), total)
    while end - start > 1 and tombstones[end - 1]:
        end -= 1
    while end < total and tombstones[end - 1]:
        end += 1
    return end


def _size(nodes: list[dict]) -> int:
    return len(nodes) + sum(_size(node["replies"]) for node in nodes if node["replies"])


def _cut(head: dict, limit: int, link: RepliesLink | None) -> None:
    if _size(head["replies"]) <= limit:  # most threads: no paths to build
        return
    flat = list(_flat(head["replies"]))
    end = cut_at([node["is_deleted"] for node, _ in flat], 0, limit)
    kept = {node["id"] for node, _ in flat[:end]}
    for node in [head, *(node for node, _ in flat[:end])]:
        if node["replies"]:
            node["replies"] = [reply for reply in node["replies"] if reply["id"] in kept]
    cursor = encode_cursor(flat[end - 1][1])
    head["more_replies"] = {
        "count": len(flat) - end,
        "next": link(head["id"], cursor) if link is not None else None,
    }


def encode_cursor(path: Path) -> str:
    """An opaque position in a subtree: after the node at ``path``."""
    raw = ",".join(f"{created.astimezone(UTC).isoformat()}/{pk}" for created, pk in path)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(text: str) -> Path:
    """The path in a cursor from ``encode_cursor``; ValueError for anything else."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
        path = []
        for step in raw.split(","):
            created, pk = step.split("/")
            when = datetime.fromisoformat(created)
            if when.tzinfo is None or not pk.isdigit() or not 0 < int(pk) <= MAX_ID:
                raise ValueError(step)
            path.append((when.astimezone(UTC), int(pk)))
    except (binascii.Error, UnicodeDecodeError, OverflowError) as error:
        raise ValueError(text) from error
    if not path:
        raise ValueError(text)
    return tuple(path)


def descendant_rows(root_ids: Sequence[int]) -> list[dict]:
    """Every comment below these top-level comments, oldest first: one query on the ``root`` index."""
    if not root_ids:
        return []
    return fetch_rows(Comment.objects.filter(root_id__in=root_ids).order_by("created_at", "id"))


def threads(tops: Sequence[dict], *, article_key: str, viewer, replies_shown: int | None = None,
            replies_link: RepliesLink | None = None) -> list[dict]:
    """A page of top-level rows with their shown subtrees (cut as in ``build_threads``): one
    query for the subtrees, one for likes."""
    tops = list(tops)
    return build_threads(tops, descendant_rows([row["id"] for row in tops]), article_key=article_key, viewer=viewer,
                         replies_shown=replies_shown, replies_link=replies_link)


def _subtree(comment_id: int, *, viewer) -> dict | None:
    """The comment's shown tree (uncut): two queries, see ``comment``."""
    heads = fetch_rows(Comment.objects.filter(pk=comment_id), extra=("article__key",))
    if not heads:
        return None
    head = heads[0]
    rows = [row for row in descendant_rows([head["root_id"] or head["id"]]) if row["id"] != head["id"]]
    nodes = _build([head], rows, article_key=head["article__key"], viewer=viewer)
    return nodes[0] if nodes else None


def comment(comment_id: int, *, viewer, replies_shown: int | None = None,
            replies_link: RepliesLink | None = None) -> dict | None:
    """One comment with its shown subtree as ``viewer`` sees it, or None if they may not see it.

    The subtree is cut after ``replies_shown`` nodes as in ``build_threads``. Two queries: the
    comment's thread (all of it, through the ``root`` index), the viewer's likes.
    """
    node = _subtree(comment_id, viewer=viewer)
    if node is not None and replies_shown is not None:
        _cut(node, replies_shown, replies_link)
    return node


def replies(comment_id: int, *, viewer, after: Path | None, limit: int) -> dict | None:
    """The next ``limit`` shown nodes of a comment's subtree after the position ``after`` (None:
    from the start), in depth-first order, or None if ``viewer`` may not see the comment.

    Returns ``{"results": [...], "after": path | None, "remaining": n}``: ``results`` is a
    forest (a node nests those of the batch that hang below it; a node whose parent came in an
    earlier batch is a root of the forest, and its ``parent`` says where it goes); ``after`` is
    where the next batch starts (None: this was the last), ``remaining`` how many nodes follow.

    A position stays valid while the thread changes: the batch starts at the first shown node
    that follows it in thread order, whether or not the node it names is still there. Costs the
    queries of ``comment``.
    """
    head = _subtree(comment_id, viewer=viewer)
    if head is None:
        return None
    flat = list(_flat(head["replies"]))
    start = 0 if after is None else next((i for i, (_, path) in enumerate(flat) if path > after), len(flat))
    end = cut_at([node["is_deleted"] for node, _ in flat], start, limit)
    results: list[dict] = []
    copies: dict[int, dict] = {}
    for node, _ in flat[start:end]:
        copy = copies[node["id"]] = {**node, "replies": []}
        parent = copies.get(node["parent"])
        (parent["replies"] if parent is not None else results).append(copy)
    return {
        "results": results,
        "after": flat[end - 1][1] if end < len(flat) else None,
        "remaining": len(flat) - end,
    }


def public_comment(comment_id: int, *, article_key: str) -> dict | None:
    """One visible comment as anonymous readers see it, without its replies (``replies`` is
    empty): what live events carry. None if it is not visible. One query."""
    rows = fetch_rows(Comment.objects.filter(pk=comment_id))
    if not rows or not _visible_to(rows[0], None):
        return None
    _named(rows)
    return _node(rows[0], article_key=article_key, tombstone=False, viewer_id=None, liked=set(),
                 edit_cutoff=timezone.now())


def _instance_row(instance: Comment, author_name: str) -> dict:
    row = {name: getattr(instance, name) for name in ROW_FIELDS if "__" not in name}
    row[AUTHOR_NAME] = author_name
    row["created_at"], row["edited_at"] = timestamp(instance.created_at), timestamp(instance.edited_at)
    return row


def new_comment(instance: Comment, *, article_key: str, author_name: str) -> dict:
    """A comment its author just posted or edited, from the instance in hand: no query."""
    row = _instance_row(instance, author_name)
    viewer_id = instance.author_id
    tombstone = not _visible_to(row, viewer_id)
    return _node(row, article_key=article_key, tombstone=tombstone, viewer_id=viewer_id, liked=set(),
                 edit_cutoff=timezone.now() - conf.edit_window())


def public_node(instance: Comment, *, article_key: str) -> dict | None:
    """A visible comment as anonymous readers see it, without its replies, from the instance in
    hand (its author loaded): what live events carry. None if it is not visible."""
    row = _instance_row(instance, "")
    if not _visible_to(row, None):
        return None
    row[AUTHOR_NAME] = readers.public_name(instance.author)
    return _node(row, article_key=article_key, tombstone=False, viewer_id=None, liked=set(),
                 edit_cutoff=timezone.now())


# --- Per-viewer overlay on a shared public tree ----------------------------------------------------


def pending_rows(viewer, *, article_key: str) -> list[dict]:
    """The viewer's comments on this article that wait for a moderator (only they see them):
    one query on the ``comment_author`` index, usually answering nothing."""
    viewer_id = _viewer_id(viewer)
    if viewer_id is None:
        return []
    return fetch_rows(Comment.objects.filter(author_id=viewer_id, status=PENDING, is_deleted=False,
                                        article__key=article_key).order_by("created_at", "id"))


def _key_of(node: dict) -> tuple[datetime, int]:
    """A node's (or a row's) sort key among its siblings: oldest first."""
    return row_time(node["created_at"]), node["id"]


def add_pending(nodes: list[dict], rows: list[dict], *, article_key: str, viewer,
                replies_shown: int | None = None, replies_link: RepliesLink | None = None) -> bool:
    """Lay the viewer's pending replies (``pending_rows``) into a public page, in place, where a
    page built for the viewer shows them: under their parent, among its replies by age, and in
    a thread cut after ``replies_shown`` nodes, before or past the cut as the viewer's own page
    would have it (the cut moves by one, and ``more_replies`` with it). Nobody can answer a
    pending comment, so each is a leaf.

    A reply whose parent is visible but past the cut of a thread on the page is past the cut
    too: it only adds one to ``more_replies.count`` (one query finds such parents).

    Returns False when a row cannot be laid in this way (the page may then be half changed:
    build the viewer's page instead): a pending top-level comment (it moves the page's
    boundaries), a parent not on the page or hidden from the public (the viewer would see it
    as a tombstone), or a cut thread whose cut the tombstone rule moved (``cut_at``).
    """
    by_id: dict[int, dict] = {}
    heads: dict[int, dict] = {}
    for head in nodes:
        for node in _walk([head]):
            by_id[node["id"]] = node
            heads[node["id"]] = head
    viewer_id = _viewer_id(viewer)
    edit_cutoff = timezone.now() - conf.edit_window()
    # Parents not on the page: visible ones lie past the cut of a thread that is on it.
    missing = {row["parent_id"] for row in rows if row["parent_id"] and row["parent_id"] not in by_id}
    past_cut = set(Comment.objects.filter(visible_q(), pk__in=missing).values_list("pk", flat=True)
                   if missing else ())
    _named(rows)
    for row in rows:
        head = by_id.get(row["root_id"])
        if row["parent_id"] in past_cut and head is not None and head.get("more_replies") is not None:
            head["more_replies"]["count"] += 1  # after its parent, so past the cut too
            continue
        parent = by_id.get(row["parent_id"]) if row["parent_id"] else None
        if parent is None or parent["is_deleted"]:
            return False
        node = _node(row, article_key=article_key, tombstone=False, viewer_id=viewer_id, liked=set(),
                     edit_cutoff=edit_cutoff)
        key = _key_of(row)
        replies = parent["replies"]
        replies.insert(next((i for i, reply in enumerate(replies) if _key_of(reply) > key), len(replies)), node)
        head = heads[parent["id"]]
        if head["more_replies"] is not None and not _recut(head, node, replies_shown, replies_link):
            return False
        by_id[node["id"]], heads[node["id"]] = node, head
    return True


def _recut(head: dict, added: dict, limit: int | None, link: RepliesLink | None) -> bool:
    """``head`` was cut after ``limit`` nodes and ``added`` was just laid in: cut it again as a
    build with ``added`` among the rows would (see ``_cut``), or return False if that needs
    nodes past the old cut."""
    if limit is None:
        return False
    flat = list(_flat(head["replies"]))
    if len(flat) != limit + 1:  # the old cut was moved back by the tombstone rule
        return False
    if flat[-1][0] is added:  # it falls past the cut: one more left for later
        _drop(head, added["id"])
        head["more_replies"]["count"] += 1
        return True
    end = cut_at([node["is_deleted"] for node, _ in flat], 0, limit)
    if end > limit:
        return False
    for node, _ in flat[end:]:
        _drop(head, node["id"])
    head["more_replies"] = {
        "count": head["more_replies"]["count"] + len(flat) - end,
        "next": link(head["id"], encode_cursor(flat[end - 1][1])) if link is not None else None,
    }
    return True


def _drop(head: dict, node_id: int) -> None:
    for node in _walk([head]):
        if any(reply["id"] == node_id for reply in node["replies"]):
            node["replies"] = [reply for reply in node["replies"] if reply["id"] != node_id]
            return


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
                                and row_time(node["created_at"]) > edit_cutoff)
    return nodes
