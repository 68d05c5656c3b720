"""The moderation log: append-only, written by services."""


from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from comments.admin.base import ReadOnlyAdmin
from comments.models import ModerationLogEntry


@admin.register(ModerationLogEntry)
class ModerationLogEntryAdmin(ReadOnlyAdmin):
    """The moderation log: append-only, so nobody (superusers included) edits or deletes it here."""

    list_display = ("created_at", "action", "actor_name", "comment_link", "reader", "article", "change", "reason")
    list_filter = ("action", ("created_at", admin.DateFieldListFilter))
    search_fields = ("reason", "reader__display_name", "reader__email", "actor__display_name", "article__title")
    list_select_related = ("actor", "reader", "article")
    date_hierarchy = "created_at"
    show_full_result_count = False

    @admin.display(description="by", ordering="actor__display_name")
    def actor_name(self, entry):
        return entry.actor or "the system"

    @admin.display(description="comment")
    def comment_link(self, entry):
        if entry.comment_id is None:
            return "–"
        url = reverse("admin:comments_comment_change", args=[entry.comment_id])
        return format_html('<a href="{}">#{}</a>', url, entry.comment_id)

    @admin.display(description="status")
    def change(self, entry):
        if not (entry.status_before or entry.status_after):
            return "–"
        return f"{entry.status_before or '–'} → {entry.status_after or '–'}"


# --- Articles and readers ---------------------------------------------------------------------------
