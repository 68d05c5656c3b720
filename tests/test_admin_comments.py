"""The comment admin, driven as a Moderators-group member: list, filters, search, actions, pages."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from comments import services
from comments.models import Ban, Comment, Flag, ModerationLogEntry
from comments.readers import public_name
from tests.admin_support import (
    COMMENTS_URL,
    QUEUE_URL,
    assert_counts_exact,
    run_action,
)

Status = Comment.Status



def listed_ids(response) -> list[int]:
    return [c.pk for c in response.context["cl"].result_list]


def test_list_shows_article_author_excerpt_status_flags_and_date(desk, article, post, other_reader):
    comment = post(article, "Ministers met for **four** hours.")
    services.flag_comment(comment=comment, reader=other_reader, reason="abuse")
    response = desk.get(COMMENTS_URL)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Ministers met for **four** hours." in page
    assert article.title in page
    assert "Ani" in page
    assert "Approved</span>" in page
    assert "⚑ 1" in page


def test_excerpt_is_escaped_text_never_raw_html(desk, article, post):
    comment = post(article, 'Look <a href="https://example.com">here</a>: 1 < 2 & <strong>bold</strong>')
    page = desk.get(COMMENTS_URL).content.decode()
    cell = re.search(r'<th class="field-excerpt"><a href="[^"]+">(.*?)</a></th>', page).group(1)
    assert cell == "Look here: 1 &lt; 2 &amp; bold"
    assert "<strong>" in comment.body_html  # the markup exists, and the list shows none of it


@pytest.mark.parametrize("status", [Status.APPROVED, Status.PENDING, Status.REJECTED, Status.SPAM])
def test_status_filter_lists_only_that_status(desk, article, post, moderator, status):
    comments = {s: post(article, f"Comment to be {s}.") for s in Status.values}
    services.moderate_comment(comment=comments[Status.PENDING], moderator=moderator, status=Status.PENDING)
    services.reject_comment(comment=comments[Status.REJECTED], moderator=moderator)
    services.mark_spam(comment=comments[Status.SPAM], moderator=moderator)
    assert listed_ids(desk.get(COMMENTS_URL, {"status__exact": status})) == [comments[status].pk]


def test_flagged_filter(desk, article, post, other_reader):
    quiet, flagged = post(article, "Quiet."), post(article, "Flagged.")
    services.flag_comment(comment=flagged, reader=other_reader, reason="spam")
    assert listed_ids(desk.get(COMMENTS_URL, {"flagged": "yes"})) == [flagged.pk]
    assert listed_ids(desk.get(COMMENTS_URL, {"flagged": "no"})) == [quiet.pk]


def test_article_filter_and_article_link(desk, make_article, post):
    first, second = make_article(title="First"), make_article(title="Second")
    on_first, on_second = post(first, "On the first."), post(second, "On the second.")
    response = desk.get(COMMENTS_URL, {"article__id__exact": first.pk})
    assert listed_ids(response) == [on_first.pk]
    assert f"?article__id__exact={second.pk}" in desk.get(COMMENTS_URL).content.decode()
    assert on_second.pk not in listed_ids(response)


@pytest.mark.parametrize("bad", [{"article__id__exact": "x"}, {"status__exact": "nope"}, {"created_at__gte": "x"}])
def test_bad_filter_values_never_give_a_500(desk, article, post, bad):
    post(article, "Hello.")
    assert desk.get(COMMENTS_URL, bad).status_code in (200, 302)


def test_date_filter(desk, article, post):
    old, new = post(article, "Old."), post(article, "New.")
    Comment.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=30))
    midnight = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    past_7_days = {"created_at__gte": str(midnight - timedelta(days=7))}
    assert listed_ids(desk.get(COMMENTS_URL, past_7_days)) == [new.pk]


@pytest.mark.parametrize("query", ["anchovies", "Boris", "Pizza summit"])
def test_search_by_text_author_and_article(desk, make_article, post, reader, other_reader, query):
    pizza, other = make_article(title="Pizza summit"), make_article(title="Weather")
    found = post(pizza, "I like anchovies.", author=other_reader)
    post(other, "Sunny again.", author=reader)
    assert listed_ids(desk.get(COMMENTS_URL, {"q": query})) == [found.pk]


@pytest.mark.parametrize(
    ("action", "status", "log_action"),
    [
        ("approve", Status.APPROVED, ModerationLogEntry.Action.APPROVE),
        ("reject", Status.REJECTED, ModerationLogEntry.Action.REJECT),
        ("mark_spam", Status.SPAM, ModerationLogEntry.Action.SPAM),
    ],
)
def test_bulk_action_moves_comments_logs_resolves_flags_and_keeps_counts(
    desk, desk_moderator, article, post, other_reader, action, status, log_action
):
    held = post(article, "Held.")
    services.moderate_comment(comment=held, moderator=desk_moderator, status=Status.PENDING)
    flagged = post(article, "Flagged.")
    services.flag_comment(comment=flagged, reader=other_reader, reason="abuse")
    untouched = post(article, "Untouched.")
    response = run_action(desk, COMMENTS_URL, action, [held, flagged])
    assert response.status_code == 302
    for comment in (held, flagged):
        comment.refresh_from_db()
        assert comment.status == status
        assert comment.open_flag_count == 0
        entry = comment.log_entries.latest("id")
        assert (entry.action, entry.actor, entry.status_after) == (log_action, desk_moderator, status)
    assert not Flag.objects.open().exists()
    untouched.refresh_from_db()
    assert untouched.status == Status.APPROVED
    assert_counts_exact(article)


def test_rejecting_a_reply_keeps_the_parents_reply_count(desk, article, post, other_reader):
    parent = post(article, "Parent.")
    reply = post(article, "Reply.", parent=parent, author=other_reader)
    run_action(desk, COMMENTS_URL, "reject", [reply])
    parent.refresh_from_db()
    assert parent.reply_count == 0
    run_action(desk, COMMENTS_URL, "approve", [reply])
    assert_counts_exact(article)
    parent.refresh_from_db()
    assert parent.reply_count == 1


def test_ban_author_shows_a_form_first_and_bans_nobody_yet(desk, article, post, reader):
    comment = post(article, "Abuse.")
    response = run_action(desk, COMMENTS_URL, "ban_author", [comment])
    assert response.status_code == 200
    page = response.content.decode()
    assert "Ban or suspend readers" in page and "Also hide all their comments" in page
    assert 'name="until"' in page and public_name(reader) in page
    assert not Ban.objects.exists()


def test_ban_author_with_hide_comments(desk, desk_moderator, make_article, post, reader, other_reader):
    first, second = make_article(), make_article()
    abusive = post(first, "Abuse.")
    earlier = post(second, "An earlier comment.")
    reply_to_them = post(first, "A reply.", parent=abusive, author=other_reader)
    response = run_action(desk, COMMENTS_URL, "ban_author", [abusive],
                          apply="1", reason="Repeated abuse", hide_comments="on")
    assert response.status_code == 302
    ban = Ban.objects.get()
    assert (ban.reader, ban.reason, ban.until, ban.created_by) == (reader, "Repeated abuse", None, desk_moderator)
    assert ban.is_active
    for comment in (abusive, earlier):
        comment.refresh_from_db()
        assert comment.status == Status.REJECTED
    reply_to_them.refresh_from_db()
    assert reply_to_them.status == Status.APPROVED
    actions = set(ModerationLogEntry.objects.values_list("action", flat=True))
    assert {ModerationLogEntry.Action.BAN, ModerationLogEntry.Action.HIDE_BY_BAN} <= actions
    assert_counts_exact(first, second)
    messages = [str(m) for m in response.wsgi_request._messages]
    assert messages == ["Banned 1 reader(s): Ani. 2 comment(s) hidden."]


def test_ban_author_as_a_suspension_keeps_comments(desk, article, post, reader):
    comment = post(article, "Rude.")
    until = timezone.localtime() + timedelta(days=3)
    run_action(desk, COMMENTS_URL, "ban_author", [comment], apply="1", reason="Cool off",
               until=until.strftime("%Y-%m-%dT%H:%M"))
    ban = Ban.objects.get()
    assert ban.until is not None and abs(ban.until - until) < timedelta(minutes=1)
    comment.refresh_from_db()
    assert comment.status == Status.APPROVED
    assert_counts_exact(article)


@pytest.mark.parametrize("bad", [{"reason": ""}, {"reason": "x", "until": "2001-01-01T10:00"}])
def test_ban_form_errors_show_again_and_ban_nobody(desk, article, post, bad):
    comment = post(article, "Rude.")
    response = run_action(desk, COMMENTS_URL, "ban_author", [comment], apply="1", **bad)
    assert response.status_code == 200
    assert "errorlist" in response.content.decode()
    assert not Ban.objects.exists()


def test_staff_authors_are_not_banned(desk, article, post, desk_moderator):
    comment = post(article, "Staff comment.", author=desk_moderator)
    response = run_action(desk, COMMENTS_URL, "ban_author", [comment])
    assert "Staff accounts are not banned from here" in response.content.decode()
    run_action(desk, COMMENTS_URL, "ban_author", [comment], apply="1", reason="x")
    assert not Ban.objects.exists()


def test_change_page_shows_thread_context_flags_and_the_link(desk, article, post, reader, other_reader, make_reader):
    parent = post(article, "The parent comment.", author=other_reader)
    comment = post(article, "The comment <b>itself</b>.", parent=parent)
    post(article, "A reply below it.", parent=comment, author=other_reader)
    services.flag_comment(comment=comment, reader=other_reader, reason="off_topic", note="Not about ministers")
    response = desk.get(f"{COMMENTS_URL}{comment.pk}/change/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "The parent comment." in page and "A reply below it." in page
    assert "Off topic by Boris" in page and "Not about ministers" in page
    assert "The comment &lt;b&gt;itself&lt;/b&gt;." in page  # as typed, escaped
    assert f"/comments/{comment.pk}/" in page  # the permalink, which finds the page of its thread
    for action in ("approve", "reject", "mark_spam", "ban_author"):
        assert f'value="{action}"' in page
    # Comments are read-only: no form field, no save button.
    assert 'name="body' not in page and 'name="_save"' not in page


def test_change_page_button_runs_the_action(desk, article, post, other_reader):
    comment = post(article, "Flag me.")
    services.flag_comment(comment=comment, reader=other_reader, reason="abuse")
    response = desk.post(QUEUE_URL, {"action": "reject", "_selected_action": comment.pk})
    assert response.status_code == 302
    comment.refresh_from_db()
    assert comment.status == Status.REJECTED
    assert_counts_exact(article)


def test_comments_cannot_be_added_edited_or_deleted_in_the_admin(desk, admin_client, article, post):
    comment = post(article, "Stay as you are.")
    for client in (desk, admin_client):
        assert client.get(f"{COMMENTS_URL}add/").status_code == 403
        client.post(f"{COMMENTS_URL}{comment.pk}/change/", {"body_html": "<script>x</script>", "status": "spam"})
        assert client.post(f"{COMMENTS_URL}{comment.pk}/delete/", {"post": "yes"}).status_code == 403
        assert "delete_selected" not in client.get(COMMENTS_URL).content.decode()
    comment.refresh_from_db()
    assert (comment.body_html, comment.status) == ("<p>Stay as you are.</p>", Status.APPROVED)


@pytest.mark.parametrize("url", [COMMENTS_URL, QUEUE_URL])
def test_changelist_query_count_does_not_grow_with_rows(desk, make_article, make_reader, post, url):
    def queries_for_list() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert desk.get(url).status_code == 200
        return len(captured)

    articles = [make_article() for _ in range(5)]
    authors = [make_reader(moderation="always") for _ in range(5)]  # held: in the queue too
    for i in range(5):
        post(articles[i], f"Comment {i}", author=authors[i])
    few = queries_for_list()
    for i in range(45):
        post(articles[i % 5], f"More {i}", author=authors[i % 5])
    assert Comment.objects.in_moderation().count() == 50
    assert queries_for_list() == few
