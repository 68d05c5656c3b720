"""Who may call what, before a service decides the rest (own comment, edit window, bans)."""

from rest_framework.permissions import BasePermission


class IsStaff(BasePermission):
    """The CMS's staff account (or any staff member): anonymous callers get 401, readers 403."""

    message = "Only staff accounts may change articles."

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.is_staff)
