"""The moderation log: append-only, written by services."""


from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from comments.admin.base import ReadOnlyAdmin, reader_label, user_search_fields
from comments.models import ModerationLogEntry


@admin.register(ModerationLogEntry)
class ModerationLogEntryAdmin(ReadOnlyAdmin):
    """The moderation log: append-only, so nobody (superusers included) edits or deletes it here."""

    list_display = ("created_at", "action", "actor_name", "comment_link", "reader_name", "article", "change",
                    "reason")
    list_filter = ("action", ("created_at", admin.DateFieldListFilter))
    search_fields = ("reason", "reader__comments_profile__display_name", *user_search_fields("reader__"),
                     *user_search_fields("actor__"), "article__title")
    list_select_related = ("actor__comments_profile", "reader__comments_profile", "article")
    date_hierarchy = "created_at"
    show_full_result_count = False

    @admin.display(description="by")
    def actor_name(self, entry):
        return reader_label(entry.actor) if entry.actor_id else "the system"

    @admin.display(description="reader")
    def reader_name(self, entry):
        return reader_label(entry.reader) if entry.reader_id else "–"

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
