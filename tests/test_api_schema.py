"""The OpenAPI schema at /api/schema/ is valid, covers API.md, and says what the code does:
real responses of every operation have a documented status and match its documented body."""

import os
import re
from pathlib import Path

import jsonschema
import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.urls import Resolver404, resolve
from drf_spectacular.validation import validate_schema

from comments import services
from tests.conftest import require

# The paths of API.md, with the {placeholders} it uses. Checked against the file when it is there.
API_MD_PATHS = {
    "/api/v1/articles/{key}/",
    "/api/v1/articles/{key}/comments/",
    "/api/v1/comments/{id}/",
    "/api/v1/comments/{id}/flag/",
    "/api/v1/comments/{id}/like/",
    "/api/v1/counts/",
    "/api/v1/articles/{key}/events/",
}
# shared/ sits beside the checkout (CI, worktrees); SHARED_DIR says otherwise.
API_MD = Path(os.environ.get("SHARED_DIR", Path(settings.BASE_DIR).parent / "shared")) / "API.md"


@pytest.fixture(scope="module")
def schema(django_db_setup, django_db_blocker):
    from rest_framework.test import APIClient

    with django_db_blocker.unblock():
        response = APIClient().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def test_schema_is_valid_openapi_3(schema):
    assert schema["openapi"].startswith("3.")
    validate_schema(schema)


def test_the_path_list_is_api_md_s():
    require(API_MD.exists(), f"{API_MD} (shared/ beside the checkout)")
    endpoints = re.findall(r"`(?:GET|POST|PUT|PATCH|DELETE) (/api/v1/[^` ?]+)", API_MD.read_text())
    assert set(endpoints) == API_MD_PATHS


def _served(path_template: str) -> bool:
    """Whether a real route (not the JSON 404 catch-all) answers this path."""
    try:
        match = resolve(path_template.replace("{key}", "k").replace("{id}", "1"))
    except Resolver404:
        return False
    return match.route != "^api/"


def test_every_served_api_md_path_is_in_the_schema(schema):
    served = {p for p in API_MD_PATHS if _served(p)}
    mine = API_MD_PATHS - {"/api/v1/counts/", "/api/v1/articles/{key}/events/"}  # Built beside this API.
    assert mine <= served
    assert served <= set(schema["paths"])


def test_sign_in_methods_are_described(schema):
    schemes = schema["components"]["securitySchemes"]
    assert schemes["sessionToken"] == {**schemes["sessionToken"], "type": "apiKey", "in": "header",
                                       "name": "X-Session-Token"}
    assert {"cookieAuth", "tokenAuth"} <= set(schemes)
    assert {} not in schema["paths"]["/api/v1/articles/{key}/comments/"]["post"]["security"]
    assert {} in schema["paths"]["/api/v1/articles/{key}/comments/"]["get"]["security"]


# --- Responses of the code against the schema ---------------------------------------------------------


def _json_schema(node):
    """OpenAPI 3.0's ``nullable`` in JSON Schema's words, so jsonschema can check bodies."""
    if isinstance(node, list):
        return [_json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    node = {k: _json_schema(v) for k, v in node.items()}
    if node.pop("nullable", False):
        return {"anyOf": [node, {"type": "null"}]}
    return node


class Conformance:
    def __init__(self, schema):
        self.schema = schema
        self.components = _json_schema(schema["components"])
        self.seen = set()

    def check(self, response, method: str, template: str):
        operation = self.schema["paths"][template][method.lower()]
        status = str(response.status_code)
        assert status in operation["responses"], f"{method} {template} answered {status}, undocumented"
        self.seen.add((method, template, status))
        documented = operation["responses"][status]
        if "$ref" in documented:
            documented = self.schema["components"]["responses"][documented["$ref"].rsplit("/", 1)[1]]
        content = documented.get("content")
        if content is None:
            assert not response.content
            return
        body_schema = {**content["application/json"]["schema"], "components": self.components}
        jsonschema.validate(response.json(), body_schema)

    def request_body(self, method: str, template: str) -> dict:
        operation = self.schema["paths"][template][method.lower()]
        return operation["requestBody"]["content"]["application/json"]["schema"]


def test_real_responses_match_the_schema(schema, api_client, article, post, reader, other_reader, moderator,
                                         banned_reader, cms_token, settings):
    c = Conformance(schema)
    anonymous, author, other = api_client(), api_client(reader), api_client(other_reader)
    cms = api_client()
    cms.credentials(HTTP_AUTHORIZATION=cms_token)
    art, thread = "/api/v1/articles/{key}/", "/api/v1/articles/{key}/comments/"
    one, flag, like = "/api/v1/comments/{id}/", "/api/v1/comments/{id}/flag/", "/api/v1/comments/{id}/like/"
    root = post(article, "root")
    reply = post(article, "reply", parent=root, author=other_reader)
    services.like_comment(comment=root, reader=other_reader)
    services.delete_comment(comment=post(article, "gone"), actor=reader)
    tombstone = post(article, "tombstone")
    post(article, "under a tombstone", parent=tombstone, author=other_reader)
    services.reject_comment(comment=tombstone, moderator=moderator)
    a, r = f"/api/v1/articles/{article.key}", f"/api/v1/comments/{root.pk}"

    c.check(anonymous.get(f"{a}/"), "GET", art)
    wrong_token = api_client()
    wrong_token.credentials(HTTP_AUTHORIZATION="Token wrong")
    c.check(wrong_token.get(f"{a}/"), "GET", art)
    c.check(wrong_token.get(f"{a}/comments/"), "GET", thread)
    c.check(anonymous.get("/api/v1/articles/none/"), "GET", art)
    c.check(cms.put("/api/v1/articles/new/", {"title": "t", "url": ""}, format="json"), "PUT", art)
    c.check(cms.put("/api/v1/articles/new/", {"title": "t", "url": "", "comments_open": True}, format="json"),
            "PUT", art)
    c.check(cms.put("/api/v1/articles/new/", {"title": ""}, format="json"), "PUT", art)
    c.check(cms.put("/api/v1/articles/new/", "x", content_type="text/plain"), "PUT", art)
    c.check(anonymous.put("/api/v1/articles/new/", {"title": "t", "url": ""}, format="json"), "PUT", art)
    c.check(author.put("/api/v1/articles/new/", {"title": "t", "url": ""}, format="json"), "PUT", art)

    page = author.get(f"{a}/comments/", {"page_size": 1})
    c.check(page, "GET", thread)
    c.check(author.get(page.json()["next"]), "GET", thread)
    c.check(anonymous.get(f"{a}/comments/", {"sort": "top"}), "GET", thread)
    c.check(anonymous.get(f"{a}/comments/", {"cursor": "nonsense"}), "GET", thread)
    c.check(anonymous.get("/api/v1/articles/none/comments/"), "GET", thread)
    c.check(author.post(f"{a}/comments/", {"body": "new", "parent": root.pk}, format="json"), "POST", thread)
    c.check(author.post(f"{a}/comments/", {"body": ""}, format="json"), "POST", thread)
    c.check(author.post(f"{a}/comments/", "{", content_type="application/json"), "POST", thread)
    c.check(author.post(f"{a}/comments/", "x" * 70_000, content_type="application/json"), "POST", thread)
    c.check(anonymous.post(f"{a}/comments/", {"body": "x"}, format="json"), "POST", thread)
    c.check(api_client(banned_reader).post(f"{a}/comments/", {"body": "x"}, format="json"), "POST", thread)
    c.check(author.post("/api/v1/articles/none/comments/", {"body": "x"}, format="json"), "POST", thread)

    c.check(anonymous.get(f"{r}/"), "GET", one)
    c.check(anonymous.get("/api/v1/comments/999999/"), "GET", one)

    replies = "/api/v1/comments/{id}/replies/"
    settings.COMMENTS_REPLIES_SHOWN = 1
    c.check(anonymous.get(f"{a}/comments/"), "GET", thread)  # the root's subtree is cut: more_replies
    cut = anonymous.get(f"{r}/")
    c.check(cut, "GET", one)
    assert cut.json()["more_replies"]["count"] == 1
    c.check(anonymous.get(cut.json()["more_replies"]["next"]), "GET", replies)
    c.check(author.get(f"{r}/replies/"), "GET", replies)
    c.check(anonymous.get(f"{r}/replies/", {"cursor": "nonsense"}), "GET", replies)
    c.check(anonymous.get("/api/v1/comments/999999/replies/"), "GET", replies)
    del settings.COMMENTS_REPLIES_SHOWN
    c.check(author.patch(f"{r}/", {"body": "edited"}, format="json"), "PATCH", one)
    c.check(author.patch(f"{r}/", {"body": None}, format="json"), "PATCH", one)
    c.check(other.patch(f"{r}/", {"body": "mine now"}, format="json"), "PATCH", one)
    c.check(anonymous.patch(f"{r}/", {"body": "x"}, format="json"), "PATCH", one)
    c.check(other.delete(f"{r}/"), "DELETE", one)
    c.check(anonymous.delete(f"{r}/"), "DELETE", one)

    c.check(other.post(f"{r}/flag/", {"reason": "spam"}, format="json"), "POST", flag)
    c.check(other.post(f"{r}/flag/", {"reason": "spam"}, format="json"), "POST", flag)
    c.check(other.post(f"{r}/flag/", {"reason": "nope"}, format="json"), "POST", flag)
    c.check(author.post(f"{r}/flag/", {"reason": "spam"}, format="json"), "POST", flag)
    c.check(anonymous.post(f"{r}/flag/", {"reason": "spam"}, format="json"), "POST", flag)
    c.check(other.post("/api/v1/comments/999999/flag/", {"reason": "spam"}, format="json"), "POST", flag)

    c.check(author.post(f"{r}/like/"), "POST", like)
    c.check(author.delete(f"{r}/like/"), "DELETE", like)
    c.check(anonymous.post(f"{r}/like/"), "POST", like)
    c.check(api_client(banned_reader).post(f"{r}/like/"), "POST", like)
    c.check(author.post("/api/v1/comments/999999/like/"), "POST", like)
    c.check(api_client(reader).delete(f"/api/v1/comments/{reply.pk}/"), "DELETE", one)
    c.check(author.delete(f"{r}/"), "DELETE", one)

    settings.COMMENTS_THROTTLE_RATES = {"anon": "1/min"}
    anonymous.get(f"{a}/")
    c.check(anonymous.get(f"{a}/"), "GET", art)

    every_operation = {(m.upper(), p) for p, ops in schema["paths"].items() if p.startswith("/api/v1/") for m in ops
                       if m not in {"parameters"} and _served(p) and p not in {"/api/v1/counts/",
                                                                                "/api/v1/counts/events/",
                                                                                "/api/v1/articles/{key}/events/"}}
    assert every_operation <= {(m, p) for m, p, _ in c.seen}


def test_documented_request_bodies_are_what_the_views_read(schema):
    c = Conformance(schema)
    components = schema["components"]["schemas"]

    def fields(ref):
        return set(components[ref["$ref"].rsplit("/", 1)[1]]["properties"])

    assert fields(c.request_body("POST", "/api/v1/articles/{key}/comments/")) == {"body", "parent"}
    assert fields(c.request_body("PATCH", "/api/v1/comments/{id}/")) == {"body"}
    assert fields(c.request_body("POST", "/api/v1/comments/{id}/flag/")) == {"reason", "note"}
    assert fields(c.request_body("PUT", "/api/v1/articles/{key}/")) == {"title", "url", "published_at",
                                                                        "comments_open"}


def test_sign_in_operations_are_in_the_schema_and_match_allauth(schema, client, article):
    """A frontend developer signs up from the docs page: allauth's operations are there, and right."""
    signup = "/_allauth/{client}/v1/auth/signup"
    assert {signup, "/_allauth/{client}/v1/auth/login", "/_allauth/{client}/v1/auth/session"} <= set(schema["paths"])
    assert schema["paths"][signup]["post"]["requestBody"] == {"$ref": "#/components/requestBodies/AllauthSignup"}
    assert {"email", "display_name"} <= set(schema["components"]["schemas"]["AllauthBaseSignup"]["properties"])
    c = Conformance(schema)

    response = client.post("/_allauth/app/v1/auth/signup", {"email": "docs@example.com", "password": "a long pass 1",
                                                          "display_name": "Docs"}, content_type="application/json")
    c.check(response, "POST", signup)
    token = response.json()["meta"]["session_token"]
    posted = client.post(f"/api/v1/articles/{article.key}/comments/", {"body": "hi"},
                         content_type="application/json", headers={"X-Session-Token": token})
    c.check(posted, "POST", "/api/v1/articles/{key}/comments/")
    assert posted.status_code == 201


# --- What the schema says, statement by statement (issue 16.8) ------------------------------------------


def _component(schema, ref_holder) -> dict:
    return schema["components"]["schemas"][ref_holder["$ref"].rsplit("/", 1)[1]]


def test_an_articles_url_may_be_empty_and_the_schema_says_so(schema, api_client, make_article):
    make_article("no-url", url="")
    c = Conformance(schema)
    response = api_client().get("/api/v1/articles/no-url/")
    assert response.json()["url"] == ""
    c.check(response, "GET", "/api/v1/articles/{key}/")  # "" against oneOf [uri, empty]
    url = schema["components"]["schemas"]["Article"]["properties"]["url"]
    assert {"type": "string", "maxLength": 0} in url["anyOf"]


@pytest.mark.parametrize(("method", "template"), [("POST", "/api/v1/articles/{key}/comments/"),
                                                  ("PATCH", "/api/v1/comments/{id}/")])
def test_a_comment_body_is_required_and_not_blank_in_the_schema(schema, method, template):
    body = schema["paths"][template][method.lower()]["requestBody"]
    assert body["required"] is True
    component = _component(schema, body["content"]["application/json"]["schema"])
    assert "body" in component["required"]
    assert component["properties"]["body"]["minLength"] == 1


def test_an_edit_without_a_body_is_the_documented_400(schema, api_client, article, post, reader):
    comment = post(article, "mine")
    c = Conformance(schema)
    for payload in ({}, {"body": ""}):
        response = api_client(reader).patch(f"/api/v1/comments/{comment.pk}/", payload, format="json")
        assert response.status_code == 400
        c.check(response, "PATCH", "/api/v1/comments/{id}/")


def test_counts_say_their_key_pattern_and_limit(schema):
    [article] = [p for p in schema["paths"]["/api/v1/counts/"]["get"]["parameters"] if p["name"] == "article"]
    assert article["schema"]["maxItems"] == 100
    assert article["schema"]["items"]["pattern"] == "^[A-Za-z0-9._~-]{1,200}$"


@pytest.mark.parametrize("key", ["%C2%84", "a" * 201, "white%20space", "sla%2Fsh"])
def test_an_impossible_key_on_put_is_the_documented_404(schema, api_client, cms_token, key):
    cms = api_client()
    cms.credentials(HTTP_AUTHORIZATION=cms_token)
    response = cms.put(f"/api/v1/articles/{key}/", {"title": "t", "url": ""}, format="json")
    assert response.status_code == 404
    assert response.json()["code"]
    Conformance(schema).check(response, "PUT", "/api/v1/articles/{key}/")


def test_sign_up_requires_a_display_name_in_the_schema(schema):
    assert {"email", "display_name"} <= set(schema["components"]["schemas"]["AllauthBaseSignup"]["required"])


@pytest.mark.parametrize("token", ["bogus", "", "x" * 300])
def test_an_unknown_session_token_reads_as_anyone_and_cannot_write(schema, client, article, token):
    """What the docs say (ERRORS[401] and the sessionToken scheme) is what the code does."""
    headers = {"X-Session-Token": token}
    c = Conformance(schema)
    read = client.get(f"/api/v1/articles/{article.key}/comments/", headers=headers)
    assert read.status_code == 200
    c.check(read, "GET", "/api/v1/articles/{key}/comments/")
    write = client.post(f"/api/v1/articles/{article.key}/comments/", {"body": "x"}, content_type="application/json",
                        headers=headers)
    assert write.status_code == 401
    c.check(write, "POST", "/api/v1/articles/{key}/comments/")
    description = schema["components"]["securitySchemes"]["sessionToken"]["description"]
    assert "reads answer as to anyone" in description and "writes 401" in description


def test_a_wrong_drf_token_fails_even_a_read(schema, client, article):
    read = client.get(f"/api/v1/articles/{article.key}/", headers={"Authorization": "Token wrong"})
    assert read.status_code == 401
    Conformance(schema).check(read, "GET", "/api/v1/articles/{key}/")


@pytest.mark.parametrize(("method", "path"), [("GET", "/_allauth/nope/v1/config"),
                                              ("POST", "/_allauth/nope/v1/auth/login")])
def test_an_unknown_account_client_is_a_documented_json_404(schema, client, db, method, path):
    response = client.generic(method, path, b"{}", content_type="application/json")
    assert response.status_code == 404
    assert response.json()["status"] == 404
    template = path.replace("nope", "{client}")
    Conformance(schema).check(response, method, template)


# --- The docs page ---------------------------------------------------------------------------------------


def test_docs_page_works_offline(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Content-Security-Policy" not in response  # Swagger UI runs an inline script.
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets and not [a for a in assets if a.startswith(("http:", "https:", "//"))], assets
    for asset in assets:
        assert finders.find(asset.removeprefix(settings.STATIC_URL).removeprefix("/" + settings.STATIC_URL)), asset
    assert "/api/schema/" in html
