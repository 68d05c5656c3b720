"""The admin index banner: how many comments wait for a moderator, at a glance."""

from django import template
from django.urls import reverse

from comments import selectors

register = template.Library()


@register.inclusion_tag("admin/comments/moderation_banner.html", takes_context=True)
def moderation_banner(context):
    user = context["request"].user
    if not user.has_perm("comments.view_moderationqueue"):
        return {"hidden": True}
    return {
        "summary": selectors.moderation_summary(),
        "queue_url": reverse("admin:comments_moderationqueue_changelist"),
    }
