"""POST /api/v1/comments/{id}/flag/: one report per reader per comment."""

import pytest

from comments import services
from comments.models import Comment, Flag


def flag_url(comment) -> str:
    return f"/api/v1/comments/{comment.pk}/flag/"


def test_flag_201_then_200_without_a_second_flag(api_client, article, post, other_reader):
    comment = post(article)
    client = api_client(other_reader)

    first = client.post(flag_url(comment), {"reason": "abuse", "note": "rude"}, format="json")
    again = client.post(flag_url(comment), {"reason": "spam"}, format="json")

    assert first.status_code == 201
    assert {k: first.json()[k] for k in ("comment", "reason", "note")} == {
        "comment": comment.pk, "reason": "abuse", "note": "rude",
    }
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert Flag.objects.count() == 1


@pytest.mark.parametrize("reason", ["spam", "abuse", "off_topic", "other"])
def test_every_reason_is_accepted(api_client, article, post, other_reader, reason):
    assert api_client(other_reader).post(flag_url(post(article)), {"reason": reason}, format="json").status_code == 201


@pytest.mark.parametrize(
    ("payload", "field"),
    [({}, "reason"), ({"reason": "boring"}, "reason"), ({"reason": "spam", "note": "x" * 501}, "note"),
     ({"reason": "spam", "note": 7}, "note"), ({"reason": ["spam"]}, "reason")],
)
def test_bad_flag_is_400(api_client, article, post, other_reader, payload, field):
    response = api_client(other_reader).post(flag_url(post(article)), payload, format="json")
    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert not Flag.objects.exists()


def test_flag_needs_sign_in_401(api_client, article, post):
    assert api_client().post(flag_url(post(article)), {"reason": "spam"}, format="json").status_code == 401


def test_banned_reader_cannot_flag_403(api_client, article, post, banned_reader):
    response = api_client(banned_reader).post(flag_url(post(article)), {"reason": "spam"}, format="json")
    assert (response.status_code, response.json()["code"]) == (403, "banned")


def test_own_comment_cannot_be_flagged_403(api_client, article, post, reader):
    response = api_client(reader).post(flag_url(post(article)), {"reason": "spam"}, format="json")
    assert response.status_code == 403


def test_hidden_comment_cannot_be_flagged_404(api_client, article, post, other_reader, moderator):
    comment = post(article)
    services.mark_spam(comment=comment, moderator=moderator)
    assert api_client(other_reader).post(flag_url(comment), {"reason": "spam"}, format="json").status_code == 404


def test_enough_flags_hide_the_comment(api_client, article, post, make_reader, settings):
    settings.COMMENTS_FLAGS_TO_HIDE = 2
    comment = post(article)
    for _ in range(2):
        api_client(make_reader()).post(flag_url(comment), {"reason": "abuse"}, format="json")
    assert Comment.objects.get(pk=comment.pk).status == "pending"
    assert api_client().get(f"/api/v1/comments/{comment.pk}/").status_code == 404
