"""ASGI entry point: the service runs under uvicorn so that event streams hold no thread."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "comments_project.settings")
application = get_asgi_application()
