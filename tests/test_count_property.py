"""Property: whatever readers and moderators do, in any order, the counters stay exact.

After every step of a random sequence (post, reply, edit, delete, approve, reject, spam,
flag-to-hide, ban-and-hide), each article's ``comment_count`` equals its visible comments and
each comment's ``reply_count`` equals its visible direct replies.
"""

import pytest
from django.db import transaction
from django.db.models import Count, F, Q
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from comments import services
from comments.exceptions import CommentsError
from comments.models import Article, BannedWord, Comment, Reader
from comments.querysets import visible_q

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
        self.readers = [Reader.objects.create(username=f"prop-reader-{i}", display_name=f"R{i}") for i in range(3)]
        self.readers[2].moderation = Reader.Moderation.ALWAYS
        self.readers[2].save()
        self.moderator = Reader.objects.create(username="prop-moderator", is_staff=True)
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

    def assert_counts_exact(self) -> None:
        visible = dict(
            Comment.objects.filter(visible_q()).order_by().values("article").annotate(n=Count("pk"))
            .values_list("article", "n")
        )
        stored = dict(Article.objects.filter(pk__in=[a.pk for a in self.articles]).values_list("pk", "comment_count"))
        assert stored == {a.pk: visible.get(a.pk, 0) for a in self.articles}
        drifted = Comment.objects.annotate(
            actual=Count("children", filter=Q(children__status="approved", children__is_deleted=False))
        ).exclude(reply_count=F("actual"))
        assert list(drifted.values_list("pk", "reply_count", "actual")) == []


@pytest.mark.django_db
@override_settings(COMMENTS_FLAGS_TO_HIDE=2, COMMENTS_MAX_DEPTH=2)
@settings(settings.get_profile("counts"))
@given(sequence=steps)
def test_counts_stay_exact_after_every_step(sequence):
    with transaction.atomic():
        world = World()
        for operation, a, b in sequence:
            world.apply(operation, a, b)
            world.assert_counts_exact()
        transaction.set_rollback(True)
