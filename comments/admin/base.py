"""Pieces every part of the desk uses: badges, links, read-only rows, the action permissions."""

import html

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils.html import format_html, strip_tags
from django.utils.text import Truncator

from comments.models import Comment
from comments.readers import public_name

STATUS_COLORS = {
    Comment.Status.PENDING: "#b45309",
    Comment.Status.APPROVED: "#15803d",
    Comment.Status.REJECTED: "#b91c1c",
    Comment.Status.SPAM: "#6d28d9",
}


def comment_excerpt(comment: Comment, length: int = 100) -> str:
    """The comment's text as readers see it, without markup; the admin escapes it on output."""
    return Truncator(html.unescape(strip_tags(comment.body_html))).chars(length)


def status_badge(status: str, label: str):
    return format_html(
        '<span style="background:{};color:#fff;border-radius:3px;padding:1px 6px;white-space:nowrap">{}</span>',
        STATUS_COLORS.get(status, "#555"), label,
    )


def admin_link(obj, text) -> str:
    url = reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, text)


def reader_label(user) -> str:
    """How the desk names an account: its public name, then its login for staff ("Ani (ani42)")."""
    return f"{public_name(user)} ({user.get_username()})"


def user_search_fields(prefix: str) -> tuple[str, ...]:
    """The user model's login and email fields, whatever they are called (if it has them)."""
    user_model = get_user_model()
    names = [user_model.USERNAME_FIELD, user_model.get_email_field_name()]
    fields = {field.name for field in user_model._meta.get_fields()}
    return tuple(dict.fromkeys(f"{prefix}{name}" for name in names if name in fields))


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written by services only: visible to moderators, never added, edited or deleted here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ModerationPermissions:
    """The desk's own action permissions, in one place: ``@admin.action(permissions=[...])``
    names ``moderate``, ``ban`` or ``close``, and Django asks ``has_<name>_permission``."""

    def has_moderate_permission(self, request):
        return request.user.has_perm("comments.moderate_comment")

    def has_ban_permission(self, request):
        return request.user.has_perm("comments.ban_reader")

    def has_close_permission(self, request):
        return request.user.has_perm("comments.moderate_article")
