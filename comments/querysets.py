"""Chainable reads: ``Comment.objects.for_article(a).visible().roots()``."""

from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

# How top-level comments can be sorted: the keys of each order, most significant first, "-" for
# descending. The pages and the API's cursor pagination both use these.
SORT_ORDERS = {
    "newest": ("-created_at", "-id"),
    "oldest": ("created_at", "id"),
    "top": ("-like_count", "-created_at", "-id"),
}


def visible_q(prefix: str = "") -> Q:
    """Visible to everyone and counted: approved and not deleted."""
    return Q(**{f"{prefix}status": "approved", f"{prefix}is_deleted": False})


def visible_to_q(reader) -> Q:
    """Visible comments, plus the reader's own pending ones (shown to them as pending)."""
    if reader is None or not reader.is_authenticated:
        return visible_q()
    return visible_q() | Q(status="pending", is_deleted=False, author_id=reader.pk)


def in_moderation_q() -> Q:
    """Waiting for a moderator: pending, or with open flags (and not deleted by its author)."""
    return Q(is_deleted=False) & (Q(status="pending") | Q(open_flag_count__gt=0))


class CommentQuerySet(models.QuerySet):
    def for_article(self, article):
        return self.filter(article=article)

    def visible(self):
        return self.filter(visible_q())

    def roots(self):
        return self.filter(parent__isnull=True)

    def visible_to(self, reader):
        """What ``reader`` may see: visible comments, plus their own pending ones."""
        return self.filter(visible_to_q(reader))

    def with_visible_descendants(self):
        """Annotate ``has_visible_replies``: a hidden root with these stays as a tombstone."""
        return self.annotate(
            has_visible_replies=Exists(self.model.objects.filter(visible_q(), root=OuterRef("pk")))
        )

    def shown_roots_for(self, reader):
        """Top-level comments to show ``reader``: theirs to see, or tombstones over replies."""
        return (
            self.roots()
            .with_visible_descendants()
            .filter(visible_to_q(reader) | Q(has_visible_replies=True))
        )

    def flagged(self):
        return self.filter(open_flag_count__gt=0)

    def in_moderation(self):
        """The moderation queue: pending comments and comments with open flags, oldest first."""
        return self.filter(in_moderation_q()).order_by("created_at", "id")

    def sorted_by(self, sort: str):
        return self.order_by(*SORT_ORDERS[sort])


class FlagQuerySet(models.QuerySet):
    def open(self):
        return self.filter(resolved_at__isnull=True)


class BanQuerySet(models.QuerySet):
    def active(self, *, now=None):
        now = now or timezone.now()
        return self.filter(lifted_at__isnull=True).filter(Q(until__isnull=True) | Q(until__gt=now))
