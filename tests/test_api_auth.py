"""How clients sign in to the API: allauth's app API with X-Session-Token, the browser session
with CSRF, a DRF token for the CMS (test_api_articles.py), and CORS for the frontend origins."""

import pytest
from django.test import Client

from comments.models import Comment

SIGNUP = {"email": "new@example.com", "password": "a long pass phrase 1", "display_name": "Newbie"}


def thread_url(article) -> str:
    return f"/api/v1/articles/{article.key}/comments/"


def app_session_token(client, path: str, payload: dict) -> str:
    response = client.post(f"/_allauth/app/v1/auth/{path}", payload, content_type="application/json")
    assert response.status_code == 200, response.content
    return response.json()["meta"]["session_token"]


def test_app_client_signs_up_and_posts_with_its_session_token(article):
    client = Client()
    token = app_session_token(client, "signup", SIGNUP)

    response = client.post(thread_url(article), {"body": "My first comment"}, content_type="application/json",
                           headers={"X-Session-Token": token})

    assert response.status_code == 201, response.content
    assert response.json()["author"]["display_name"] == "Newbie"
    assert Comment.objects.get().author.email == "new@example.com"


def test_app_client_logs_in_and_its_token_works_until_logout(article, post, other_reader):
    comment = post(article)
    client = Client()
    token = app_session_token(client, "login", {"email": other_reader.email, "password": "correct horse battery"})
    headers = {"X-Session-Token": token}

    assert client.post(f"/api/v1/comments/{comment.pk}/like/", headers=headers).status_code == 200
    assert client.get(thread_url(article), headers=headers).json()["results"][0]["liked"] is True

    assert client.delete("/_allauth/app/v1/auth/session", headers=headers).status_code == 401  # allauth: signed out
    response = client.post(f"/api/v1/comments/{comment.pk}/like/", headers=headers)
    assert response.status_code == 401


def test_unknown_session_token_is_401(article):
    response = Client().post(thread_url(article), {"body": "hi"}, content_type="application/json",
                             headers={"X-Session-Token": "made-up"})
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "X-Session-Token"


@pytest.fixture
def browser(reader):
    """A browser signed in through allauth's headless browser API, as a same-site SPA would."""
    client = Client(enforce_csrf_checks=True)
    client.get("/_allauth/browser/v1/config")
    csrf = client.cookies["csrftoken"].value
    response = client.post("/_allauth/browser/v1/auth/login",
                           {"email": reader.email, "password": "correct horse battery"},
                           content_type="application/json", headers={"X-CSRFToken": csrf})
    assert response.status_code == 200, response.content
    client.csrf = client.cookies["csrftoken"].value  # Django rotates it at login.
    return client


def test_browser_session_posts_with_csrf_token(browser, article):
    response = browser.post(thread_url(article), {"body": "from the browser"}, content_type="application/json",
                            headers={"X-CSRFToken": browser.csrf})
    assert response.status_code == 201


def test_browser_session_without_csrf_token_is_403_json(browser, article):
    response = browser.post(thread_url(article), {"body": "forged"}, content_type="application/json")
    assert response.status_code == 403
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "permission_denied"
    assert not Comment.objects.exists()


def test_browser_session_reads_without_csrf(browser, article):
    assert browser.get(thread_url(article)).status_code == 200


@pytest.fixture
def frontend_origin(settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://news.example"]
    return "https://news.example"


def test_cors_allows_frontend_origins_with_credentials(client, frontend_origin, article):
    response = client.options(thread_url(article), headers={
        "Origin": frontend_origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type, x-session-token",
    })
    assert response["Access-Control-Allow-Origin"] == frontend_origin
    assert response["Access-Control-Allow-Credentials"] == "true"
    assert "x-session-token" in response["Access-Control-Allow-Headers"]
    read = client.get(thread_url(article), headers={"Origin": frontend_origin})
    assert read["Access-Control-Allow-Origin"] == frontend_origin
    assert "retry-after" in read["Access-Control-Expose-Headers"]


def test_cors_ignores_other_origins(client, frontend_origin, article):
    response = client.get(thread_url(article), headers={"Origin": "https://evil.example"})
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response
    assert "Access-Control-Allow-Credentials" not in response


def test_answers_to_a_signed_in_reader_are_private_and_vary_on_the_credentials(article, post, other_reader):
    """Issue 16.9: a shared cache must never hand one reader's can_edit or liked to another."""
    comment = post(article)
    client = Client()
    token = app_session_token(client, "login", {"email": other_reader.email, "password": "correct horse battery"})
    headers = {"X-Session-Token": token}
    for response in (client.get(f"/api/v1/comments/{comment.pk}/", headers=headers),
                     client.post(f"/api/v1/comments/{comment.pk}/like/", headers=headers),
                     client.get(thread_url(article), headers=headers)):
        assert response.status_code == 200
        assert "private" in response["Cache-Control"]
        assert {"X-Session-Token", "Cookie", "Authorization"} <= {v.strip() for v in response["Vary"].split(",")}
    anonymous = Client().get(f"/api/v1/comments/{comment.pk}/")
    assert "X-Session-Token" in anonymous["Vary"] and "private" not in anonymous.get("Cache-Control", "")
