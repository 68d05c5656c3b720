"""Who may call what, before a service decides the rest (own comment, edit window, bans)."""

from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import BasePermission

from comments.models import Article


class CanUpsertArticle(BasePermission):
    """``PUT /articles/{key}/``: ``comments.add_article`` to create the article,
    ``comments.change_article`` to change one that exists (the "CMS" group of migration 0003
    holds both; superusers hold every permission). Being staff is neither needed nor enough:
    moderators are staff and deliberately lack them. Anonymous callers get 401, others 403."""

    message = _("Only accounts allowed to create and change articles (the CMS) may do this.")

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        exists = Article.objects.filter(key=view.kwargs.get("key", "")).exists()
        return user.has_perm("comments.change_article" if exists else "comments.add_article")
