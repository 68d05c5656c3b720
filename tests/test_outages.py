"""An unreachable or read-only database is an outage: 503 with Retry-After, never a 500.

The database is taken down for one request by making the driver refuse every new cursor, as it
does when PostgreSQL restarts (the error comes up through Django's error wrapping, like a real
one). The test client re-raises what a view raises unless ``raise_request_exception=False``.
"""

import contextlib
from unittest import mock

import pytest
from django.db import InternalError, connection
from django.test import Client
from rest_framework.test import APIClient

from comments.models import Comment


@contextlib.contextmanager
def database_down():
    error = connection.Database.OperationalError("connection to server at 127.0.0.1 failed: Connection refused")
    with mock.patch.object(connection, "create_cursor", side_effect=error):
        yield


def assert_json_outage(response):
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "service_unavailable"
    assert response.json()["detail"]


def test_a_page_answers_a_short_503_page(article):
    client = Client(raise_request_exception=False)
    with database_down():
        response = client.get(f"/articles/{article.key}/")
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert response["Content-Type"].startswith("text/html")
    assert b"Briefly unavailable" in response.content


@pytest.mark.parametrize("debug", [False, True])
def test_an_api_read_answers_json_503(article, settings, debug):
    """With DEBUG on (or a host's own 500 handler) only the middleware stands between a view's
    database error and a 500."""
    settings.DEBUG = debug
    client = APIClient(raise_request_exception=False)
    with database_down():
        response = client.get(f"/api/v1/articles/{article.key}/")
    assert_json_outage(response)


def test_an_api_write_answers_json_503_and_writes_nothing(article, reader):
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(reader)
    with database_down():
        response = client.post(f"/api/v1/articles/{article.key}/comments/", {"body": "Hello"}, format="json")
    assert_json_outage(response)
    assert not Comment.objects.exists()


def test_a_read_only_database_answers_503(article, reader, settings):
    """PostgreSQL's "cannot execute INSERT in a read-only transaction" (a standby after fail-over)."""
    settings.COMMENTS_OUTAGE_RETRY_AFTER = 5
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(reader)
    refusal = InternalError("cannot execute INSERT in a read-only transaction")
    with mock.patch("comments.services.post_comment", side_effect=refusal):
        response = client.post(f"/api/v1/articles/{article.key}/comments/", {"body": "Hello"}, format="json")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"


def test_allauth_answers_json_503_in_both_shapes(db):
    client = Client(raise_request_exception=False)
    with database_down():
        response = client.post("/_allauth/app/v1/auth/login", {"email": "a@example.com", "password": "x" * 12},
                               content_type="application/json")
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    body = response.json()
    assert (body["code"], body["status"], body["errors"][0]["code"]) == (
        "service_unavailable", 503, "service_unavailable")


def test_an_outage_outside_a_view_answers_503_too(article, client):
    """A middleware that hits the database (the session, saved on the way out) is past the
    views' exception hook: the 500 handler turns it into the same 503."""
    client.raise_request_exception = False
    with mock.patch("django.contrib.sessions.middleware.SessionMiddleware.process_request",
                    side_effect=InternalError("cannot execute UPDATE in a read-only transaction")):
        response = client.get("/api/v1/articles/unknown/")
    assert_json_outage(response)


@pytest.mark.parametrize("error", [ValueError("a bug"), InternalError("duplicate key value violates")])
def test_a_bug_is_still_a_500(article, error):
    client = APIClient(raise_request_exception=False)
    with mock.patch("comments.api.views.ArticleSerializer", side_effect=error):
        response = client.get(f"/api/v1/articles/{article.key}/")
    assert response.status_code == 500
    assert "Retry-After" not in response
