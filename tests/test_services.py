"""The write path: posting, threading, editing, deleting, and the counters that follow."""

from datetime import timedelta
from unittest import mock

import pytest
from django.test import override_settings
from django.utils import timezone

from comments import moderation, services
from comments.exceptions import CommentsClosed, EditWindowClosed, InvalidComment, NotPermitted, ReaderBanned
from comments.models import Article, Comment, ModerationLogEntry
from tests.counts import assert_counts_exact


def visible_count(article) -> int:
    return Comment.objects.for_article(article).visible().count()


def test_new_comment_is_approved_and_counted(article, post):
    comment = post(article, "First!")
    assert comment.status == Comment.Status.APPROVED
    assert comment.body_html == "<p>First!</p>"
    article.refresh_from_db()
    assert article.comment_count == 1


def test_reply_records_parent_root_depth_and_in_reply_to(article, post, other_reader):
    top = post(article, "top")
    reply = post(article, "reply", parent=top, author=other_reader)
    deeper = post(article, "deeper", parent=reply)
    assert (reply.parent, reply.root, reply.depth, reply.in_reply_to) == (top, top, 1, top)
    assert (deeper.parent, deeper.root, deeper.depth, deeper.in_reply_to) == (reply, top, 2, reply)
    top.refresh_from_db()
    assert top.reply_count == 1


@override_settings(COMMENTS_MAX_DEPTH=2)
def test_reply_at_max_depth_is_attached_beside_and_names_what_it_answers(article, post):
    top = post(article, "depth 0")
    middle = post(article, "depth 1", parent=top)
    deepest = post(article, "depth 2", parent=middle)
    answer = post(article, "answer to the deepest", parent=deepest)
    assert answer.depth == 2
    assert answer.parent == middle
    assert answer.in_reply_to == deepest
    assert answer.root == top


def test_default_max_depth_is_four(article, post):
    comment = post(article, "0")
    for _ in range(6):
        comment = post(article, "deeper", parent=comment)
    assert comment.depth == 4
    assert Comment.objects.filter(depth__gt=4).count() == 0


@override_settings(COMMENTS_MAX_DEPTH=0)
def test_max_depth_zero_keeps_every_comment_top_level(article, post):
    top = post(article, "top")
    answer = post(article, "answer", parent=top)
    assert answer.parent is None and answer.depth == 0 and answer.in_reply_to == top


@pytest.mark.parametrize("body", ["", "   ", "\n\n\t", "<script></script>", "<img src=x>"])
def test_empty_bodies_are_refused_and_nothing_is_saved(article, post, body):
    with pytest.raises(InvalidComment) as error:
        post(article, body)
    assert "body" in error.value.fields
    assert Comment.objects.count() == 0
    assert_counts_exact(article)


@override_settings(COMMENTS_MAX_LENGTH=20)
def test_too_long_body_is_refused_with_the_limit_in_the_message(article, post):
    with pytest.raises(InvalidComment, match="limited to 20 characters"):
        post(article, "x" * 21)
    assert post(article, "x" * 20).pk


def test_null_bytes_are_refused(article, post):
    with pytest.raises(InvalidComment):
        post(article, "hi\x00there")


def test_reply_to_a_comment_of_another_article_is_refused(article, make_article, post):
    elsewhere = post(make_article(), "elsewhere")
    with pytest.raises(InvalidComment) as error:
        post(article, "reply", parent=elsewhere)
    assert "parent" in error.value.fields
    assert Comment.objects.filter(article=article).count() == 0


@pytest.mark.parametrize("hide", ["reject", "delete", "pending"])
def test_reply_to_a_hidden_comment_is_refused(article, post, reader, moderator, hide):
    target = post(article, "soon hidden")
    if hide == "reject":
        services.reject_comment(comment=target, moderator=moderator)
    elif hide == "delete":
        services.delete_comment(comment=target, actor=reader)
    else:
        services.moderate_comment(comment=target, moderator=moderator, status="pending")
    with pytest.raises(InvalidComment):
        post(article, "reply", parent=target)


def test_comment_on_closed_article_is_refused(make_article, post):
    closed = make_article(comments_open=False)
    with pytest.raises(CommentsClosed):
        post(closed, "hello")
    assert Comment.objects.count() == 0


@override_settings(COMMENTS_CLOSE_AFTER_DAYS=7)
def test_comments_close_automatically_after_configured_days(make_article, post):
    old = make_article(published_at=timezone.now() - timedelta(days=8))
    fresh = make_article(published_at=timezone.now() - timedelta(days=6))
    with pytest.raises(CommentsClosed):
        post(old, "late")
    assert post(fresh, "in time").pk


def test_anonymous_cannot_post(article):
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(NotPermitted):
        services.post_comment(article=article, author=AnonymousUser(), body="hi")


def test_banned_reader_cannot_post(article, post, reader, moderator):
    services.ban_reader(reader=reader, moderator=moderator, reason="abuse")
    with pytest.raises(ReaderBanned, match="banned"):
        post(article, "hi")


def test_suspension_ends_at_its_date(article, post, reader, moderator):
    services.ban_reader(reader=reader, moderator=moderator, reason="cool off",
                        until=timezone.now() - timedelta(seconds=1))
    assert post(article, "back again").pk


def test_edit_within_window_updates_body_and_edited_at(article, post, reader):
    comment = post(article, "typo")
    edited = services.edit_comment(comment=comment, editor=reader, body="fixed <b>now</b>")
    assert edited.body == "fixed <b>now</b>"
    assert edited.body_html == "<p>fixed now</p>"
    assert edited.edited_at is not None


def test_edit_after_window_is_refused(article, post, reader):
    comment = post(article, "typo")
    late = comment.created_at + timedelta(minutes=15, seconds=1)
    with pytest.raises(EditWindowClosed):
        services.edit_comment(comment=comment, editor=reader, body="too late", now=late)
    just_in_time = comment.created_at + timedelta(minutes=14, seconds=59)
    assert services.edit_comment(comment=comment, editor=reader, body="in time", now=just_in_time).body == "in time"


def test_only_the_author_can_edit_or_delete(article, post, other_reader):
    comment = post(article, "mine")
    with pytest.raises(NotPermitted):
        services.edit_comment(comment=comment, editor=other_reader, body="hijack")
    with pytest.raises(NotPermitted):
        services.delete_comment(comment=comment, actor=other_reader)
    comment.refresh_from_db()
    assert comment.body == "mine" and not comment.is_deleted


def test_delete_is_soft_and_uncounts(article, post, reader):
    comment = post(article, "regret")
    services.delete_comment(comment=comment, actor=reader)
    comment.refresh_from_db()
    assert comment.is_deleted and comment.deleted_at
    assert_counts_exact(article)
    services.delete_comment(comment=comment, actor=reader)  # twice is harmless
    assert_counts_exact(article)


def test_deleting_a_reply_lowers_the_parent_reply_count(article, post, reader, other_reader):
    top = post(article, "top")
    reply = post(article, "reply", parent=top, author=other_reader)
    services.delete_comment(comment=reply, actor=other_reader)
    top.refresh_from_db()
    assert top.reply_count == 0


def test_moderation_transitions_keep_the_count_exact_and_are_logged(article, post, moderator):
    comment = post(article, "borderline")
    for action in (services.reject_comment, services.approve_comment, services.mark_spam, services.approve_comment):
        action(comment=comment, moderator=moderator)
        assert_counts_exact(article)
    assert list(comment.log_entries.order_by("id").values_list("status_before", "status_after")) == [
        ("approved", "rejected"), ("rejected", "approved"), ("approved", "spam"), ("spam", "approved"),
    ]


def test_likes_are_idempotent_and_counted(article, post, other_reader, make_reader):
    comment = post(article, "likeable")
    services.like_comment(comment=comment, reader=other_reader)
    services.like_comment(comment=comment, reader=other_reader)
    services.like_comment(comment=comment, reader=make_reader())
    assert services.unlike_comment(comment=comment, reader=other_reader).like_count == 1
    assert services.unlike_comment(comment=comment, reader=other_reader).like_count == 1


def test_upsert_article_creates_then_updates_without_touching_the_count(post):
    article, created = services.upsert_article(key="a-1", title="Old")
    post(article, "hi")
    same, created_again = services.upsert_article(key="a-1", title="New", comments_open=False)
    assert created and not created_again
    assert same.pk == article.pk and same.title == "New" and not same.comments_open
    assert Article.objects.get(key="a-1").comment_count == 1


def test_recount_repairs_drift(article, post):
    post(article, "one")
    post(article, "two")
    Article.objects.filter(pk=article.pk).update(comment_count=7)
    drift = services.recount_comments()
    assert [(d.article_key, d.stored, d.actual) for d in drift] == [(article.key, 7, 2)]
    assert_counts_exact(article)
    assert services.recount_comments() == []


def test_deleting_a_reader_outright_keeps_the_counts_exact(article, post, reader, other_reader):
    top = post(article, "stays", author=other_reader)
    post(article, "goes", parent=top)
    post(article, "goes too")
    reader.delete()  # an administrator removes the account; its comments cascade
    assert_counts_exact(article)
    top.refresh_from_db()
    assert top.reply_count == 0


def test_lone_surrogates_are_refused(article, post):
    with pytest.raises(InvalidComment):
        post(article, "broken \ud800 text")
    assert Comment.objects.count() == 0


def test_ban_and_hide_leaves_already_deleted_comments_alone(article, post, reader, moderator):
    kept_deleted = post(article, "deleted earlier")
    services.delete_comment(comment=kept_deleted, actor=reader)
    post(article, "visible")
    assert services.hide_reader_comments(reader=reader, moderator=moderator) == 1
    kept_deleted.refresh_from_db()
    assert kept_deleted.status == Comment.Status.APPROVED
    assert_counts_exact(article)


def test_deleting_a_reader_outright_takes_back_their_likes_and_open_flags(article, post, reader, make_reader):
    comment = post(article, "liked and flagged")
    fan = make_reader()
    services.like_comment(comment=comment, reader=fan)
    services.flag_comment(comment=comment, reader=fan, reason="other")
    services.like_comment(comment=comment, reader=make_reader())
    fan.delete()
    comment.refresh_from_db()
    assert (comment.like_count, comment.open_flag_count) == (1, 0)
    services.unlike_comment(comment=comment, reader=make_reader())  # nothing to take back: unchanged
    comment.refresh_from_db()
    assert comment.like_count == 1


def test_closing_through_the_cms_upsert_is_logged(article, moderator):
    services.upsert_article(key=article.key, title=article.title, comments_open=False, actor=moderator)
    entry = ModerationLogEntry.objects.get(article=article)
    assert (entry.action, entry.actor) == ("close", moderator)


def test_unknown_premoderation_choices_are_refused(article, reader, moderator):
    with pytest.raises(InvalidComment):
        services.set_reader_moderation(reader=reader, moderator=moderator, moderation="sometimes")
    with pytest.raises(InvalidComment):
        services.set_article_premoderation(article=article, premoderation="maybe", actor=moderator)
    services.set_article_premoderation(article=article, premoderation="on", actor=moderator)
    article.refresh_from_db()
    assert article.premoderation == "on"


def test_a_ban_takes_effect_at_once_though_bans_are_kept_in_the_cache(article, reader, moderator):
    services.post_comment(article=article, author=reader, body="Before the ban.")  # "no ban" is now kept
    services.ban_reader(reader=reader, moderator=moderator, reason="abuse")
    with pytest.raises(ReaderBanned):
        services.post_comment(article=article, author=reader, body="During the ban.")
    services.lift_ban(ban=reader.bans.get(), moderator=moderator)
    assert services.post_comment(article=article, author=reader, body="After the ban.").pk


def test_a_kept_suspension_ends_on_time(article, reader, moderator):
    services.ban_reader(reader=reader, moderator=moderator, reason="cool off",
                        until=timezone.now() + timedelta(minutes=5))
    with pytest.raises(ReaderBanned):
        services.post_comment(article=article, author=reader, body="Suspended.")  # the ban is kept now
    later = timezone.now() + timedelta(minutes=6)
    with mock.patch("django.utils.timezone.now", return_value=later):
        assert moderation.current_ban(reader) is None
        assert services.post_comment(article=article, author=reader, body="Back.").pk
