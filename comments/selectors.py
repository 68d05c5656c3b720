"""Reads shaped for one screen: an article's thread, one comment's subtree, the front page.

A thread is built from a fixed number of queries whatever its size: the top-level comments,
all their descendants in one indexed lookup (``root``), and the viewer's likes among them.
"""

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence

from django.db.models import Count, Min, Q
from django.utils import timezone

from comments import readers
from comments.models import Article, Comment, Like
from comments.payloads import cut_at

# What rendering a comment's author needs, loaded with the comment (``readers.public_names``).
AUTHOR = ("author", "author__comments_profile")


def flatten(nodes: Iterable[Comment]) -> Iterator[Comment]:
    """Every node of prepared threads, depth first."""
    for node in nodes:
        yield node
        yield from flatten(getattr(node, "replies", ()))


def articles_newest_first():
    return Article.objects.order_by("-published_at", "-id")


def shown_roots(article: Article, *, viewer, sort: str = "newest"):
    """Top-level comments ``viewer`` sees on ``article`` (tombstones included), sorted."""
    return (
        Comment.objects.for_article(article)
        .shown_roots_for(viewer)
        .select_related(*AUTHOR)
        .sorted_by(sort)
    )


def _liked_ids(viewer, comments: Iterable[Comment]) -> set[int]:
    if viewer is None or not viewer.is_authenticated:
        return set()
    ids = [c.pk for c in comments]
    if not ids:
        return set()
    return set(Like.objects.filter(reader=viewer, comment_id__in=ids).values_list("comment_id", flat=True))


def _attach_subtrees(roots: Sequence[Comment], descendants: Sequence[Comment], *, viewer) -> list[Comment]:
    """Give every node ``replies`` (oldest first), ``liked``, ``can_edit``, ``can_delete`` and
    ``author_name`` (the public name, each distinct author named once).

    A hidden comment (deleted, removed or pending for someone else) stays only while it has a
    shown reply below it, and then as a tombstone (``is_tombstone``).
    """
    children: dict[int, list[Comment]] = defaultdict(list)
    for comment in descendants:
        children[comment.parent_id].append(comment)
    liked = _liked_ids(viewer, [*roots, *descendants])
    names = readers.public_names(comment.author for comment in [*roots, *descendants])
    now = timezone.now()

    def build(comment: Comment) -> bool:
        comment.replies = [child for child in children.get(comment.pk, ()) if build(child)]
        comment.liked = comment.pk in liked
        comment.author_name = names[comment.author_id]
        comment.is_tombstone = not comment.is_visible_to(viewer)
        comment.can_edit = comment.can_be_edited_by(viewer, now=now)
        comment.can_delete = comment.can_be_deleted_by(viewer)
        return not comment.is_tombstone or bool(comment.replies)

    return [root for root in roots if build(root)]


def attach_threads(roots: Sequence[Comment], *, viewer) -> list[Comment]:
    """The subtrees of a page of top-level comments: two queries whatever their size."""
    roots = list(roots)
    if not roots:
        return []
    descendants = list(
        Comment.objects.filter(root_id__in=[r.pk for r in roots])
        .select_related(*AUTHOR)
        .order_by("created_at", "id")
    )
    return _attach_subtrees(roots, descendants, viewer=viewer)


def article_thread(article: Article, *, viewer, sort: str = "newest") -> list[Comment]:
    """The whole thread of an article: three queries whatever its size."""
    roots = list(shown_roots(article, viewer=viewer, sort=sort))
    descendants = list(
        Comment.objects.for_article(article)
        .filter(parent__isnull=False)
        .select_related(*AUTHOR)
        .order_by("created_at", "id")
    )
    return _attach_subtrees(roots, descendants, viewer=viewer)


def thread_page_number(comment: Comment, *, viewer, page_size: int) -> int:
    """Which page of the article page (newest first) shows ``comment``'s thread: one query."""
    root = comment.root or comment
    newer = shown_roots(comment.article, viewer=viewer).filter(
        Q(created_at__gt=root.created_at) | Q(created_at=root.created_at, pk__gt=root.pk)
    )
    return newer.count() // page_size + 1


def comment_with_replies(comment: Comment, *, viewer) -> Comment | None:
    """One comment and its shown subtree, or None if ``viewer`` may not see it."""
    thread_root = comment.root_id or comment.pk
    descendants = list(
        Comment.objects.filter(root_id=thread_root).select_related(*AUTHOR).order_by("created_at", "id")
    )
    nodes = _attach_subtrees([comment], [c for c in descendants if c.pk != comment.pk], viewer=viewer)
    return nodes[0] if nodes else None


def cut_replies(threads: Sequence[Comment], *, limit: int) -> Sequence[Comment]:
    """Keep at most ``limit`` nodes of each top-level comment's prepared subtree, depth first,
    by the rule the API's ``more_replies`` follows (``payloads.cut_at``), in place.

    A cut comment gets ``more_replies_count`` (how many nodes were left out) and
    ``more_replies_from`` (the id of the first of them); others get 0 and None.
    """
    for top in threads:
        top.more_replies_count, top.more_replies_from = 0, None
        flat = list(flatten(getattr(top, "replies", ())))
        if len(flat) <= limit:
            continue
        end = cut_at([node.is_tombstone for node in flat], 0, limit)
        kept = {node.pk for node in flat[:end]}
        for node in [top, *flat[:end]]:
            node.replies = [reply for reply in node.replies if reply.pk in kept]
        top.more_replies_count, top.more_replies_from = len(flat) - end, flat[end].pk
    return threads


def shows_on_the_article_page(comment: Comment, *, viewer, limit: int) -> bool:
    """Whether the article page shows this reply under its top-level comment (or cuts it after
    ``limit``): two queries, the thread of its top-level comment and the viewer's likes."""
    if comment.root_id is None:
        return True
    top = comment_with_replies(comment.root, viewer=viewer)
    if top is None:
        return False
    cut_replies([top], limit=limit)
    return comment.pk in {node.pk for node in flatten([top])}


def moderation_summary() -> dict:
    """What waits in the moderation queue, for the admin index: one query whatever its size."""
    return Comment.objects.in_moderation().order_by().aggregate(
        waiting=Count("pk"),
        pending=Count("pk", filter=Q(status=Comment.Status.PENDING)),
        flagged=Count("pk", filter=Q(open_flag_count__gt=0)),
        oldest=Min("created_at"),
    )



def _share_article(nodes: Iterable[Comment], article: Article) -> None:
    """Every node of these threads belongs to ``article``: hand it the instance, so that
    rendering ``comment.article`` costs no query per comment."""
    for node in nodes:
        node.article = article
        _share_article(getattr(node, "replies", ()), article)


def shown_comment(comment: Comment, *, viewer) -> Comment | None:
    """``comment_with_replies``, ready to render; ``comment`` must carry its article."""
    node = comment_with_replies(comment, viewer=viewer)
    if node is not None:
        _share_article([node], comment.article)
    return node
