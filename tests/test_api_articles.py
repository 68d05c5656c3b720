"""The articles rows of API.md: anyone reads an article; only an account with the article
permissions (the CMS group, superusers) upserts it."""

import pytest
from rest_framework.test import APIClient

from comments.models import Article

ARTICLE_FIELDS = {"key", "title", "url", "published_at", "comments_open", "comment_count"}


@pytest.fixture
def cms(cms_token):
    """The CMS: a client sending the CMS account's DRF token, as the real CMS does."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=cms_token)
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


@pytest.fixture
def role_account(db, reader, banned_reader, moderator, desk_moderator, cms_account):
    """``role_account(role)``: the account of a role on the article matrix (None: anonymous)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission

    def account(role: str):
        if role == "superuser":
            return get_user_model().objects.create_superuser("root", "root@example.com", "pw")
        if role == "staff with add only":
            staff = get_user_model().objects.create_user("adder", is_staff=True)
            staff.user_permissions.add(Permission.objects.get(codename="add_article"))
            return staff
        return {"anonymous": None, "reader": reader, "banned": banned_reader, "staff": moderator,
                "moderator": desk_moderator, "cms": cms_account}[role]

    return account


# Who may create (201) and change (200) an article: the model permissions decide, never being
# staff. Anonymous callers are asked to sign in (401); everyone else without them gets 403.
ROLES = [
    ("anonymous", 401, 401),
    ("reader", 403, 403),
    ("banned", 403, 403),
    ("staff", 403, 403),  # staff status and no permission at all
    ("moderator", 403, 403),  # the Moderators group: view and moderate articles, never change them
    ("staff with add only", 201, 403),
    ("cms", 201, 200),
    ("superuser", 201, 200),
]


@pytest.mark.parametrize(("role", "create", "change"), ROLES)
def test_only_accounts_with_the_article_permissions_may_upsert(api_client, make_article, role_account, role,
                                                               create, change):
    client = api_client(role_account(role))
    response = client.put("/api/v1/articles/new-one/", {"title": "Created", "url": ""}, format="json")
    assert response.status_code == create
    assert Article.objects.filter(key="new-one").exists() == (create == 201)
    make_article("old-one", title="Untouched")
    response = client.put("/api/v1/articles/old-one/", {"title": "Changed", "url": ""}, format="json")
    assert response.status_code == change
    assert Article.objects.get(key="old-one").title == ("Changed" if change == 200 else "Untouched")
    if change in (401, 403):
        assert response.json()["code"] in {"not_authenticated", "permission_denied"}


def test_the_cms_group_holds_exactly_the_article_permissions(db):
    from django.contrib.auth.models import Group

    codenames = set(Group.objects.get(name="CMS").permissions.values_list("codename", flat=True))
    assert codenames == {"add_article", "change_article", "view_article"}


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
