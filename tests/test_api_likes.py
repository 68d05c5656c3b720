"""POST/DELETE /api/v1/comments/{id}/like/: idempotent, and like_count exact under concurrency."""


import pytest
from rest_framework.test import APIClient

from comments import services
from comments.models import Comment, Like
from tests.workers import run_at_once


def like_url(comment) -> str:
    return f"/api/v1/comments/{comment.pk}/like/"


def test_like_and_unlike(api_client, article, post, other_reader):
    comment = post(article)
    client = api_client(other_reader)

    liked = client.post(like_url(comment))
    assert liked.status_code == 200
    assert liked.json() == {"id": comment.pk, "like_count": 1, "liked": True}
    assert client.get(f"/api/v1/comments/{comment.pk}/").json()["liked"] is True

    unliked = client.delete(like_url(comment))
    assert unliked.status_code == 200
    assert unliked.json() == {"id": comment.pk, "like_count": 0, "liked": False}


def test_like_and_unlike_are_idempotent(api_client, article, post, other_reader):
    comment = post(article)
    client = api_client(other_reader)
    assert [client.post(like_url(comment)).json()["like_count"] for _ in range(3)] == [1, 1, 1]
    assert [client.delete(like_url(comment)).json()["like_count"] for _ in range(3)] == [0, 0, 0]
    assert not Like.objects.exists()


def test_likes_of_several_readers_add_up(api_client, article, post, make_reader):
    comment = post(article)
    for _ in range(3):
        api_client(make_reader()).post(like_url(comment))
    assert api_client().get(f"/api/v1/comments/{comment.pk}/").json()["like_count"] == 3


def test_like_needs_sign_in_401(api_client, article, post):
    comment = post(article)
    assert api_client().post(like_url(comment)).status_code == 401
    assert api_client().delete(like_url(comment)).status_code == 401


def test_banned_reader_cannot_like_403(api_client, article, post, banned_reader):
    response = api_client(banned_reader).post(like_url(post(article)))
    assert response.status_code == 403
    assert response.json()["code"] == "banned"


def test_hidden_comment_cannot_be_liked_404(api_client, article, post, other_reader, moderator):
    comment = post(article)
    services.reject_comment(comment=comment, moderator=moderator)
    assert api_client(other_reader).post(like_url(comment)).status_code == 404


def test_own_pending_comment_cannot_be_liked_400(api_client, article, post, reader, settings):
    settings.COMMENTS_PREMODERATE = True
    response = api_client(reader).post(like_url(post(article)))
    assert response.status_code == 400


def test_unknown_comment_is_404(api_client, reader):
    assert api_client(reader).post("/api/v1/comments/987654/like/").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_like_count_is_exact_under_concurrent_likes(make_reader, make_article, post):
    """Eight readers like one comment at once, each twice; the count is eight, not less or more."""
    comment = post(make_article())
    readers = [make_reader() for _ in range(8)]
    statuses = []

    def like_twice(liker):
        client = APIClient()
        client.force_authenticate(liker)
        statuses.extend(client.post(like_url(comment)).status_code for _ in range(2))

    assert run_at_once(like_twice, readers) == []
    assert statuses == [200] * 16
    assert Comment.objects.get(pk=comment.pk).like_count == 8 == Like.objects.filter(comment=comment).count()
