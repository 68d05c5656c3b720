"""Rate limits on posting, flags and likes, per reader, and on anonymous reads; 429 + Retry-After."""

import pytest


@pytest.fixture
def rates(settings):
    """Small limits: two posts, two flags, two likes a minute; five anonymous requests."""
    limits = {"post_comment": "2/min", "flag": "2/min", "like": "2/min", "anon": "5/min", "user": "1000/min"}
    settings.COMMENTS_THROTTLE_RATES = limits
    return limits


def assert_throttled(response):
    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert int(response["Retry-After"]) > 0


def test_posting_is_limited_per_reader(rates, api_client, article, reader, other_reader):
    client = api_client(reader)
    url = f"/api/v1/articles/{article.key}/comments/"
    assert [client.post(url, {"body": f"c{i}"}, format="json").status_code for i in range(2)] == [201, 201]
    assert_throttled(client.post(url, {"body": "one too many"}, format="json"))

    assert client.get(url).status_code == 200, "reading is not posting"
    assert api_client(other_reader).post(url, {"body": "mine"}, format="json").status_code == 201


def test_flags_are_limited_per_reader(rates, api_client, article, post, other_reader):
    comments = [post(article, f"c{i}") for i in range(3)]
    client = api_client(other_reader)
    statuses = [client.post(f"/api/v1/comments/{c.pk}/flag/", {"reason": "spam"}, format="json").status_code
                for c in comments[:2]]
    assert statuses == [201, 201]
    assert_throttled(client.post(f"/api/v1/comments/{comments[2].pk}/flag/", {"reason": "spam"}, format="json"))


def test_likes_are_limited_per_reader(rates, api_client, article, post, other_reader):
    comment = post(article)
    client = api_client(other_reader)
    url = f"/api/v1/comments/{comment.pk}/like/"
    assert [client.post(url).status_code, client.delete(url).status_code] == [200, 200]
    assert_throttled(client.post(url))


def test_anonymous_reads_are_limited_per_address(rates, api_client, article):
    client = api_client()
    assert {client.get(f"/api/v1/articles/{article.key}/").status_code for _ in range(5)} == {200}
    assert_throttled(client.get(f"/api/v1/articles/{article.key}/comments/"))
