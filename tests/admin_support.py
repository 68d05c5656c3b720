"""Helpers for the moderation desk tests (fixtures ``desk`` and ``desk_moderator`` are in conftest)."""

from comments.models import Article, Comment
from comments.querysets import visible_q

QUEUE_URL = "/admin/comments/moderationqueue/"
COMMENTS_URL = "/admin/comments/comment/"


def run_action(client, url: str, action: str, comments, **extra):
    """POST a changelist action on ``comments`` the way the admin's form does."""
    data = {"action": action, "_selected_action": [c.pk for c in comments], "index": 0, **extra}
    return client.post(url, data)


def assert_counts_exact(*articles: Article) -> None:
    """Every article's comment_count and every comment's reply_count equal what is visible."""
    for article in articles:
        article.refresh_from_db()
        assert article.comment_count == Comment.objects.for_article(article).visible().count(), article
        for comment in Comment.objects.for_article(article):
            assert comment.reply_count == comment.children.filter(visible_q()).count(), comment

