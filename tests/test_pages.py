"""The server-rendered pages, as a reader without JavaScript uses them."""

import json
import re
from unittest import mock

import pytest
from django.core import mail
from django.test import Client

from comments import services
from comments.models import Comment


def page(client, article, **params):
    return client.get(article.get_absolute_url(), params)


def test_front_page_lists_articles_newest_first_with_counts(client, make_article, post):
    older = make_article("older", title="Older news", published_at="2023-03-19T10:00:00+04:00")
    newer = make_article("newer", title="Newer news", published_at="2023-03-20T10:00:00+04:00")
    post(older, "one")
    html = client.get("/").content.decode()
    assert html.index("Newer news") < html.index("Older news")
    assert re.search(r'data-comment-count="older">1<', html)
    assert re.search(r'data-comment-count="newer">0<', html)
    assert newer.get_absolute_url() in html


def test_article_page_shows_article_count_and_thread(client, article, post, other_reader):
    top = post(article, "Great <b>reporting</b>")
    post(article, "Agreed", parent=top, author=other_reader)
    response = page(client, article)
    html = response.content.decode()
    assert response.status_code == 200
    assert article.title in html
    assert 'data-comment-count="742163">2<' in html
    assert "<p>Great reporting</p>" in html
    assert f'id="comment-{top.pk}"' in html and 'class="replies"' in html
    assert "Sign in to comment" in html
    assert "Content-Security-Policy" in response.headers
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]


def test_unknown_article_is_404(client, db):
    assert client.get("/articles/nope/").status_code == 404


def test_sign_in_link_returns_to_the_article(client, article):
    html = page(client, article).content.decode()
    assert f"/accounts/login/?next={article.get_absolute_url()}" in html


def test_signed_in_reader_comments_and_replies(client, article, reader, other_reader, post):
    client.force_login(reader)
    response = client.post(f"/articles/{article.key}/comments/", {"body": "My view"})
    comment = Comment.objects.get(body="My view")
    assert response.status_code == 302 and response["Location"] == f"/comments/{comment.pk}/"
    theirs = post(article, "Their view", author=other_reader)
    client.post(f"/articles/{article.key}/comments/", {"body": "A reply", "parent": theirs.pk})
    reply = Comment.objects.get(body="A reply")
    assert reply.parent == theirs
    html = page(client, article).content.decode()
    assert "My view" in html and "A reply" in html and f'id="reply-body-{theirs.pk}"' in html


@pytest.mark.parametrize("body", ["", "   \n  "])
def test_empty_comment_shows_a_message_and_saves_nothing(client, article, reader, body):
    client.force_login(reader)
    response = client.post(f"/articles/{article.key}/comments/", {"body": body})
    assert response.status_code == 400
    assert "Write something before posting." in response.content.decode()
    assert Comment.objects.count() == 0


def test_too_long_comment_keeps_the_text_and_explains(client, article, reader, settings):
    settings.COMMENTS_MAX_LENGTH = 10
    client.force_login(reader)
    response = client.post(f"/articles/{article.key}/comments/", {"body": "x" * 11})
    html = response.content.decode()
    assert response.status_code == 400
    assert "limited to 10 characters" in html and "x" * 11 in html
    assert Comment.objects.count() == 0


def test_reply_to_a_comment_of_another_article_is_refused_on_the_page(client, article, make_article, reader, post):
    elsewhere = post(make_article(), "elsewhere")
    client.force_login(reader)
    response = client.post(f"/articles/{article.key}/comments/", {"body": "sneaky", "parent": elsewhere.pk})
    assert response.status_code == 400
    assert "not available on this article" in response.content.decode()
    assert not Comment.objects.filter(body="sneaky").exists()


@pytest.mark.parametrize("parent", ["abc", "999999", "-1", "99999999999999999999999"])
def test_malformed_or_unknown_parent_is_refused_on_the_page(client, article, reader, parent):
    client.force_login(reader)
    response = client.post(f"/articles/{article.key}/comments/", {"body": "hello", "parent": parent})
    assert response.status_code == 400
    assert not Comment.objects.exists()


def test_reply_to_hidden_comment_is_refused_on_the_page(client, article, reader, moderator, post):
    hidden = post(article, "hidden")
    services.reject_comment(comment=hidden, moderator=moderator)
    client.force_login(reader)
    response = client.post(f"/articles/{article.key}/comments/", {"body": "reply", "parent": hidden.pk})
    assert response.status_code == 400
    assert "not available on this article" in response.content.decode()


def test_closed_article_shows_thread_read_only_and_refuses_posts(client, make_article, reader, post):
    closed = make_article(comments_open=True)
    post(closed, "before closing")
    services.set_comments_open(article=closed, is_open=False, actor=None)
    client.force_login(reader)
    html = page(client, closed).content.decode()
    assert "Comments are closed" in html and "before closing" in html and 'name="body"' not in html
    response = client.post(f"/articles/{closed.key}/comments/", {"body": "late"})
    assert response.status_code == 403 and "closed" in response.content.decode()
    assert not Comment.objects.filter(body="late").exists()


def test_forged_form_without_csrf_token_is_refused_plainly(article, reader):
    client = Client(enforce_csrf_checks=True)
    client.force_login(reader)
    response = client.post(f"/articles/{article.key}/comments/", {"body": "forged"})
    assert response.status_code == 403
    assert "could not be accepted" in response.content.decode()
    assert not Comment.objects.exists()


def test_anonymous_post_is_sent_to_sign_in(client, article):
    response = client.post(f"/articles/{article.key}/comments/", {"body": "hi"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not Comment.objects.exists()


def test_hostile_comment_is_shown_escaped(client, article, post):
    post(article, '<script>alert("x")</script><img src=x onerror=alert(1)> <a href="javascript:alert(1)">link</a>')
    html = page(client, article).content.decode()
    thread = html[html.index('class="thread"'):]
    assert "<script>" not in thread and "onerror" not in thread and "javascript:" not in thread


def test_author_edits_and_deletes_from_the_page(client, article, reader, post):
    comment = post(article, "first draft")
    client.force_login(reader)
    assert client.get(f"/comments/{comment.pk}/edit/").status_code == 200
    client.post(f"/comments/{comment.pk}/edit/", {"body": "second draft"})
    comment.refresh_from_db()
    assert comment.body == "second draft" and comment.edited_at
    client.post(f"/comments/{comment.pk}/delete/")
    comment.refresh_from_db()
    assert comment.is_deleted
    article.refresh_from_db()
    assert article.comment_count == 0


def test_other_readers_cannot_edit_or_delete(client, article, other_reader, post):
    comment = post(article, "mine")
    client.force_login(other_reader)
    assert client.post(f"/comments/{comment.pk}/edit/", {"body": "hijack"}).status_code == 404
    assert client.post(f"/comments/{comment.pk}/delete/").status_code == 404
    comment.refresh_from_db()
    assert comment.body == "mine" and not comment.is_deleted


def test_like_and_report_from_the_page(client, article, other_reader, post):
    comment = post(article, "good point")
    client.force_login(other_reader)
    client.post(f"/comments/{comment.pk}/like/")
    comment.refresh_from_db()
    assert comment.like_count == 1
    client.post(f"/comments/{comment.pk}/like/", {"action": "unlike"})
    comment.refresh_from_db()
    assert comment.like_count == 0
    client.post(f"/comments/{comment.pk}/flag/", {"reason": "abuse", "note": "rude"})
    assert comment.flags.get().reason == "abuse"


def test_pages_paginate_top_level_comments(client, article, post, settings):
    settings.COMMENTS_PAGE_SIZE = 2
    for n in range(5):
        post(article, f"comment number {n}")
    first = page(client, article).content.decode()
    third = page(client, article, page=3).content.decode()
    assert "comment number 4" in first and "comment number 0" not in first
    assert "comment number 0" in third and "Page 3 of 3" in third


def test_sign_up_flow_creates_a_reader_with_display_name_and_sends_verification(client, article, django_user_model):
    response = client.post(
        "/accounts/signup/",
        {"email": "new@example.com", "display_name": "Narek", "password1": "a long secret phrase",
         "password2": "a long secret phrase", "next": article.get_absolute_url()},
    )
    assert response.status_code == 302 and response["Location"] == article.get_absolute_url()
    reader = django_user_model.objects.get(email="new@example.com")
    assert reader.comments_profile.display_name == "Narek"
    assert len(mail.outbox) == 1 and "new@example.com" in mail.outbox[0].to
    client.post(f"/articles/{article.key}/comments/", {"body": "Hello from a new reader"})
    html = page(Client(), article).content.decode()
    assert "Narek" in html and "Hello from a new reader" in html
    assert "new@example.com" not in html  # the email is never shown to others


def test_sign_in_and_out(client, reader):
    response = client.post("/accounts/login/", {"login": reader.email, "password": "correct horse battery"})
    assert response.status_code == 302
    assert "Signed in as" in client.get("/").content.decode()
    client.post("/accounts/logout/")
    assert "Signed in as" not in client.get("/").content.decode()


def test_account_pages_use_the_site_layout(client, db):
    html = client.get("/accounts/login/").content.decode()
    assert "The Daily Comment" in html and "site.css" in html


def test_password_reset_sends_a_mail(client, reader):
    client.post("/accounts/password/reset/", {"email": reader.email})
    assert len(mail.outbox) == 1 and "/accounts/password/reset/key/" in mail.outbox[0].body


def test_csrf_failure_under_api_is_json(rf):
    from comments.views import csrf_failure

    response = csrf_failure(rf.post("/api/v1/anything/"))
    assert response.status_code == 403 and response["Content-Type"] == "application/json"
    assert json.loads(response.content)["code"] == "csrf_failed"


def test_posting_from_the_page_shares_the_api_rate_limit(client, article, reader, settings):
    settings.COMMENTS_THROTTLE_RATES = {"post_comment": "2/min"}
    client.force_login(reader)
    for n in range(2):
        assert client.post(f"/articles/{article.key}/comments/", {"body": f"ok {n}"}).status_code == 302
    response = client.post(f"/articles/{article.key}/comments/", {"body": "one too many"})
    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    html = response.content.decode()
    assert "going too fast" in html and "one too many" in html  # the text is kept
    assert Comment.objects.count() == 2


def test_comment_permalink_lands_on_the_page_that_shows_its_thread(client, article, post, other_reader, settings):
    settings.COMMENTS_PAGE_SIZE = 2
    oldest = post(article, "the oldest")
    reply = post(article, "a reply to the oldest", parent=oldest, author=other_reader)
    for n in range(4):
        post(article, f"newer {n}")
    response = client.get(f"/comments/{reply.pk}/")
    assert response.status_code == 302
    assert response["Location"] == f"{article.get_absolute_url()}?page=3#comment-{reply.pk}"
    assert f'id="comment-{reply.pk}"' in client.get(response["Location"]).content.decode()
    newest = Comment.objects.filter(article=article).order_by("-id").first()
    assert client.get(f"/comments/{newest.pk}/")["Location"] == f"{article.get_absolute_url()}#comment-{newest.pk}"


def test_liking_on_an_older_page_returns_to_that_page(client, article, post, other_reader, settings):
    settings.COMMENTS_PAGE_SIZE = 1
    old = post(article, "old")
    post(article, "new")
    client.force_login(other_reader)
    response = client.post(f"/comments/{old.pk}/like/", follow=True)
    assert response.redirect_chain[-1][0].endswith(f"?page=2#comment-{old.pk}")


# --- Big sub-threads: cut on the article page, whole on the thread's own page --------------------


@pytest.fixture
def long_thread(article, post, other_reader, settings):
    """A top-level comment with 5 replies (one nested), 3 of them shown on the article page."""
    settings.COMMENTS_REPLIES_SHOWN = 3
    top = post(article, "The top comment")
    first = post(article, "Reply 1", parent=top, author=other_reader)
    post(article, "Reply 1a", parent=first)
    for n in (2, 3, 4):
        post(article, f"Reply {n}", parent=top, author=other_reader)
    return top


def test_the_article_page_cuts_a_long_thread_with_a_link_to_the_rest(client, article, long_thread):
    html = page(client, article).content.decode()
    assert "Reply 1a" in html and "Reply 2" in html
    assert "Reply 3" not in html and "Reply 4" not in html
    first_cut = Comment.objects.get(body="Reply 3")
    link = f'href="/comments/{long_thread.pk}/thread/#comment-{first_cut.pk}">Show 2 more replies</a>'
    assert link in html


def test_the_thread_page_shows_the_whole_thread_in_the_site_layout(client, article, long_thread):
    response = client.get(f"/comments/{long_thread.pk}/thread/")
    html = response.content.decode()
    assert response.status_code == 200
    assert article.title in html and "The Daily Comment" in html
    for body in ("The top comment", "Reply 1", "Reply 1a", "Reply 2", "Reply 3", "Reply 4"):
        assert f"<p>{body}</p>" in html
    assert "more replies" not in html
    assert f'href="/comments/{long_thread.pk}/"' in html  # back to the discussion


def test_a_reply_s_thread_address_leads_to_its_top_comment_s_thread(client, long_thread):
    reply = Comment.objects.get(body="Reply 1a")
    response = client.get(f"/comments/{reply.pk}/thread/")
    assert response.status_code == 302
    assert response["Location"] == f"/comments/{long_thread.pk}/thread/#comment-{reply.pk}"


def test_the_permalink_of_a_cut_reply_lands_on_its_thread_s_page(client, article, long_thread):
    shown, cut = Comment.objects.get(body="Reply 2"), Comment.objects.get(body="Reply 4")
    assert client.get(f"/comments/{shown.pk}/")["Location"] == f"{article.get_absolute_url()}#comment-{shown.pk}"
    assert client.get(f"/comments/{cut.pk}/")["Location"] == f"/comments/{long_thread.pk}/thread/#comment-{cut.pk}"


def test_a_hidden_thread_has_no_page(client, article, long_thread, moderator):
    services.reject_comment(comment=long_thread, moderator=moderator)  # a tombstone: its replies remain
    assert client.get(f"/comments/{long_thread.pk}/thread/").status_code == 200
    hidden = services.post_comment(article=article, author=moderator, body="Soon gone")
    services.reject_comment(comment=hidden, moderator=moderator)
    assert client.get(f"/comments/{hidden.pk}/thread/").status_code == 404
    assert client.get("/comments/999999/thread/").status_code == 404


def test_posting_from_the_page_sanitizes_once(client, article, reader):
    """The form leaves the body's rules to the service: bleach runs once per post, not twice."""
    client.force_login(reader)
    with mock.patch("comments.services.clean_comment_html", wraps=services.clean_comment_html) as clean:
        response = client.post(f"/articles/{article.key}/comments/", {"body": "Once <b>only</b>"})
    assert response.status_code == 302
    assert clean.call_count == 1


def test_a_markup_only_comment_from_the_page_shows_the_service_s_message(client, article, reader):
    client.force_login(reader)
    response = client.post(f"/articles/{article.key}/comments/", {"body": "<script></script>"})
    assert response.status_code == 400
    assert "no text once unsupported markup is removed" in response.content.decode()
    assert not article.comments.exists()
