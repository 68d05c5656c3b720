"""Property: whatever readers and moderators do, in any order, the counters stay exact.

After every step of a random sequence (post, reply, edit, delete, approve, reject, spam,
flag-to-hide, ban-and-hide), each article's ``comment_count`` equals its visible comments and
each comment's ``reply_count`` equals its visible direct replies.
"""

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from comments import services
from comments.exceptions import CommentsError
from comments.models import BannedWord, Comment
from tests.counts import assert_counts_exact

settings.register_profile(
    "counts", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

# Posting and replying weigh double so threads grow while the other steps cut them back.
OPERATIONS = ["post", "post", "reply", "reply", "edit", "delete", "approve", "reject", "spam", "flag", "ban"]
steps = st.lists(
    st.tuples(st.sampled_from(OPERATIONS), st.integers(0, 40), st.integers(0, 40)), min_size=1, max_size=30
)


class World:
    """Two articles, three readers (the third always pre-moderated) and a moderator."""

    def __init__(self):
        self.articles = [services.upsert_article(key=f"prop-{i}", title=f"Article {i}")[0] for i in range(2)]
        users = get_user_model().objects
        self.readers = [users.create(username=f"prop-reader-{i}") for i in range(3)]
        for i, reader in enumerate(self.readers):
            services.set_reader_display_name(reader=reader, display_name=f"R{i}")
        services.set_reader_moderation(reader=self.readers[2], moderator=None, moderation="always")
        self.moderator = users.create(username="prop-moderator", is_staff=True)
        BannedWord.objects.create(word="suspect", action=BannedWord.Action.HOLD)
        self.comments: list[Comment] = []

    def comment(self, index: int) -> Comment | None:
        """Counting back from the newest, so small indices (which hypothesis favours) hit replies too."""
        return self.comments[-1 - index % len(self.comments)] if self.comments else None

    def apply(self, operation: str, a: int, b: int) -> None:
        reader, comment = self.readers[b % 3], self.comment(a)
        try:
            if operation == "post":
                self.comments.append(
                    services.post_comment(article=self.articles[a % 2], author=reader, body=f"Comment {a}.")
                )
            elif comment is None:
                return
            elif operation == "reply":
                self.comments.append(services.post_comment(
                    article=comment.article, author=reader, body=f"Reply {b}.", parent=comment
                ))
            elif operation == "edit":
                body = "A suspect edit." if b % 2 else "A fine edit."
                services.edit_comment(comment=comment, editor=comment.author, body=body)
            elif operation == "delete":
                services.delete_comment(comment=comment, actor=comment.author)
            elif operation in ("approve", "reject", "spam"):
                status = {"approve": "approved", "reject": "rejected", "spam": "spam"}[operation]
                services.moderate_comment(comment=comment, moderator=self.moderator, status=status)
            elif operation == "flag":
                services.flag_comment(comment=comment, reader=reader, reason="abuse")
            elif operation == "ban":
                ban = services.ban_reader(reader=reader, moderator=self.moderator, reason="test", hide_comments=True)
                # Lifted at once: the hidden comments stay hidden, and the reader keeps the sequence going.
                services.lift_ban(ban=ban, moderator=self.moderator)
        except CommentsError:
            pass  # refused (banned author, invisible parent, own comment...): nothing may have moved


@pytest.mark.django_db
@override_settings(COMMENTS_FLAGS_TO_HIDE=2, COMMENTS_MAX_DEPTH=2)
@settings(settings.get_profile("counts"))
@given(sequence=steps)
def test_counts_stay_exact_after_every_step(sequence):
    with transaction.atomic():
        world = World()
        for operation, a, b in sequence:
            world.apply(operation, a, b)
            assert_counts_exact(*world.articles)
        transaction.set_rollback(True)
