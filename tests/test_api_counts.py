"""GET /api/v1/counts/: every count on a news page in one request, from cached bytes.

The answer is cached per key set under the counts version (``comments.versions``), which
services move after every commit that changes a count; the tests run the on-commit callbacks
of their posts so that the version moves as it does in production.
"""

import pytest

from comments import services, versions
from comments.models import Article

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


@pytest.mark.parametrize("keys", [["same"] * 101, ["a", "b"] * 51, [f"k{i}" for i in range(99)] + ["k0", "k1"]])
def test_repeats_count_toward_the_hundred_as_the_schema_says(client, db, keys):
    """The schema's maxItems counts parameters; schemathesis found 101 repeats of one key answered 200."""
    response = client.get(counts_url(*keys))
    assert response.status_code == 400
    assert response.json()["code"] == "too_many_keys"


def test_repeats_within_the_hundred_count_once(client, db):
    assert client.get(counts_url(*["same"] * 100)).json() == {"counts": {"same": 0}}


@pytest.mark.parametrize("query", ["", "?article=", "?article=has%20space", "?article=" + "x" * 201,
                                   "?article=ok&article=%3Cscript%3E", "?article=ok&article=x%0Ay", "?article=a+b"])
def test_missing_or_invalid_keys_are_a_json_400(client, db, query):
    response = client.get(URL + query)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert set(response.json()) >= {"detail", "code"}


def test_unchanged_counts_answer_304_until_a_comment_lands(client, article, post, django_capture_on_commit_callbacks):
    first = client.get(counts_url(article.key))
    etag = first["ETag"]
    unchanged = client.get(counts_url(article.key), HTTP_IF_NONE_MATCH=etag)
    assert unchanged.status_code == 304
    assert unchanged.content == b""
    assert unchanged["ETag"] == etag

    with django_capture_on_commit_callbacks(execute=True):
        post(article, "News!")
    changed = client.get(counts_url(article.key), HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200
    assert changed.json()["counts"][article.key] == 1
    assert changed["ETag"] != etag


def test_keys_are_read_as_django_reads_a_query(client, make_article, post):
    post(make_article("abc"))
    response = client.get(URL + "?%61rticle=%61bc&other=1&article=new")
    assert response.json() == {"counts": {"abc": 1, "new": 0}}


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


def test_a_warm_answer_costs_no_query(client, article, post, django_assert_num_queries):
    post(article)
    first = client.get(counts_url(article.key, "other"))
    with django_assert_num_queries(0):
        revalidated = client.get(counts_url("other", article.key), HTTP_IF_NONE_MATCH=first["ETag"])
        again = client.get(counts_url(article.key, "other"))
    assert revalidated.status_code == 304
    assert again.content == first.content
    assert again.json() == {"counts": {article.key: 1, "other": 0}}


def test_unchanged_counts_keep_their_etag_when_another_count_moves(client, make_article, post,
                                                                    django_capture_on_commit_callbacks):
    quiet, busy = make_article("quiet"), make_article("busy")
    etag = client.get(counts_url(quiet.key))["ETag"]
    with django_capture_on_commit_callbacks(execute=True):
        post(busy, "Elsewhere.")
    assert client.get(counts_url(quiet.key), HTTP_IF_NONE_MATCH=etag).status_code == 304


def test_a_cached_answer_is_never_served_after_the_version_moved(client, article, reader, django_assert_num_queries):
    assert client.get(counts_url(article.key)).json()["counts"][article.key] == 0
    Article.objects.filter(pk=article.pk).update(comment_count=5)  # a write that moved no version
    # Until the version moves, the cached answer stands (bounded by COMMENTS_READ_CACHE_TTL) ...
    assert client.get(counts_url(article.key)).json()["counts"][article.key] == 0
    versions.bump([], counts=True)
    # ... and once it moved, the database is read again.
    with django_assert_num_queries(1):
        assert client.get(counts_url(article.key)).json()["counts"][article.key] == 5


def test_a_post_moves_the_counts_at_once(client, article, reader):
    assert client.get(counts_url(article.key)).json()["counts"][article.key] == 0
    services.post_comment(article=article, author=reader, body="Counted at once.")
    assert client.get(counts_url(article.key)).json()["counts"][article.key] == 1


def test_headers_for_shared_caches_and_cross_origin_pages(client, article, settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://news.example"]
    response = client.get(counts_url(article.key), HTTP_ORIGIN="https://news.example")
    assert response["Cache-Control"] == "public, max-age=5"
    assert "Origin" in response["Vary"] or "origin" in response["Vary"]
    assert response["Access-Control-Allow-Origin"] == "https://news.example"
    assert response["Content-Type"] == "application/json"


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_other_methods_are_a_json_405(client, db, method):
    response = getattr(client, method)(counts_url("k"))
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


def test_answers_match_the_schema(client, article, post):
    """The view is described by hand (it is not a DRF view): its real answers must match that text."""
    from drf_spectacular.generators import SchemaGenerator

    from tests.test_api_schema import Conformance

    conformance = Conformance(SchemaGenerator().get_schema(request=None, public=True))
    post(article)
    ok = client.get(counts_url(article.key, "other"))
    for response in [ok, client.get(counts_url(article.key, "other"), HTTP_IF_NONE_MATCH=ok["ETag"]),
                     client.get(URL), client.get(counts_url("bad key"))]:
        conformance.check(response, "GET", "/api/v1/counts/")
    assert {status for _, _, status in conformance.seen} == {"200", "304", "400"}


def test_a_lost_version_move_is_bounded_by_the_cache_ttl(client, article, reader, settings):
    """If Redis missed a version move, cached answers (shared and per process) still expire."""
    settings.COMMENTS_READ_CACHE_TTL = 0
    assert client.get(counts_url(article.key)).json()["counts"][article.key] == 0
    services.post_comment(article=article, author=reader, body="The version move is lost (no on_commit here).")
    assert client.get(counts_url(article.key)).json()["counts"][article.key] == 1
