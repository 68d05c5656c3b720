"""The articles rows of API.md: anyone reads an article; the CMS's staff token upserts it."""

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from comments.models import Article

ARTICLE_FIELDS = {"key", "title", "url", "published_at", "comments_open", "comment_count"}


@pytest.fixture
def cms(moderator):
    """The CMS: a client sending the staff account's DRF token, as the real CMS does."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=moderator).key}")
    return client


def test_get_article(api_client, article, post):
    post(article)
    response = api_client().get("/api/v1/articles/742163/")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == ARTICLE_FIELDS
    assert (body["key"], body["title"], body["comment_count"], body["comments_open"]) == (
        "742163", "Ministers meet in Moscow", 1, True,
    )


@pytest.mark.parametrize("key", ["a", "x.y_z~w-1", "A" * 200])
def test_any_key_of_the_pattern_works(api_client, make_article, key):
    make_article(key)
    assert api_client().get(f"/api/v1/articles/{key}/").json()["key"] == key


def test_unknown_article_is_404_json(api_client, db):
    response = api_client().get("/api/v1/articles/unknown/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_cms_creates_an_article_201(cms):
    payload = {"title": "Budget passes", "url": "https://news.example/budget",
               "published_at": "2023-03-20T21:26:00+04:00", "comments_open": False}
    response = cms.put("/api/v1/articles/budget-2023/", payload, format="json")
    assert response.status_code == 201
    # The same instant, written in UTC as every time in the API.
    assert response.json() == {**payload, "published_at": "2023-03-20T17:26:00Z", "key": "budget-2023",
                               "comment_count": 0}
    assert Article.objects.get(key="budget-2023").title == "Budget passes"


def test_cms_updates_an_article_200_keeping_what_it_leaves_out(cms, make_article):
    article = make_article("k1", comments_open=False)
    response = cms.put("/api/v1/articles/k1/", {"title": "New title", "url": ""}, format="json")
    assert response.status_code == 200
    assert (response.json()["title"], response.json()["comments_open"]) == ("New title", False)
    assert Article.objects.get(key="k1").published_at == article.published_at


@pytest.mark.parametrize(
    ("payload", "field"),
    [({"url": ""}, "title"), ({"title": "t", "url": "not a url"}, "url"), ({"title": 5, "url": ""}, "title"),
     ({"title": "t", "url": "", "published_at": "yesterday"}, "published_at"), ({"title": "t"}, "url")],
)
def test_cms_bad_input_is_400(cms, payload, field):
    response = cms.put("/api/v1/articles/k2/", payload, format="json")
    assert response.status_code == 400
    assert field in response.json()["fields"]


@pytest.mark.parametrize(("role", "expected"), [("anonymous", 401), ("reader", 403), ("banned", 403)])
def test_only_staff_may_upsert(api_client, reader, banned_reader, role, expected):
    client = api_client({"anonymous": None, "reader": reader, "banned": banned_reader}[role])
    response = client.put("/api/v1/articles/k3/", {"title": "t", "url": ""}, format="json")
    assert response.status_code == expected
    assert not Article.objects.filter(key="k3").exists()


def test_bad_token_is_401(api_client, db):
    client = api_client()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    response = client.put("/api/v1/articles/k4/", {"title": "t", "url": ""}, format="json")
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"


def test_article_closed_by_age_reports_comments_closed(client, make_article, settings):
    from datetime import timedelta

    from django.utils import timezone

    settings.COMMENTS_CLOSE_AFTER_DAYS = 7
    old = make_article(published_at=timezone.now() - timedelta(days=8))
    assert client.get(f"/api/v1/articles/{old.key}/").json()["comments_open"] is False
