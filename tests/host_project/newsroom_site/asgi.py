"""The site under an ASGI server (uvicorn), where the comments' event streams hold no thread."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "newsroom_site.settings")
django.setup(set_prefix=False)

from comments.asgi import StreamingASGIHandler  # noqa: E402 - needs the apps loaded

application = StreamingASGIHandler()
