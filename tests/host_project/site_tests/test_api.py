"""The comments API keeps its own contract beside the site's other REST framework defaults."""

import base64

from comments import hosts


def test_reader_posts_and_replies_through_the_api(client, story, reader, other_reader):
    article = hosts.article_for(story)
    url = f"/api/v1/articles/{article.key}/comments/"
    client.force_login(reader)
    posted = client.post(url, {"body": "Rates were too low."}, content_type="application/json")
    assert posted.status_code == 201, posted.content
    assert posted["Content-Type"] == "application/json"
    client.force_login(other_reader)
    reply = client.post(url, {"body": "Too low for whom?", "parent": posted.json()["id"]},
                        content_type="application/json")
    assert reply.status_code == 201, reply.content
    assert reply.json()["parent"] == posted.json()["id"]

    client.logout()
    thread = client.get(url)  # anonymous read: the site's default permission (staff only) does not apply
    assert thread.status_code == 200 and thread["Content-Type"] == "application/json"
    body = thread.json()
    assert body["count"] == 2  # the API's own page shape, not the site's limit/offset pages
    assert [c["body_html"] for c in body["results"]] == ["<p>Rates were too low.</p>"]
    assert body["results"][0]["replies"][0]["body_html"] == "<p>Too low for whom?</p>"


def test_anonymous_write_is_a_json_401_and_unknown_routes_a_json_404(client, story):
    article = hosts.article_for(story)
    refused = client.post(f"/api/v1/articles/{article.key}/comments/", {"body": "x"}, content_type="application/json")
    assert refused.status_code == 401 and refused.json()["code"] == "not_authenticated"
    missing = client.get("/api/v1/no-such-thing/")
    assert missing.status_code == 404 and missing["Content-Type"] == "application/json"


def test_the_sites_own_api_keeps_its_own_defaults(client, story, reader):
    assert client.get("/api/stories/").status_code in (401, 403)  # staff only, as the site says
    staff = reader.__class__.objects.create_user("editor", "editor@example.com", "pw", is_staff=True)
    auth = "Basic " + base64.b64encode(b"editor:pw").decode()
    answer = client.get("/api/stories/?format=json", HTTP_AUTHORIZATION=auth)
    assert staff.is_staff and answer.status_code == 200
    assert answer.json()["count"] == 1 and "results" in answer.json()  # limit/offset pages


def test_a_reader_signs_up_through_the_api_and_posts_as_the_readme_shows(client, story):
    """The README's sign-up (email, password, display name) on this site's allauth settings: a
    fresh site that left them out answered 400 (username required), then 500 (no mail server)."""
    article = hosts.article_for(story)
    signup = client.post("/_allauth/app/v1/auth/signup", {"email": "ani@example.com", "password": "a long pass 1",
                                                          "display_name": "Ani"}, content_type="application/json")
    assert signup.status_code == 200, signup.content
    token = signup.json()["meta"]["session_token"]
    posted = client.post(f"/api/v1/articles/{article.key}/comments/", {"body": "Signed up just now."},
                         content_type="application/json", headers={"X-Session-Token": token})
    assert posted.status_code == 201, posted.content
    assert posted.json()["author"]["display_name"] == "Ani"  # the name given at sign-up, not "Reader 1"


def test_the_api_schema_is_generated_whatever_the_sites_schema_class():
    """This site keeps DRF's own DEFAULT_SCHEMA_CLASS; the comments API documents itself anyway
    (a fresh site's schema generation failed: 'get_operation() takes 3 positional arguments')."""
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator(urlconf="comments.api.urls").get_schema(request=None, public=True)
    operation = schema["paths"]["/articles/{key}/comments/"]["post"]
    assert operation["operationId"] and "201" in operation["responses"]
