"""The ASGI stack: every middleware runs natively async, and static files are still served."""

import asyncio

import pytest
from django.conf import settings
from django.utils.module_loading import import_string

from comments_project.asgi import application
from tests.sse import StreamClient


@pytest.mark.parametrize("dotted_path", settings.MIDDLEWARE)
def test_no_middleware_forces_a_thread_hop(dotted_path):
    """A sync-only middleware makes Django run the rest of the chain through async_to_sync."""
    assert getattr(import_string(dotted_path), "async_capable", False), f"{dotted_path} is sync-only"


@pytest.mark.django_db
@pytest.mark.parametrize("path, content_type", [
    ("/static/comments/live.js", "text/javascript"),
    ("/static/comments/counts.js", "text/javascript"),
])
def test_static_files_are_served_under_asgi(path, content_type):
    async def fetch():
        async with StreamClient(application, path) as response:
            return response.status, response.headers, await response.read_body()

    status, headers, body = asyncio.run(fetch())
    assert status == 200
    assert headers["content-type"].startswith(content_type)
    assert b"data-comment-count" in body
