"""/healthz and /readyz: what a load balancer asks before sending readers to this process."""

from unittest import mock

import pytest
from django.db import connection
from django.test import Client

from tests.test_outages import database_down


@pytest.fixture
def probe():
    """A load balancer: plain HTTP, by IP address, naming no host the site knows."""
    client = Client(HTTP_HOST="10.1.2.3:8000")
    return client.get


@pytest.fixture(autouse=True)
def _production_security(settings):
    settings.ALLOWED_HOSTS = ["comments.news.example"]
    settings.SECURE_SSL_REDIRECT = True


def test_liveness_touches_nothing(probe):
    with mock.patch.object(connection, "create_cursor", side_effect=AssertionError("no database")):
        response = probe("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Cache-Control"] == "no-store"


def test_readiness_reports_each_check(probe, db):
    response = probe("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert {name: check["status"] for name, check in body["checks"].items()} == {
        "database": "ok", "cache": "ok", "broker": "ok"}


def test_readiness_fails_with_the_database(probe, db):
    with database_down():
        response = probe("/readyz")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert (checks["database"]["status"], checks["database"]["error"]) == ("fail", "OperationalError")
    assert checks["cache"]["status"] == "ok"


def test_readiness_fails_with_the_cache(probe, db):
    with mock.patch("comments.health.cache.get", return_value=None):  # Redis down: every read misses
        response = probe("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["cache"]["status"] == "fail"
    assert response.json()["checks"]["database"]["status"] == "ok"


def test_readiness_fails_with_the_redis_broker(probe, db, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = probe("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"] == {**response.json()["checks"]["broker"], "status": "fail"}


def test_other_paths_still_check_the_host_and_redirect(probe, db):
    assert probe("/api/v1/articles/x/").status_code == 400  # DisallowedHost
    response = Client().get("/api/v1/articles/x/", HTTP_HOST="comments.news.example")
    assert response.status_code == 301
    assert response["Location"].startswith("https://")


@pytest.mark.django_db
def test_readiness_answers_under_asgi_too():
    """The stream server (uvicorn) runs the same middleware natively async."""
    import asyncio
    import json

    from comments_project.asgi import application
    from tests.sse import StreamClient

    async def fetch(path):
        async with StreamClient(application, path) as response:
            return response.status, json.loads(await response.read_body())

    assert asyncio.run(fetch("/healthz")) == (200, {"status": "ok"})
    status, body = asyncio.run(fetch("/readyz"))
    assert (status, body["status"]) == (200, "ok")
