"""The comments rows of API.md: the thread, posting, one comment, editing and deleting."""

from datetime import timedelta
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from comments import services
from comments.models import Article, BannedWord, Comment

COMMENT_FIELDS = {
    "id", "article", "parent", "in_reply_to", "depth", "author", "body_html", "created_at", "edited_at",
    "status", "is_deleted", "like_count", "liked", "reply_count", "can_edit", "can_delete", "replies", "more_replies",
}


def thread_url(article) -> str:
    return f"/api/v1/articles/{article.key}/comments/"


def comment_url(comment) -> str:
    return f"/api/v1/comments/{comment.pk}/"


def ids(results) -> list[int]:
    return [c["id"] for c in results]


# --- GET /api/v1/articles/{key}/comments/ -------------------------------------------------------


def test_thread_has_the_documented_shape(api_client, article, post, reader):
    root = post(article, "First *thought*")
    post(article, "A reply", parent=root)

    response = api_client(reader).get(thread_url(article))

    assert response.status_code == 200
    page = response.json()
    assert set(page) == {"count", "next", "previous", "results"}
    assert page["count"] == 2 == Article.objects.get(pk=article.pk).comment_count
    [top] = page["results"]
    assert set(top) == COMMENT_FIELDS
    assert top["article"] == article.key
    assert top["author"] == {"id": reader.pk, "display_name": "Ani"}
    assert top["body_html"] == "<p>First *thought*</p>"
    assert (top["status"], top["is_deleted"], top["reply_count"]) == ("approved", False, 1)
    assert (top["can_edit"], top["can_delete"], top["liked"]) == (True, True, False)
    assert top["replies"][0]["parent"] == root.pk
    assert top["replies"][0]["depth"] == 1


def test_thread_timestamps_are_rfc_3339_in_utc(api_client, article, post, settings):
    """Whatever the site's time zone (the seed's is Asia/Yerevan), the API writes UTC."""
    assert settings.TIME_ZONE != "UTC"
    comment = post(article)
    created = api_client().get(thread_url(article)).json()["results"][0]["created_at"]
    assert created.endswith("Z")
    assert timezone.datetime.fromisoformat(created) == comment.created_at
    article_time = api_client().get(f"/api/v1/articles/{article.key}/").json()["published_at"]
    assert article_time.endswith("Z")


def test_thread_of_unknown_article_is_404(api_client, db):
    response = api_client().get("/api/v1/articles/no-such-article/comments/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_replies_are_nested_oldest_first_under_every_sort(api_client, article, post, other_reader):
    root = post(article, "root")
    first = post(article, "first", parent=root)
    second = post(article, "second", parent=root, author=other_reader)
    deeper = post(article, "deeper", parent=first)

    for sort in ("newest", "oldest", "top"):
        [top] = api_client().get(thread_url(article), {"sort": sort}).json()["results"]
        assert ids(top["replies"]) == [first.pk, second.pk]
        assert ids(top["replies"][0]["replies"]) == [deeper.pk]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [("newest", ["c", "b", "a"]), ("oldest", ["a", "b", "c"]), ("top", ["b", "c", "a"]), (None, ["c", "b", "a"])],
)
def test_sort_orders_top_level_comments(api_client, article, post, make_reader, sort, expected):
    comments = {body: post(article, body) for body in "abc"}
    for liker in [make_reader(), make_reader()]:
        services.like_comment(comment=comments["b"], reader=liker)
    services.like_comment(comment=comments["c"], reader=liker)

    params = {"sort": sort} if sort else {}
    results = api_client().get(thread_url(article), params).json()["results"]

    by_id = {c.pk: body for body, c in comments.items()}
    assert [by_id[i] for i in ids(results)] == expected


def test_deep_reply_is_attached_beside_and_names_what_it_answers(api_client, article, post, settings):
    settings.COMMENTS_MAX_DEPTH = 1
    root = post(article, "root")
    child = post(article, "child", parent=root)

    response = api_client(child.author).post(thread_url(article), {"body": "deeper", "parent": child.pk}, format="json")

    assert response.status_code == 201
    body = response.json()
    assert (body["parent"], body["in_reply_to"], body["depth"]) == (root.pk, child.pk, 1)


def test_own_pending_comments_appear_as_pending_to_their_author_only(
    api_client, article, post, reader, other_reader, settings
):
    settings.COMMENTS_PREMODERATE = True
    pending = post(article, "awaiting a moderator")

    mine = api_client(reader).get(thread_url(article)).json()
    theirs = api_client(other_reader).get(thread_url(article)).json()
    anonymous = api_client().get(thread_url(article)).json()

    assert [(c["id"], c["status"]) for c in mine["results"]] == [(pending.pk, "pending")]
    assert theirs["results"] == anonymous["results"] == []
    assert mine["count"] == theirs["count"] == 0


@pytest.mark.parametrize("hide", ["reject", "spam", "delete"])
def test_hidden_comment_with_replies_is_a_tombstone(api_client, article, post, reader, other_reader, moderator, hide):
    root = post(article, "to be hidden")
    reply = post(article, "a reply", parent=root, author=other_reader)
    {
        "reject": lambda: services.reject_comment(comment=root, moderator=moderator),
        "spam": lambda: services.mark_spam(comment=root, moderator=moderator),
        "delete": lambda: services.delete_comment(comment=root, actor=reader),
    }[hide]()

    for viewer in (None, reader, other_reader):
        [top] = api_client(viewer).get(thread_url(article)).json()["results"]
        assert top["id"] == root.pk
        assert (top["is_deleted"], top["body_html"], top["author"], top["status"]) == (True, "", None, "deleted")
        assert (top["can_edit"], top["can_delete"]) == (False, False)
        assert ids(top["replies"]) == [reply.pk]


def test_hidden_comment_without_replies_is_gone(api_client, article, post, reader):
    comment = post(article)
    services.delete_comment(comment=comment, actor=reader)
    assert api_client(reader).get(thread_url(article)).json()["results"] == []


# --- Pagination -----------------------------------------------------------------------------------


def walk(client, url, params=None, *, direction="next", between=None) -> list[int]:
    """Follow the links from ``url`` to the end, calling ``between()`` after each page."""
    seen = []
    response = client.get(url, params or {})
    while True:
        assert response.status_code == 200, response.content
        page = response.json()
        seen.extend(ids(page["results"]))
        if between:
            between()
        if not page[direction]:
            return seen
        response = client.get(page[direction])


def test_page_size_defaults_to_20_and_counts_top_level_comments(api_client, article, post):
    roots = [post(article, f"root {i}") for i in range(23)]
    post(article, "a reply", parent=roots[-1])

    page = api_client().get(thread_url(article)).json()

    assert len(page["results"]) == 20
    assert page["count"] == 24
    assert page["previous"] is None and page["next"]


def test_page_size_may_be_200_but_not_more(api_client, article, post):
    for i in range(3):
        post(article, f"root {i}")
    assert len(api_client().get(thread_url(article), {"page_size": 200}).json()["results"]) == 3
    response = api_client().get(thread_url(article), {"page_size": 201})
    assert response.status_code == 400
    assert "page_size" in response.json()["fields"]


@pytest.mark.parametrize("sort", ["newest", "oldest", "top"])
def test_next_and_previous_walk_the_whole_thread_in_order(api_client, article, post, sort):
    roots = [post(article, f"root {i}") for i in range(11)]
    expected = ids(api_client().get(thread_url(article), {"sort": sort, "page_size": 100}).json()["results"])
    assert sorted(expected) == sorted(r.pk for r in roots)

    forward = walk(api_client(), thread_url(article), {"sort": sort, "page_size": 3})
    assert forward == expected

    last = api_client().get(thread_url(article), {"sort": sort, "page_size": 3})
    while last.json()["next"]:
        last = api_client().get(last.json()["next"])
    backward_pages = []
    page = last.json()
    while page["previous"]:
        page = api_client().get(page["previous"]).json()
        backward_pages.insert(0, ids(page["results"]))
    assert [i for p in backward_pages for i in p] + ids(last.json()["results"]) == expected


@pytest.mark.parametrize("sort", ["newest", "oldest"])
def test_pages_neither_repeat_nor_skip_while_comments_arrive(api_client, article, post, other_reader, sort):
    originals = [post(article, f"root {i}") for i in range(10)]
    arrivals = []

    def someone_posts():
        arrivals.append(post(article, "new arrival", author=other_reader))

    seen = walk(api_client(), thread_url(article), {"sort": sort, "page_size": 3}, between=someone_posts)

    assert len(seen) == len(set(seen)), "a comment was shown twice"
    assert {c.pk for c in originals} <= set(seen), "a comment was skipped"
    if sort == "newest":
        assert seen == [c.pk for c in reversed(originals)]  # New ones are above the first page.


@pytest.mark.parametrize(
    "cursor", ["garbage", "eyJwIjpbXSwiZiI6dHJ1ZX0", "eyJwIjpbIngiLDFdLCJmIjp0cnVlfQ", "%00", "a" * 600, "===="]
)
def test_garbage_cursor_is_400_json(api_client, article, cursor):
    response = api_client().get(thread_url(article), {"cursor": cursor})
    assert response.status_code == 400
    assert "cursor" in response.json()["fields"]


@pytest.mark.parametrize(("param", "value"), [("sort", "best"), ("page_size", "0"), ("page_size", "ten")])
def test_bad_list_parameters_are_400_json(api_client, article, param, value):
    response = api_client().get(thread_url(article), {param: value})
    assert response.status_code == 400
    assert param in response.json()["fields"]


def _queries_for_page(client, article, page_size: int) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(thread_url(article), {"page_size": page_size})
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("signed_in", [False, True])
def test_a_page_costs_the_same_queries_whatever_its_size(
    api_client, make_article, post, make_reader, reader, django_assert_num_queries, signed_in, settings
):
    small, big = make_article(), make_article()
    post(small, "alone")
    for i in range(12):
        root = post(big, f"root {i}")
        reply = post(big, "reply", parent=root, author=make_reader())
        post(big, "deeper", parent=reply)
        services.like_comment(comment=root, reader=reader)
    client = api_client(reader if signed_in else None)
    for article in (small, big):
        client.get(thread_url(article))  # from here on the articles' versions exist

    # Built: the article, the top-level comments, their subtrees; signed in, first whether the
    # reader has a pending comment there, and last the reader's likes.
    settings.COMMENTS_READ_CACHE = False
    built = 5 if signed_in else 3
    with django_assert_num_queries(built):
        client.get(thread_url(small), {"page_size": 1})
    with django_assert_num_queries(built):
        response = client.get(thread_url(big), {"page_size": 200})
    assert len(response.json()["results"]) == 12
    assert all(c["liked"] == signed_in for c in response.json()["results"])

    # Cached: nothing for the public; the pending check and the likes for a signed-in reader.
    settings.COMMENTS_READ_CACHE = True
    client.get(thread_url(big), {"page_size": 200})
    with django_assert_num_queries(2 if signed_in else 0):
        cached = client.get(thread_url(big), {"page_size": 200})
    assert cached.json() == response.json()


# --- POST /api/v1/articles/{key}/comments/ -----------------------------------------------------


def test_post_returns_201_with_the_comment(api_client, article, reader):
    response = api_client(reader).post(thread_url(article), {"body": "Hello <b>world</b>"}, format="json")

    assert response.status_code == 201
    body = response.json()
    assert set(body) == COMMENT_FIELDS
    assert (body["status"], body["body_html"], body["replies"]) == ("approved", "<p>Hello world</p>", [])
    assert Comment.objects.get(pk=body["id"]).author == reader
    assert Article.objects.get(pk=article.pk).comment_count == 1


def test_post_reply(api_client, article, post, reader):
    parent = post(article)
    response = api_client(reader).post(thread_url(article), {"body": "reply", "parent": parent.pk}, format="json")
    assert response.status_code == 201
    assert (response.json()["parent"], response.json()["depth"]) == (parent.pk, 1)


def test_post_is_pending_when_premoderated(api_client, article, reader, settings):
    settings.COMMENTS_PREMODERATE = True
    response = api_client(reader).post(thread_url(article), {"body": "wait for it"}, format="json")
    assert response.status_code == 201
    assert response.json()["status"] == "pending"
    assert Article.objects.get(pk=article.pk).comment_count == 0


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"body": ""}, "body"),
        ({"body": "   \n  "}, "body"),
        ({"body": "x" * 5001}, "body"),
        ({"body": "<script></script>"}, "body"),
        ({"body": 42}, "body"),
        ({}, "body"),
        ({"body": "ok", "parent": "first"}, "parent"),
        ({"body": "ok", "parent": 10**30}, "parent"),
        ({"body": "ok", "parent": 999999}, "parent"),
    ],
)
def test_post_bad_body_or_parent_is_400_with_fields(api_client, article, reader, payload, field):
    response = api_client(reader).post(thread_url(article), payload, format="json")
    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert not Comment.objects.exists()


def test_post_reply_to_a_comment_of_another_article_is_400(api_client, article, make_article, post, reader):
    elsewhere = post(make_article())
    response = api_client(reader).post(thread_url(article), {"body": "hi", "parent": elsewhere.pk}, format="json")
    assert response.status_code == 400
    assert "parent" in response.json()["fields"]


@pytest.mark.parametrize("state", ["pending", "rejected", "deleted"])
def test_post_reply_to_a_hidden_comment_is_400(api_client, article, post, reader, other_reader, moderator, state):
    parent = post(article, author=other_reader)
    if state == "deleted":
        services.delete_comment(comment=parent, actor=other_reader)
    else:
        services.moderate_comment(comment=parent, moderator=moderator, status=state)
    response = api_client(reader).post(thread_url(article), {"body": "hi", "parent": parent.pk}, format="json")
    assert response.status_code == 400
    assert "parent" in response.json()["fields"]


def test_post_needs_sign_in_401(api_client, article):
    response = api_client().post(thread_url(article), {"body": "hi"}, format="json")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_post_by_banned_reader_is_403_banned(api_client, article, banned_reader):
    response = api_client(banned_reader).post(thread_url(article), {"body": "hi"}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "banned"


def test_post_on_closed_article_is_403(api_client, make_article, reader):
    closed = make_article(comments_open=False)
    response = api_client(reader).post(thread_url(closed), {"body": "hi"}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "comments_closed"


def test_post_on_unknown_article_is_404(api_client, reader, db):
    response = api_client(reader).post("/api/v1/articles/nope/comments/", {"body": "hi"}, format="json")
    assert response.status_code == 404


def test_post_with_a_banned_word_is_400_rejected(api_client, article, reader):
    BannedWord.objects.create(word="spamword", action=BannedWord.Action.REJECT)
    response = api_client(reader).post(thread_url(article), {"body": "buy spamword now"}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "rejected"


# --- GET /api/v1/comments/{id}/ ------------------------------------------------------------------


def test_get_comment_with_its_replies(api_client, article, post, other_reader):
    root = post(article, "root")
    reply = post(article, "reply", parent=root, author=other_reader)
    post(article, "another thread")

    response = api_client().get(comment_url(root))

    assert response.status_code == 200
    assert response.json()["id"] == root.pk
    assert ids(response.json()["replies"]) == [reply.pk]
    assert api_client().get(comment_url(reply)).json()["replies"] == []


@pytest.mark.parametrize("state", ["pending", "rejected", "spam"])
def test_hidden_comments_are_404_for_everyone_else(api_client, article, post, reader, other_reader, moderator, state):
    comment = post(article)
    services.moderate_comment(comment=comment, moderator=moderator, status=state)
    for viewer in (None, other_reader, moderator):
        assert api_client(viewer).get(comment_url(comment)).status_code == 404
    own = api_client(reader).get(comment_url(comment))
    assert own.status_code == (200 if state == "pending" else 404)


def test_deleted_comment_is_404(api_client, article, post, reader):
    comment = post(article)
    services.delete_comment(comment=comment, actor=reader)
    assert api_client(reader).get(comment_url(comment)).status_code == 404


def test_unknown_comment_is_404_json(api_client, db):
    response = api_client().get("/api/v1/comments/123456/")
    assert response.status_code == 404
    assert response.json() == {"detail": "No such comment.", "code": "not_found"}


# --- PATCH /api/v1/comments/{id}/ ----------------------------------------------------------------


def test_author_edits_within_the_window(api_client, article, post, reader):
    comment = post(article, "typo")
    response = api_client(reader).patch(comment_url(comment), {"body": "fixed"}, format="json")
    assert response.status_code == 200
    assert response.json()["body_html"] == "<p>fixed</p>"
    assert response.json()["edited_at"] is not None


def test_edit_window_edge(api_client, article, post, reader):
    """Editable until one instant before created_at + COMMENTS_EDIT_WINDOW (15 min), not at it."""
    comment = post(article, "typo")
    deadline = comment.created_at + timedelta(minutes=15)
    client = api_client(reader)

    with mock.patch("django.utils.timezone.now", return_value=deadline - timedelta(microseconds=1)):
        assert client.patch(comment_url(comment), {"body": "just in time"}, format="json").status_code == 200
        listed = client.get(thread_url(article)).json()["results"][0]
        assert listed["can_edit"] is True
    with mock.patch("django.utils.timezone.now", return_value=deadline):
        response = client.patch(comment_url(comment), {"body": "too late"}, format="json")
        assert client.get(thread_url(article)).json()["results"][0]["can_edit"] is False
    assert response.status_code == 403
    assert response.json()["code"] == "edit_window_closed"
    comment.refresh_from_db()
    assert comment.body == "just in time"


def test_edit_window_is_a_setting(api_client, article, post, reader, settings):
    settings.COMMENTS_EDIT_WINDOW = timedelta(seconds=0)
    comment = post(article)
    assert api_client(reader).patch(comment_url(comment), {"body": "no"}, format="json").status_code == 403


def test_edit_with_empty_body_is_400(api_client, article, post, reader):
    comment = post(article)
    response = api_client(reader).patch(comment_url(comment), {"body": ""}, format="json")
    assert response.status_code == 400
    assert "body" in response.json()["fields"]


# --- DELETE /api/v1/comments/{id}/ --------------------------------------------------------------


def test_author_deletes_204_and_it_is_soft(api_client, article, post, reader, other_reader):
    comment = post(article)
    post(article, "reply", parent=comment, author=other_reader)

    response = api_client(reader).delete(comment_url(comment))

    assert response.status_code == 204
    comment.refresh_from_db()
    assert comment.is_deleted
    assert Article.objects.get(pk=article.pk).comment_count == 1
    [tombstone] = api_client().get(thread_url(article)).json()["results"]
    assert tombstone["is_deleted"] is True


# --- Permission matrix ---------------------------------------------------------------------------


def _as(role, *, reader, other_reader, moderator, banned_reader):
    return {"anonymous": None, "author": reader, "other": other_reader, "staff": moderator,
            "banned": banned_reader}[role]


MATRIX = {
    # role: (GET, PATCH, DELETE) statuses on an approved comment by ``reader``
    "anonymous": (200, 401, 401),
    "author": (200, 200, 204),
    "other": (200, 403, 403),
    "staff": (200, 403, 403),
    "banned": (200, 403, 403),
}


@pytest.mark.parametrize("role", list(MATRIX))
def test_permission_matrix_on_one_comment(api_client, article, post, reader, other_reader, moderator,
                                          banned_reader, role):
    comment = post(article)
    client = api_client(_as(role, reader=reader, other_reader=other_reader, moderator=moderator,
                            banned_reader=banned_reader))
    get_status, patch_status, delete_status = MATRIX[role]

    assert client.get(comment_url(comment)).status_code == get_status
    patched = client.patch(comment_url(comment), {"body": "changed"}, format="json")
    assert patched.status_code == patch_status, patched.content
    assert client.delete(comment_url(comment)).status_code == delete_status
    if role == "banned":
        assert patched.json()["code"] == "banned"


def test_banned_author_cannot_edit_own_comment(api_client, article, post, reader, moderator):
    comment = post(article)
    services.ban_reader(reader=reader, moderator=moderator, reason="x")
    response = api_client(reader).patch(comment_url(comment), {"body": "changed"}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "banned"


POSTING = {"anonymous": 401, "author": 201, "other": 201, "staff": 201, "banned": 403}


@pytest.mark.parametrize("role", list(POSTING))
def test_permission_matrix_for_posting(api_client, article, reader, other_reader, moderator, banned_reader, role):
    client = api_client(_as(role, reader=reader, other_reader=other_reader, moderator=moderator,
                            banned_reader=banned_reader))
    assert client.post(thread_url(article), {"body": "hi"}, format="json").status_code == POSTING[role]
