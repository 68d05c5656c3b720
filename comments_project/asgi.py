"""ASGI entry point: the service runs under uvicorn so that event streams hold no thread."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "comments_project.settings")
django.setup(set_prefix=False)

from comments.asgi import StreamingASGIHandler  # noqa: E402 - needs the apps loaded

application = StreamingASGIHandler()
