"""Helpers for the moderation desk tests (fixtures ``desk`` and ``desk_moderator`` are in conftest)."""

from tests.counts import assert_counts_exact  # noqa: F401  (the desk tests import it from here)

QUEUE_URL = "/admin/comments/moderationqueue/"
COMMENTS_URL = "/admin/comments/comment/"
READERS_URL = "/admin/comments/readerprofile/"


def run_action(client, url: str, action: str, comments, **extra):
    """POST a changelist action on ``comments`` the way the admin's form does."""
    data = {"action": action, "_selected_action": [c.pk for c in comments], "index": 0, **extra}
    return client.post(url, data)


