"""Helpers for the moderation desk tests: a signed-in Moderators-group member, exact counts."""

import pytest
from django.contrib.auth.models import Group

from comments.models import Article, Comment
from comments.querysets import visible_q

QUEUE_URL = "/admin/comments/moderationqueue/"
COMMENTS_URL = "/admin/comments/comment/"


@pytest.fixture
def desk_moderator(make_reader):
    """A staff account whose only powers come from the "Moderators" group of migration 0002."""
    member = make_reader("Mira the moderator", is_staff=True)
    member.groups.add(Group.objects.get(name="Moderators"))
    return member


@pytest.fixture
def desk(client, desk_moderator):
    client.force_login(desk_moderator)
    return client


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


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """The accounts here never sign in with a password (force_login); hashing one costs ~0.3 s."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
