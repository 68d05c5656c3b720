"""WSGI entry point: pages and the API under gunicorn's sync workers (deploy/gunicorn.conf.py).

Each worker serves one request at a time on one thread for its whole life, so the settings keep
its database connection open between requests (COMMENTS_SERVER=wsgi). Event streams belong on
the ASGI server (comments_project/asgi.py): here a stream would hold a whole worker.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "comments_project.settings")
os.environ.setdefault("COMMENTS_SERVER", "wsgi")
application = get_wsgi_application()
