"""A busy thread on several processes at once: replies to a top-level comment and to one of its
replies, deletions and moderation in the same thread (issue 16: on PostgreSQL these deadlocked,
about 40 % of 30 simultaneous replies answered 500). Nothing fails, even with the retry of a
deadlock's victim turned off, and every count is exact."""

import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

import pytest
from django.db.models import Q

from comments.models import Comment
from tests.test_count_concurrency import _test_database_env
from tests.workers import thread_storm

pytestmark = pytest.mark.django_db(transaction=True)

ROLES = ["reply-root", "reply-root", "reply-child", "reply-child", "delete", "moderate"]


def visible_replies(comment: Comment) -> int:
    return Comment.objects.filter(Q(parent=comment), status=Comment.Status.APPROVED, is_deleted=False).count()


def test_replies_deletions_and_moderation_in_one_thread_at_once(article, make_reader, moderator, post):
    root = post(article, "The top-level comment")
    child = post(article, "A reply to it", parent=root)
    targets = [post(article, f"Moderated reply {n}", parent=child).pk for n in range(2)]
    readers = [make_reader() for _ in ROLES]
    start_at = time.time() + 3  # the children start together, once all have set Django up
    env = _test_database_env()
    with ProcessPoolExecutor(len(ROLES), mp_context=get_context("spawn")) as pool:
        futures = [
            pool.submit(thread_storm, env, start_at, role, article.pk, root.pk, child.pk,
                        moderator.pk if role == "moderate" else reader.pk, targets)
            for role, reader in zip(ROLES, readers, strict=True)
        ]
        errors = [error for future in futures for error in future.result(timeout=180)]
    assert errors == []
    article.refresh_from_db()
    root.refresh_from_db()
    child.refresh_from_db()
    assert article.comment_count == Comment.objects.for_article(article).visible().count()
    assert root.reply_count == visible_replies(root)
    assert child.reply_count == visible_replies(child)
    assert root.reply_count == 1 + 2 * 6  # the child and the two reply-root workers' replies


class _Lost(Exception):
    sqlstate = "40P01"  # what psycopg says of a deadlock's victim


def test_a_deadlock_victim_runs_again_in_a_transaction_of_its_own(article, reader, monkeypatch):
    """Whatever the lock order cannot rule out (another program's locks) costs a retry, not a 500."""
    from django.db import OperationalError

    from comments import services

    real, calls = services._thread_changed, []

    def lose_once(root_id):
        calls.append(root_id)
        if len(calls) == 1:
            raise OperationalError("deadlock detected") from _Lost()
        return real(root_id)

    top = services.post_comment(article=article, author=reader, body="Top")
    monkeypatch.setattr(services, "_thread_changed", lose_once)
    reply = services.post_comment(article=article, author=reader, body="Reply", parent=top)
    assert len(calls) == 2
    top.refresh_from_db()
    assert top.reply_count == 1 and Comment.objects.filter(parent=top).count() == 1  # the lost attempt left nothing
    assert reply.pk is not None


def test_an_error_that_is_not_a_lost_race_is_not_retried(article, reader, monkeypatch):
    from django.db import OperationalError

    from comments import services

    calls = []

    def broken(root_id):
        calls.append(root_id)
        raise OperationalError("disk I/O error")

    top = services.post_comment(article=article, author=reader, body="Top")
    monkeypatch.setattr(services, "_thread_changed", broken)
    with pytest.raises(OperationalError):
        services.post_comment(article=article, author=reader, body="Reply", parent=top)
    assert len(calls) == 1
    assert not Comment.objects.filter(parent=top).exists()
