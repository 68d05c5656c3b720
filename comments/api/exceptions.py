"""One place where errors become HTTP: every 4xx under /api/ is ``{detail, code, fields?}``."""

import sys

from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.http import Http404, JsonResponse
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from comments import outages
from comments.exceptions import CommentsError


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "too_large"


class BadRequest(exceptions.APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = "Bad request."
    default_code = "bad_request"


def _first_code(codes) -> str:
    if isinstance(codes, str):
        return codes
    if isinstance(codes, dict):
        for value in codes.values():
            return _first_code(value)
    if isinstance(codes, list) and codes:
        return _first_code(codes[0])
    return "invalid"


def _flatten(detail) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        return {
            str(key): [str(v) for v in value] if isinstance(value, list) else [str(value)]
            for key, value in detail.items()
        }
    return {"non_field_errors": [str(v) for v in detail]}


def api_exception_handler(exc, context):
    if isinstance(exc, CommentsError):
        body = {"detail": exc.message, "code": exc.code}
        if exc.fields:
            body["fields"] = exc.fields
        return Response(body, status=exc.status)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, RequestDataTooBig):
        # Django refuses to read a body over DATA_UPLOAD_MAX_MEMORY_SIZE; left alone this
        # would become Django's HTML 400 page.
        exc = PayloadTooLarge()
    elif isinstance(exc, SuspiciousOperation):
        exc = BadRequest()

    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = {
            "detail": "Invalid input.",
            "code": _first_code(exc.get_codes()),
            "fields": _flatten(exc.detail),
        }
        response.status_code = status.HTTP_400_BAD_REQUEST
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        response.data = {"detail": str(detail), "code": _first_code(exc.get_codes())}
    return response


# --- Errors that happen outside DRF's views -------------------------------------------------------


def _json_under_api(default_view, status_code: int, detail: str, code: str):
    """A Django error handler that answers in the API's shape under /api/, the site's page elsewhere."""

    def handler(request, *args, **kwargs):
        if request.path.startswith("/api/"):
            return JsonResponse({"detail": detail, "code": code}, status=status_code)
        return default_view(request, *args, **kwargs)

    return handler


bad_request = _json_under_api(defaults.bad_request, 400, "Bad request.", "bad_request")
permission_denied = _json_under_api(defaults.permission_denied, 403, "Permission denied.", "permission_denied")
page_not_found = _json_under_api(defaults.page_not_found, 404, "Not found.", "not_found")
_server_error = _json_under_api(defaults.server_error, 500, "Server error.", "server_error")


def server_error(request, *args, **kwargs):
    """The 500 handler: an unreachable or read-only database is an outage (503, ``Retry-After``),
    wherever it was raised (a middleware saving the session, say); anything else is a 500."""
    error = sys.exc_info()[1]
    if outages.is_database_outage(error):
        return outages.outage_response(request, error)
    return _server_error(request, *args, **kwargs)


@csrf_exempt
def api_not_found(request, *args, **kwargs):
    """Catch-all for unmatched /api/ paths: with DEBUG on, Django's own 404 would be an HTML page."""
    return page_not_found(request)
