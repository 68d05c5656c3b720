"""GET /api/v1/counts/: every count on a news page in one request and one query."""

import pytest

from comments import services

URL = "/api/v1/counts/"


def counts_url(*keys: str) -> str:
    return URL + "?" + "&".join(f"article={key}" for key in keys)


def test_counts_for_several_articles_in_one_query(client, make_article, post, reader, django_assert_num_queries):
    busy = make_article("busy")
    make_article("quiet")
    post(busy, "One.")
    gone = post(busy, "Two.")
    services.delete_comment(comment=gone, actor=reader)
    with django_assert_num_queries(1):
        response = client.get(counts_url("busy", "quiet", "never-heard-of-it"))
    assert response.status_code == 200
    assert response.json() == {"counts": {"busy": 1, "quiet": 0, "never-heard-of-it": 0}}
    assert response["Cache-Control"] == "public, max-age=5"


def test_hundred_keys_are_fine_but_not_more(client, db):
    assert client.get(counts_url(*(f"k{i}" for i in range(100)))).status_code == 200
    response = client.get(counts_url(*(f"k{i}" for i in range(101))))
    assert response.status_code == 400
    assert response.json()["code"] == "too_many_keys"
    assert "detail" in response.json()


@pytest.mark.parametrize("query", ["", "?article=", "?article=has%20space", "?article=" + "x" * 201,
                                   "?article=ok&article=%3Cscript%3E"])
def test_missing_or_invalid_keys_are_a_json_400(client, db, query):
    response = client.get(URL + query)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert set(response.json()) >= {"detail", "code"}


def test_unchanged_counts_answer_304_until_a_comment_lands(client, article, post):
    first = client.get(counts_url(article.key))
    etag = first["ETag"]
    unchanged = client.get(counts_url(article.key), HTTP_IF_NONE_MATCH=etag)
    assert unchanged.status_code == 304
    assert unchanged.content == b""
    assert unchanged["ETag"] == etag

    post(article, "News!")
    changed = client.get(counts_url(article.key), HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200
    assert changed.json()["counts"][article.key] == 1
    assert changed["ETag"] != etag


def test_duplicate_keys_are_counted_once(client, article, post):
    post(article)
    response = client.get(counts_url(article.key, article.key))
    assert response.json() == {"counts": {article.key: 1}}


def test_schema_describes_the_counts_and_the_event_stream():
    from drf_spectacular.generators import SchemaGenerator

    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    assert "/api/v1/counts/" in paths
    stream = paths["/api/v1/articles/{key}/events/"]["get"]
    assert "text/event-stream" in stream["responses"]["200"]["content"]
