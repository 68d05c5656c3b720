"""The database is down or read-only: answer 503 with ``Retry-After``, never a 500.

A 500 tells a client (and the people watching the error rate) that the code is wrong; while
PostgreSQL restarts or fails over, the honest answer is "try again in N seconds". Used by
``comments.middleware.DatabaseOutageMiddleware`` (exceptions raised in views) and by the 500
handler ``comments.api.exceptions.server_error`` (exceptions raised anywhere else, such as a
session saved on the way out).
"""

import logging

from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from comments import conf

logger = logging.getLogger(__name__)

# PostgreSQL's SQLSTATE for "cannot execute ... in a read-only transaction" (a standby, or a
# primary set read-only), which Django raises as InternalError.
READ_ONLY_SQLSTATE = "25006"
READ_ONLY_WORDS = ("read-only", "readonly", "read only")



def is_database_outage(error: BaseException | None) -> bool:
    """True for errors that say the database cannot serve now, not that the query is wrong:
    a lost or refused connection (OperationalError, InterfaceError) or a read-only database."""
    if error is None or not isinstance(error, DatabaseError):
        return False
    if isinstance(error, OperationalError | InterfaceError):
        return True
    cause = error.__cause__
    if getattr(cause, "sqlstate", None) == READ_ONLY_SQLSTATE:
        return True
    return any(word in str(error).lower() for word in READ_ONLY_WORDS)


def outage_response(request, error: BaseException) -> HttpResponse:
    """503 with ``Retry-After`` (seconds, COMMENTS_OUTAGE_RETRY_AFTER). Under /api/ the API's error
    shape ``{detail, code}``; under /_allauth/ the same plus allauth's ``{status, errors}`` so
    both kinds of client read it; elsewhere a short HTML page (``comments/outage.html``)."""
    logger.error("database unavailable, answering 503: %r", error)
    retry_after = conf.outage_retry_after()
    detail = _("The service is briefly unavailable. Please try again in a moment.")
    path = request.path_info if request is not None else ""
    account_api = path.startswith(conf.account_api_prefix())
    if path.startswith("/api/") or account_api:
        body = {"detail": detail, "code": "service_unavailable"}
        if account_api:
            body |= {"status": 503, "errors": [{"message": detail, "code": "service_unavailable"}]}
        response = JsonResponse(body, status=503)
    else:
        # No request in the context: its processors would read the user, from the database.
        html = render_to_string("comments/outage.html", {"detail": detail, "retry_after": retry_after})
        response = HttpResponse(html, status=503)
    response["Retry-After"] = str(retry_after)
    response["Cache-Control"] = "no-store"
    return response
