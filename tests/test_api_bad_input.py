"""Bad input is answered, never crashed on: every write endpoint, hostile bodies, odd paths.

Whatever arrives, the answer under /api/ is JSON in the error shape, and never a 5xx.
"""

import json

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from comments.models import Comment

ODD_TEXT = ["", " ", "\x00", "a\x00b", "\ud800", "\udfff", "\u202e", "\ufeff", "𝔘𝔫𝔦", "<script>x</script>",
            "x" * 5001, "\r\n\r\n", "%s%n", "'; DROP TABLE comments;--", "1e999", "NaN"]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70) | st.floats()
    | st.text(max_size=30) | st.sampled_from(ODD_TEXT),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
FIELDS = ["body", "parent", "reason", "note", "title", "url", "published_at", "comments_open"]
payloads = st.one_of(
    json_values,
    st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=5),
)


@pytest.fixture
def generous_rates(settings):
    """The fuzzers send hundreds of requests; the limits are tested elsewhere."""
    rates = dict.fromkeys(["anon", "user", "post_comment", "flag", "like"], "100000/min")
    settings.COMMENTS_THROTTLE_RATES = rates


@pytest.fixture
def endpoints(article, post, other_reader, cms_token):
    """(method, url, client) for every write endpoint, each with a caller allowed to use it."""
    comment = post(article, "target", author=other_reader)
    own = post(article, "mine")
    reader_client = APIClient()
    reader_client.force_authenticate(own.author)
    staff = APIClient()
    staff.credentials(HTTP_AUTHORIZATION=cms_token)
    return [
        ("post", f"/api/v1/articles/{article.key}/comments/", reader_client),
        ("patch", f"/api/v1/comments/{own.pk}/", reader_client),
        ("delete", f"/api/v1/comments/{own.pk}/", reader_client),
        ("post", f"/api/v1/comments/{comment.pk}/flag/", reader_client),
        ("post", f"/api/v1/comments/{comment.pk}/like/", reader_client),
        ("delete", f"/api/v1/comments/{comment.pk}/like/", reader_client),
        ("put", f"/api/v1/articles/{article.key}/", staff),
        ("put", "/api/v1/articles/fuzzed/", staff),
    ]


def assert_answered(response):
    assert response.status_code < 500, (response.status_code, response.content[:300])
    assert response.status_code == 204 or response["Content-Type"].startswith("application/json"), response.content
    if response.status_code >= 400:
        body = response.json()
        assert isinstance(body["detail"], str) and isinstance(body["code"], str)
        assert set(body) <= {"detail", "code", "fields"}


RAW_BODIES = [
    ("{", "application/json"),
    ('{"body": "unterminated', "application/json"),
    ("[" * 50_000 + "]" * 50_000, "application/json"),
    ('{"body": NaN}', "application/json"),
    ('{"body": 1e999}', "application/json"),
    ('{"body": "\\ud800"}', "application/json"),
    ('{"body": "a\\u0000b", "note": "\\u0000", "title": "\\u0000", "url": "\\u0000"}', "application/json"),
    ('{"parent": ' + "9" * 5000 + "}", "application/json"),
    (b'{"body": "\xff\xfe"}', "application/json"),
    ('{"body": "hi"}', "application/json; charset=nonsense"),
    ('{"body": "hi"}', "text/plain"),
    ("body=hi", "application/x-www-form-urlencoded"),
    ("--x\r\nContent-Disposition: form-data; name=body\r\n\r\nhi\r\n--x--", "multipart/form-data; boundary=x"),
    ("", "application/json"),
    ("null", "application/json"),
    ('"just a string"', "application/json"),
    ("[1, 2]", "application/json"),
    (json.dumps({"body": "x" * 70_000}), "application/json"),
]


@pytest.mark.parametrize(("raw", "content_type"), RAW_BODIES, ids=range(len(RAW_BODIES)))
def test_hostile_raw_bodies_get_a_json_4xx(generous_rates, endpoints, raw, content_type):
    for method, url, client in endpoints:
        response = getattr(client, method)(url, raw, content_type=content_type)
        assert_answered(response)


def test_oversized_body_is_413(endpoints):
    method, url, client = endpoints[0]
    response = client.post(url, json.dumps({"body": "x" * 70_000}), content_type="application/json")
    assert response.status_code == 413
    assert response.json()["code"] == "too_large"


def test_wrong_content_type_is_415(endpoints):
    method, url, client = endpoints[0]
    response = client.post(url, "body=hi", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415


@pytest.mark.parametrize("body", ["{", '{"body": "\\ud800"}', "[" * 5000 + "]" * 5000])
def test_malformed_json_is_400(endpoints, body):
    method, url, client = endpoints[0]
    response = client.post(url, body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


@pytest.mark.parametrize("body", ["a\x00b", "\x00"])
def test_null_bytes_are_refused(endpoints, body):
    method, url, client = endpoints[0]
    response = client.post(url, {"body": body}, format="json")
    assert response.status_code == 400
    assert "body" in response.json()["fields"]


@hypothesis_settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=payloads, which=st.integers(min_value=0, max_value=7))
def test_fuzzed_json_never_crashes_a_write(generous_rates, endpoints, payload, which):
    method, url, client = endpoints[which]
    response = getattr(client, method)(url, json.dumps(payload, allow_nan=True), content_type="application/json")
    assert_answered(response)


@hypothesis_settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(params=st.dictionaries(st.sampled_from(["sort", "page_size", "cursor"]),
                              st.text(max_size=40) | st.sampled_from(["-1", "0", "201", "1e3", "top", "%00"]),
                              max_size=3))
def test_fuzzed_list_parameters_never_crash(generous_rates, endpoints, article, params):
    assert_answered(APIClient().get(f"/api/v1/articles/{article.key}/comments/", params))


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/articles/" + "a" * 201 + "/",
        "/api/v1/articles/bad key/comments/",
        "/api/v1/articles/%00/",
        "/api/v1/articles/ü/comments/",
        "/api/v1/comments/99999999999999999999999999/",
        "/api/v1/comments/9223372036854775808/like/",
        "/api/v1/comments/-1/",
        "/api/v1/comments/abc/",
        "/api/v1/comments/1",
        "/api/v1/nothing/",
        "/api/",
        "/api/v2/articles/x/",
    ],
)
@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete"])
def test_unknown_api_paths_are_json_404(api_client, reader, path, method):
    response = getattr(api_client(reader), method)(path, {"body": "x"}, format="json")
    assert response.status_code in (404, 405)  # 405: a real route that does not take this method.
    assert_answered(response)


@pytest.mark.parametrize(
    ("method", "path"),
    [("post", "/api/v1/articles/{key}/"), ("delete", "/api/v1/articles/{key}/"), ("put", "/api/v1/comments/{id}/"),
     ("patch", "/api/v1/comments/{id}/like/"), ("get", "/api/v1/comments/{id}/flag/"),
     ("put", "/api/v1/articles/{key}/comments/")],
)
def test_wrong_method_is_json_405(endpoints, article, method, path):
    client = endpoints[-1][2]
    comment = Comment.objects.first()
    response = getattr(client, method)(path.format(key=article.key, id=comment.pk))
    assert response.status_code == 405
    assert_answered(response)


@pytest.mark.parametrize(("handler", "status"), [("bad_request", 400), ("permission_denied", 403),
                                                 ("page_not_found", 404), ("server_error", 500)])
def test_django_error_handlers_answer_json_under_api_only(rf, handler, status):
    """The last wall: whatever escapes a view, under /api/ Django's error page is JSON too."""
    from comments.api import exceptions

    view = getattr(exceptions, handler)
    args = () if handler == "server_error" else (Exception("boom"),)
    api = view(rf.get("/api/v1/comments/1/"), *args)
    assert (api.status_code, api["Content-Type"]) == (status, "application/json")
    assert set(json.loads(api.content)) == {"detail", "code"}
    page = view(rf.get("/articles/x/"), *args)
    assert (page.status_code, page["Content-Type"].split(";")[0]) == (status, "text/html")


def test_site_pages_keep_their_html_404(client, db):
    response = client.get("/articles/no-such-article/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.django_db
@pytest.mark.parametrize("path", [
    "/api/v1/comments/{id}/", "/api/v1/comments/{id}/replies/", "/api/v1/comments/{id}/flag/",
    "/api/v1/comments/{id}/like/", "/comments/{id}/", "/comments/{id}/thread/", "/comments/{id}/edit/",
])
@pytest.mark.parametrize("comment_id", ["101023735131365687876963113369600", "9223372036854775808",
                                        "1000000000000000000"])
def test_an_id_beyond_64_bits_is_a_404_not_a_500(client, reader, path, comment_id):
    """Found by schemathesis on PostgreSQL (SQLite: OverflowError): the id reached the database."""
    client.force_login(reader)
    response = client.get(path.format(id=comment_id))
    assert response.status_code == 404
    if path.startswith("/api/"):
        assert response["Content-Type"] == "application/json"
