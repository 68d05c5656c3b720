"""The rest of the desk: who may enter, bans and lifting them, words, closing articles, the log."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from comments import services
from comments.models import Article, Ban, BannedWord, Comment, ModerationLogEntry
from tests.admin_support import (
    COMMENTS_URL,
    READERS_URL,
    assert_counts_exact,
    run_action,
)

MODERATOR_PERMISSIONS = {
    "view_comment", "moderate_comment", "view_moderationqueue", "view_flag", "view_ban", "ban_reader",
    "view_bannedword", "add_bannedword", "change_bannedword", "delete_bannedword",
    "view_moderationlogentry", "view_article", "moderate_article", "view_readerprofile",
}



# --- Who may enter ------------------------------------------------------------------------------


def test_moderators_group_has_exactly_the_moderation_permissions(db):
    group = Group.objects.get(name="Moderators")
    perms = set(group.permissions.values_list("content_type__app_label", "codename"))
    assert perms == {("comments", codename) for codename in MODERATOR_PERMISSIONS}


@pytest.mark.parametrize(
    "url",
    [
        "/admin/", COMMENTS_URL, "/admin/comments/moderationqueue/", "/admin/comments/flag/",
        "/admin/comments/ban/", "/admin/comments/bannedword/", "/admin/comments/bannedword/add/",
        "/admin/comments/moderationlogentry/", "/admin/comments/article/", READERS_URL,
    ],
)
def test_moderator_reaches_the_desk(desk, url):
    assert desk.get(url).status_code == 200


def test_reader_cannot_reach_the_admin(client, reader):
    client.force_login(reader)
    response = client.get("/admin/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    assert client.get(COMMENTS_URL).status_code == 302


@pytest.mark.parametrize(
    "path",
    ["/admin/auth/group/", "/admin/auth/group/add/", "/admin/auth/user/", "/admin/auth/user/{pk}/password/",
     "/admin/auth/user/{pk}/change/", "/admin/comments/readerprofile/add/", "/admin/comments/article/add/"],
)
def test_moderator_cannot_reach_passwords_groups_or_site_settings(desk, reader, path):
    assert desk.get(path.format(pk=reader.pk)).status_code == 403


def test_moderator_cannot_edit_a_reader(desk, reader):
    desk.post(f"{READERS_URL}{reader.pk}/change/", {"display_name": "Renamed", "moderation": "trusted"})
    desk.post(f"/admin/auth/user/{reader.pk}/change/", {"username": reader.username, "is_staff": "on"})
    reader.refresh_from_db()
    profile = reader.comments_profile
    profile.refresh_from_db()
    assert not reader.is_staff and (profile.display_name, profile.moderation) == ("Ani", "default")


def test_readers_list_shows_public_names_and_logins(desk, reader):
    page = desk.get(READERS_URL).content.decode()
    assert "Ani" in page and reader.get_username() in page


def test_a_superuser_renames_a_reader_in_the_readers_list(client, django_user_model, reader, article, post):
    post(article, "Named.")
    client.force_login(django_user_model.objects.create_superuser(username="root", email="r@example.com",
                                                                 password="x"))
    response = client.post(f"{READERS_URL}{reader.pk}/change/", {"display_name": "Anahit"})
    assert response.status_code == 302
    reader.comments_profile.refresh_from_db()
    assert reader.comments_profile.display_name == "Anahit"


def test_staff_without_the_group_sees_no_actions(client, moderator, article, post):
    comment = post(article, "Hello.")
    client.force_login(moderator)  # staff, but not in Moderators: the admin has nothing for them
    assert client.get(COMMENTS_URL).status_code == 403
    run_action(client, COMMENTS_URL, "reject", [comment])
    comment.refresh_from_db()
    assert comment.status == Comment.Status.APPROVED


# --- Bans ---------------------------------------------------------------------------------------


def test_ban_readers_from_the_reader_list(desk, reader, other_reader, desk_moderator):
    response = run_action(desk, READERS_URL, "ban", [reader, other_reader, desk_moderator],
                          apply="1", reason="Spam ring")
    assert response.status_code == 302
    assert set(Ban.objects.values_list("reader__comments_profile__display_name", flat=True)) == {"Ani", "Boris"}


def test_lift_a_ban(desk, reader, desk_moderator, article):
    ban = services.ban_reader(reader=reader, moderator=desk_moderator, reason="Abuse")
    with pytest.raises(Exception, match="banned"):
        services.post_comment(article=article, author=reader, body="Let me in.")
    assert "Ani" in desk.get("/admin/comments/ban/", {"state": "active"}).content.decode()
    run_action(desk, "/admin/comments/ban/", "lift", [ban])
    ban.refresh_from_db()
    assert ban.lifted_at is not None and ban.lifted_by == desk_moderator and not ban.is_active
    assert ModerationLogEntry.objects.filter(action="lift_ban", reader=reader, actor=desk_moderator).exists()
    services.post_comment(article=article, author=reader, body="Thanks, I'll behave.")
    assert "Ani" not in desk.get("/admin/comments/ban/", {"state": "active"}).content.decode()


def test_bans_are_not_edited_or_added_by_hand(desk, reader, desk_moderator):
    ban = services.ban_reader(reader=reader, moderator=desk_moderator, reason="Abuse")
    assert desk.get("/admin/comments/ban/add/").status_code == 403
    desk.post(f"/admin/comments/ban/{ban.pk}/change/", {"reason": "changed"})
    ban.refresh_from_db()
    assert ban.reason == "Abuse"


# --- Pre-moderation settings ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "site_premoderates", "expected"),
    [("premoderate_always", False, "pending"), ("trust", True, "approved")],
)
def test_moderator_sets_a_readers_premoderation(
    settings, desk, desk_moderator, article, reader, action, site_premoderates, expected
):
    settings.COMMENTS_PREMODERATE = site_premoderates
    run_action(desk, READERS_URL, action, [reader])
    rule = reader.comments_profile
    rule.refresh_from_db()
    # The reader's rule beats the site's.
    assert services.post_comment(article=article, author=reader, body="Hello.").status == expected
    entry = ModerationLogEntry.objects.get(action="reader_moderation")
    assert (entry.actor, entry.reader, entry.status_before, entry.status_after) == (
        desk_moderator, reader, "default", rule.moderation)


def test_moderator_sets_an_articles_premoderation(desk, article, post):
    run_action(desk, "/admin/comments/article/", "premoderate_on", [article])
    article.refresh_from_db()
    assert post(article, "Held now.").status == "pending"
    run_action(desk, "/admin/comments/article/", "premoderate_default", [article])
    article.refresh_from_db()
    assert post(article, "Published again.").status == "approved"
    assert list(ModerationLogEntry.objects.filter(action="article_moderation").order_by("id").values_list(
        "status_before", "status_after")) == [("default", "on"), ("on", "default")]
    assert_counts_exact(article)


# --- Banned and suspect words ---------------------------------------------------------------------


def test_moderator_adds_a_word_and_it_applies_at_once(desk, article, post):
    post(article, "Warm up the cache of words.")
    response = desk.post("/admin/comments/bannedword/add/", {"word": "  Дурак ", "action": "reject"})
    assert response.status_code == 302
    assert BannedWord.objects.get().word == "Дурак"
    with pytest.raises(Exception, match="not allowed"):
        post(article, "Ты ДУРАК.")


def test_same_word_in_another_case_is_refused(desk):
    BannedWord.objects.create(word="վատ")
    response = desk.post("/admin/comments/bannedword/add/", {"word": "ՎԱՏ", "action": "hold"})
    assert response.status_code == 200
    assert "already on the list" in response.content.decode()
    assert BannedWord.objects.count() == 1


def test_deleting_a_word_lets_comments_through_again(desk, article, post):
    word = BannedWord.objects.create(word="idiot", action="reject")
    with pytest.raises(Exception, match="not allowed"):
        post(article, "You idiot.")
    desk.post(f"/admin/comments/bannedword/{word.pk}/delete/", {"post": "yes"})
    assert post(article, "You idiot.").is_visible


# --- Closing articles ---------------------------------------------------------------------------------


def test_close_and_reopen_comments_on_an_article(desk, client, article, post, reader, desk_moderator):
    post(article, "Before closing.")
    run_action(desk, "/admin/comments/article/", "close_comments", [article])
    article.refresh_from_db()
    assert not article.comments_open and not article.accepts_comments
    entry = ModerationLogEntry.objects.get(action="close")
    assert (entry.actor, entry.article) == (desk_moderator, article)

    client.force_login(reader)
    page = client.get(article.get_absolute_url()).content.decode()
    assert "Comments are closed on this article." in page
    assert "Before closing." in page
    assert 'id="comment-form"' not in page and "Post reply" not in page
    response = client.post(f"/articles/{article.key}/comments/", {"body": "Sneaking in."})
    assert response.status_code == 403 and "Comments are closed" in response.content.decode()
    assert Comment.objects.count() == 1

    client.force_login(desk_moderator)
    run_action(client, "/admin/comments/article/", "open_comments", [article])
    article.refresh_from_db()
    assert article.accepts_comments
    assert_counts_exact(article)


def test_articles_close_by_age(settings, client, make_article, reader):
    settings.COMMENTS_CLOSE_AFTER_DAYS = 7
    old = make_article(published_at=timezone.now() - timedelta(days=8))
    fresh = make_article(published_at=timezone.now() - timedelta(days=6))
    assert not old.accepts_comments and fresh.accepts_comments
    client.force_login(reader)
    assert 'id="comment-form"' not in client.get(old.get_absolute_url()).content.decode()
    assert 'id="comment-form"' in client.get(fresh.get_absolute_url()).content.decode()


def test_comments_open_is_not_editable_in_the_article_form(admin_client, article):
    data = {"key": article.key, "title": article.title, "published_at_0": "2026-01-01",
            "published_at_1": "10:00", "premoderation": "default", "comments_open": ""}
    admin_client.post(f"/admin/comments/article/{article.pk}/change/", data)
    assert Article.objects.get(pk=article.pk).comments_open


# --- The log ------------------------------------------------------------------------------------------


def test_the_log_records_who_when_what_and_why(desk, article, post, desk_moderator):
    comment = post(article, "To be removed.")
    run_action(desk, COMMENTS_URL, "reject", [comment])
    entry = ModerationLogEntry.objects.get()
    assert (entry.actor, entry.action, entry.comment, entry.reader, entry.article) == (
        desk_moderator, "reject", comment, comment.author, article)
    assert (entry.status_before, entry.status_after) == ("approved", "rejected")
    page = desk.get("/admin/comments/moderationlogentry/").content.decode()
    assert "Mira the moderator" in page and "approved → rejected" in page


@pytest.mark.parametrize("who", ["moderator", "superuser"])
def test_the_log_cannot_be_added_changed_or_deleted(desk, admin_client, article, post, who):
    client = desk if who == "moderator" else admin_client
    comment = post(article, "To be removed.")
    services.reject_comment(comment=comment, moderator=None, reason="original")
    entry = ModerationLogEntry.objects.get()
    base = "/admin/comments/moderationlogentry/"
    assert client.get(f"{base}add/").status_code == 403
    assert client.post(f"{base}{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    client.post(f"{base}{entry.pk}/change/", {"reason": "rewritten"})
    run_action(client, base, "delete_selected", [entry], post="yes")
    entry.refresh_from_db()
    assert entry.reason == "original"
