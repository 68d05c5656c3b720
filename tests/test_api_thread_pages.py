"""Thread pages served from cached bytes: never stale, 304 on an unchanged page, shared by readers."""

from datetime import UTC

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from comments import payloads, selectors, services, versions
from comments.api.serializers import CommentSerializer
from comments.models import Comment, ReaderProfile

from .test_api_comments import thread_url


def anonymous_read(article, **params):
    return Client().get(thread_url(article), params)


def bodies(response) -> list[str]:
    return [node["body_html"] for node in payloads._walk(response.json()["results"])]


def test_a_warm_anonymous_read_touches_no_database(article, post, django_assert_num_queries):
    post(article, "Hello")
    first = anonymous_read(article)
    with django_assert_num_queries(0):
        again = anonymous_read(article)
    assert again.content == first.content
    assert again["ETag"] == first["ETag"]
    assert again["Cache-Control"] == "public, max-age=0, s-maxage=5"
    assert "Cookie" in again["Vary"] and "X-Session-Token" in again["Vary"]


def test_an_unchanged_page_answers_304_and_a_changed_one_200(article, post):
    post(article, "Hello")
    etag = anonymous_read(article)["ETag"]
    unchanged = Client().get(thread_url(article), HTTP_IF_NONE_MATCH=etag)
    assert unchanged.status_code == 304 and unchanged.content == b""
    assert Client().get(thread_url(article), HTTP_IF_NONE_MATCH=f"W/{etag}").status_code == 304

    post(article, "News")
    changed = Client().get(thread_url(article), HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200
    assert changed["ETag"] != etag


def change_by_posting(ctx):
    services.post_comment(article=ctx["article"], author=ctx["other"], body="A new one")


def change_by_liking(ctx):
    services.like_comment(comment=ctx["comment"], reader=ctx["other"])


def change_by_unliking(ctx):
    services.unlike_comment(comment=ctx["comment"], reader=ctx["liker"])


def change_by_editing(ctx):
    services.edit_comment(comment=ctx["comment"], editor=ctx["reader"], body="Edited text")


def change_by_deleting(ctx):
    services.delete_comment(comment=ctx["comment"], actor=ctx["reader"])


def change_by_rejecting(ctx):
    services.reject_comment(comment=ctx["comment"], moderator=ctx["moderator"])


def change_by_renaming(ctx):
    services.set_reader_display_name(reader=ctx["reader"], display_name="Anahit")


def change_by_banning_with_hiding(ctx):
    services.ban_reader(reader=ctx["reader"], moderator=ctx["moderator"], reason="spam", hide_comments=True)


def change_by_deleting_the_account(ctx):
    type(ctx["reader"]).objects.filter(pk=ctx["reader"].pk).delete()


def change_by_renaming_in_the_admin(ctx):
    admin_client = Client()
    admin_client.force_login(ctx["superuser"])
    reader = ctx["reader"]
    response = admin_client.post(f"/admin/comments/readerprofile/{reader.pk}/change/", {"display_name": "Anahit"})
    assert response.status_code == 302, response.content[:500]


def change_by_renaming_on_the_user_page(ctx):
    """The stand-alone service's user admin carries the profile inline (comments_project/admin.py)."""
    admin_client = Client()
    admin_client.force_login(ctx["superuser"])
    reader = ctx["reader"]
    response = admin_client.post(f"/admin/auth/user/{reader.pk}/change/", {
        "username": reader.username, "email": reader.email, "is_active": "on",
        "date_joined_0": "2026-01-01", "date_joined_1": "10:00:00",
        "comments_profile-TOTAL_FORMS": "1", "comments_profile-INITIAL_FORMS": "1",
        "comments_profile-MIN_NUM_FORMS": "0", "comments_profile-MAX_NUM_FORMS": "1",
        "comments_profile-0-user": reader.pk, "comments_profile-0-display_name": "Anahit",
    })
    assert response.status_code == 302, response.content[:2000]
    reader.comments_profile.refresh_from_db()
    assert reader.comments_profile.display_name == "Anahit"


@pytest.mark.parametrize("change", [
    change_by_posting, change_by_liking, change_by_unliking, change_by_editing, change_by_deleting,
    change_by_rejecting, change_by_renaming, change_by_banning_with_hiding, change_by_deleting_the_account,
    change_by_renaming_in_the_admin, change_by_renaming_on_the_user_page,
])
def test_every_change_the_public_sees_shows_on_the_next_read(
    article, reader, other_reader, make_reader, moderator, post, change, django_user_model
):
    comment = post(article, "Original text")
    liker = make_reader("Liker")
    services.like_comment(comment=comment, reader=liker)
    superuser = django_user_model.objects.create_superuser(username="root", email="root@example.com",
                                                           password="x")
    before = anonymous_read(article)

    change({"article": article, "reader": reader, "other": other_reader, "liker": liker, "comment": comment,
            "moderator": moderator, "superuser": superuser})

    after = anonymous_read(article)
    assert after.content != before.content
    # And it is exactly what a page built from scratch shows.
    cache.clear()
    assert anonymous_read(article).json() == after.json()


def test_the_version_moves_again_after_the_commit(article, post, django_capture_on_commit_callbacks):
    post(article, "Hello")
    anonymous_read(article)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        post(article, "Hello again")
    during = versions.peek(article.key)
    for callback in callbacks:
        callback()
    # A page built from a snapshot taken before the commit is orphaned by the move after it.
    assert versions.peek(article.key) != during


@pytest.mark.django_db(transaction=True)
def test_a_post_from_a_plain_request_moves_the_versions_once(api_client, article, reader, monkeypatch):
    """One cache write per change (after the commit): a second one before it helps no reader."""
    moves = []
    monkeypatch.setattr(versions, "bump", lambda keys, counts: moves.append((list(keys), counts)))
    response = api_client(reader).post(f"/api/v1/articles/{article.key}/comments/", {"body": "Once."}, format="json")
    assert response.status_code == 201
    assert moves == [([article.key], True)]


def test_inside_a_callers_transaction_the_version_also_moves_at_once(article, post):
    """A test case's transaction (like ATOMIC_REQUESTS or an admin form) never commits here:
    reads after the change inside it must not get the page cached before it."""
    post(article, "Hello")
    before = versions.peek(article.key)
    post(article, "Hello again")
    assert versions.peek(article.key) != before


def test_unknown_articles_leave_nothing_in_the_cache(db):
    response = Client().get("/api/v1/articles/no-such-article/comments/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert versions.peek("no-such-article") is None


def test_each_url_has_its_own_page_and_the_links_survive_caching(article, post):
    for i in range(3):
        post(article, f"Comment {i}")
    first = anonymous_read(article, page_size=1)
    assert len(first.json()["results"]) == 1
    cached = anonymous_read(article, page_size=1)
    assert cached.json()["next"] == first.json()["next"] is not None
    second = Client().get(first.json()["next"])
    assert second.json()["results"][0]["id"] != first.json()["results"][0]["id"]
    assert len(anonymous_read(article, page_size=3).json()["results"]) == 3


def test_signed_in_readers_share_the_page_with_their_own_likes_and_rights(
    article, reader, other_reader, post, api_client
):
    mine = post(article, "Mine")
    theirs = post(article, "Theirs", author=other_reader)
    services.like_comment(comment=theirs, reader=reader)
    anonymous = anonymous_read(article).json()["results"]
    assert not any(node["liked"] or node["can_edit"] or node["can_delete"] for node in anonymous)

    response = api_client(reader).get(thread_url(article))
    assert response["Cache-Control"] == "private, no-cache"
    by_id = {node["id"]: node for node in response.json()["results"]}
    assert (by_id[mine.pk]["can_edit"], by_id[mine.pk]["can_delete"], by_id[mine.pk]["liked"]) == (True, True, False)
    assert (by_id[theirs.pk]["can_edit"], by_id[theirs.pk]["can_delete"], by_id[theirs.pk]["liked"]) == (
        False, False, True)
    # The shared page was not changed by the overlay.
    assert anonymous_read(article).json()["results"] == anonymous


def test_a_pending_comment_is_shown_to_its_author_only(article, reader, other_reader, post, api_client):
    post(article, "Public", author=other_reader)
    services.set_reader_moderation(reader=reader, moderator=None, moderation=ReaderProfile.Moderation.ALWAYS)
    anonymous_read(article)  # the public page is cached before the pending comment exists
    pending = post(article, "Waiting")
    assert pending.status == Comment.Status.PENDING

    own = api_client(reader).get(thread_url(article)).json()["results"]
    assert [node["id"] for node in own if node["status"] == "pending"] == [pending.pk]
    for viewer in (None, other_reader):
        client = api_client(viewer) if viewer else Client()
        assert pending.pk not in [node["id"] for node in client.get(thread_url(article)).json()["results"]]


def test_the_payload_is_what_the_schema_serializer_describes(article, reader, other_reader, make_reader, post):
    """CommentSerializer documents the shape in the schema; the fast payload must match it exactly."""
    root = post(article, "Root *with* <b>markup</b>")
    reply = post(article, "Reply", parent=root, author=other_reader)
    post(article, "Deeper", parent=reply)
    gone = post(article, "Gone soon", author=other_reader)
    post(article, "Answer to the gone one", parent=gone)
    services.delete_comment(comment=gone, actor=other_reader)  # a tombstone with a reply below
    services.like_comment(comment=reply, reader=reader)
    services.set_reader_moderation(reader=reader, moderator=None, moderation=ReaderProfile.Moderation.ALWAYS)
    post(article, "Pending reply", parent=root)

    for viewer in (None, reader, other_reader):
        with timezone.override(UTC):  # as the API renders it (ApiView)
            expected = CommentSerializer(selectors.article_thread(article, viewer=viewer), many=True).data
        roots = payloads.fetch_rows(selectors.shown_roots(article, viewer=viewer))
        assert payloads.threads(roots, article_key=article.key, viewer=viewer) == [dict(n) for n in
                                                                                   _plain(expected)]


def _plain(data):
    """DRF's ReturnDict / OrderedDict nests, as plain dicts and lists."""
    if isinstance(data, dict):
        return {key: _plain(value) for key, value in data.items()}
    if isinstance(data, list):
        return [_plain(item) for item in data]
    return data


def test_a_pending_reply_is_laid_into_the_shared_page_as_a_page_built_for_its_author(
    article, reader, other_reader, post, api_client, settings, django_assert_num_queries
):
    first = post(article, "First", author=other_reader)
    second = post(article, "Second", author=other_reader)
    post(article, "An older answer", parent=first, author=other_reader)
    services.set_reader_moderation(reader=reader, moderator=None, moderation=ReaderProfile.Moderation.ALWAYS)
    waiting = post(article, "My answer, waiting", parent=first)
    post(article, "A newer public answer", parent=first, author=other_reader)
    post(article, "Also waiting, under the second", parent=second)
    anonymous_read(article)  # the shared page is cached

    client = api_client(reader)
    with django_assert_num_queries(2):  # the reader's pending comments, their likes
        laid = client.get(thread_url(article)).json()
    settings.COMMENTS_READ_CACHE = False
    built = client.get(thread_url(article)).json()
    assert laid == built
    replies = {node["id"]: [(r["body_html"], r["status"]) for r in node["replies"]] for node in laid["results"]}
    assert replies[first.pk] == [("<p>An older answer</p>", "approved"), ("<p>My answer, waiting</p>", "pending"),
                                 ("<p>A newer public answer</p>", "approved")]
    assert replies[second.pk] == [("<p>Also waiting, under the second</p>", "pending")]
    mine = next(r for r in next(n for n in laid["results"] if n["id"] == first.pk)["replies"] if r["id"] == waiting.pk)
    assert (mine["can_edit"], mine["can_delete"]) == (True, True)
    # Nobody else sees them.
    assert "waiting" not in anonymous_read(article).content.decode()


@pytest.mark.parametrize("answer", ["early", "late", "both", "under a reply past the cut"])
def test_a_pending_reply_in_a_cut_thread_moves_the_cut_as_the_author_s_own_page_would(
    article, reader, other_reader, post, api_client, settings, answer
):
    settings.COMMENTS_REPLIES_SHOWN = 3
    root = post(article, "Root", author=other_reader)
    first = post(article, "Reply 1", parent=root, author=other_reader)
    post(article, "Reply 1.1", parent=first, author=other_reader)
    services.set_reader_moderation(reader=reader, moderator=None, moderation=ReaderProfile.Moderation.ALWAYS)
    if answer in ("early", "both"):
        post(article, "Mine, early", parent=first)
    replies = [post(article, f"Reply {n}", parent=root, author=other_reader) for n in range(2, 6)]
    if answer == "under a reply past the cut":
        post(article, "Mine, under reply 5", parent=replies[-1])
    if answer in ("late", "both"):
        post(article, "Mine, late", parent=root)
    anonymous_read(article)  # the shared page is cached, cut after 3

    client = api_client(reader)
    laid = client.get(thread_url(article)).json()
    settings.COMMENTS_READ_CACHE = False
    built = client.get(thread_url(article)).json()
    assert laid == built
    assert laid["results"][0]["more_replies"]["count"] >= 3
    # And following the cut from there shows the rest, the author's pending reply included once.
    bodies = [node["body_html"] for node in payloads._walk(laid["results"][0]["replies"])]
    url = laid["results"][0]["more_replies"]["next"]
    while url:
        batch = client.get(url).json()
        bodies += [node["body_html"] for node in payloads._walk(batch["results"])]
        url = batch["next"]
    assert len(bodies) == 6 + (2 if answer == "both" else 1)
    mine = [body for body in bodies if "Mine" in body]
    assert len(mine) == (2 if answer == "both" else 1)


def test_a_page_this_process_served_lately_costs_one_cache_read_the_version(article, post):
    from unittest import mock

    post(article, "Hello")
    anonymous_read(article)
    with mock.patch.object(cache, "get", wraps=cache.get) as get:
        again = anonymous_read(article)
    assert again.status_code == 200
    assert get.call_count == 1  # the article's version; the page itself came from the process
    post(article, "News")
    assert "News" in anonymous_read(article).content.decode()
