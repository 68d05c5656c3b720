"""The account endpoints (django-allauth's headless API, ``/_allauth/``) always answer JSON, and
never with a 500 for bad input.

Found by sending hostile requests (issue 16): a body nested 1,000 deep answered 500 on sign-in
and sign-up (RecursionError inside allauth's ``json.loads``), a lone surrogate in the display
name answered 500 after the account row was committed, and malformed JSON, a 1 MB body, a CSRF
failure or an unknown path got Django's HTML pages. ``AccountApiMiddleware`` sits in front of
allauth for the paths under ``COMMENTS_ACCOUNT_API_PREFIX``:

- a body is checked before allauth reads it (``comments.json_input``; a JSON object only; at most
  ``DATA_UPLOAD_MAX_MEMORY_SIZE`` bytes), and refused with 400, 413 or 415;
- each request that changes something runs in one transaction, so a sign-up that fails half way
  leaves no account behind;
- any answer that is not JSON (Django's 403, 404, 405, 413 pages, an exception) becomes JSON in
  allauth's error shape with the same status: ``{"status": 400, "errors": [{"message": "...",
  "code": "invalid"}]}`` (allauth's headless specification, "Errors");
- a refusal by allauth's rate limits (429, or 400 ``too_many_login_attempts`` on sign-in) carries
  ``Retry-After``, as every 429 of the API does.
"""

from __future__ import annotations

import logging
import math
import time

from asgiref.sync import async_to_sync, iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import BadRequest, PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.db import transaction
from django.http import Http404, HttpResponse, JsonResponse
from django.urls import Resolver404, resolve
from django.utils.translation import gettext as _

from comments import conf, json_input

logger = logging.getLogger(__name__)

WRITES = {"POST", "PUT", "PATCH", "DELETE"}


def error_response(status: int, message: str, code: str) -> JsonResponse:
    """An error in allauth's headless shape."""
    return JsonResponse({"status": status, "errors": [{"message": message, "code": code}]}, status=status)


def _is_json(response) -> bool:
    return response.get("Content-Type", "").split(";")[0].strip() == "application/json"


def _as_json(response):
    """Django's HTML error pages, in allauth's shape; JSON and successful answers unchanged."""
    if response.status_code < 400 or _is_json(response) or getattr(response, "streaming", False):
        return response
    status = response.status_code
    messages = {
        403: (_("Forbidden. If you use the browser client, send the CSRF token."), "forbidden"),
        404: (_("Not found."), "not_found"),
        405: (_("Method not allowed."), "method_not_allowed"),
        413: (_("The request body is too large."), "too_large"),
    }
    message, code = messages.get(status, (_("The request could not be handled."), "error"))
    converted = error_response(status, message, code)
    for header in ("Allow", "Retry-After"):
        if header in response:
            converted[header] = response[header]
    return converted


def _allowed_methods(request) -> list[str] | None:
    """The methods the view at this path serves (None: no class-based view here)."""
    try:
        view_class = getattr(resolve(request.path_info).func, "view_class", None)
    except Resolver404:
        return None
    if view_class is None:
        return None
    return [name.upper() for name in view_class.http_method_names if hasattr(view_class, name)]


def _by_method(request) -> HttpResponse | None:
    """A method the view does not serve is a 405 with ``Allow`` (allauth reads the body and the
    headers of any method first, and answered TRACE with 400); OPTIONS is a 204 with ``Allow``
    (Django's answer is an empty text/html page). None: let the view answer."""
    allowed = _allowed_methods(request)
    if allowed is None:
        return None
    if request.method == "OPTIONS":
        response = HttpResponse(status=204)
    elif request.method in allowed:
        return None
    else:
        response = error_response(405, _("Method not allowed."), "method_not_allowed")
    response["Allow"] = ", ".join(allowed)
    return response


def _refusal(request) -> JsonResponse | None:
    """Why the body of ``request`` is refused before allauth reads it, or None."""
    if request.method not in WRITES:
        return None
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if limit is not None and length > limit:
        return error_response(413, _("The request body is too large."), "too_large")
    try:
        body = request.body
    except RequestDataTooBig:
        return error_response(413, _("The request body is too large."), "too_large")
    if not body:
        return None
    if request.content_type != "application/json":
        message = _("Send the body as JSON (Content-Type: application/json).")
        return error_response(415, message, "unsupported_media_type")
    try:
        data = json_input.parse(body)
    except json_input.InvalidJSON as error:
        return error_response(400, str(error), "invalid")
    if not isinstance(data, dict):
        return error_response(400, _("The body must be a JSON object."), "invalid")
    return None


def retry_after(request) -> int:
    """Seconds until allauth's rate limits let ``request``'s client try again (its 429s say nothing).

    allauth keeps, per action and rate, the times of the recent attempts in the cache: a full
    window per address or per account frees a slot when its oldest attempt counted leaves it.
    A limit per key (the email typed) cannot be looked up without the key: if no full window is
    found, the longest such window, an upper bound.
    """
    from allauth.account import app_settings
    from allauth.core.internal import ratelimit

    now, waits, key_windows = time.time(), [], []
    for action, rates in app_settings.RATE_LIMITS.items():
        for rate in ratelimit.parse_rates(rates):
            if rate.per == "key":
                key_windows.append(rate.duration)
                continue
            if rate.per == "user" and not request.user.is_authenticated:
                continue
            cache_key = ratelimit.get_cache_key(request, app="allauth.account", action=action, rate=rate)
            recent = sorted(t for t in cache.get(cache_key, []) if t > now - rate.duration)
            if len(recent) >= rate.amount:
                waits.append(recent[len(recent) - rate.amount] + rate.duration - now)
    seconds = max(waits) if waits else max(key_windows, default=60)
    return max(1, math.ceil(seconds))


def _rate_limited(response) -> bool:
    """A 429, or allauth's refusal of a sign-in for too many failed attempts (a 400 with the code
    ``too_many_login_attempts``, as allauth's specification has it)."""
    if response.status_code == 429:
        return True
    return (response.status_code == 400 and _is_json(response)
            and b'"too_many_login_attempts"' in response.content)


def with_retry_after(request, response):
    """``response`` with ``Retry-After`` when allauth's rate limits refused the request."""
    if "Retry-After" not in response and _rate_limited(response):
        response["Retry-After"] = str(retry_after(request))
    return response


def too_many_requests(request):
    """allauth's 429 page for the HTML sign-in pages, with ``Retry-After`` (the URLconf's
    ``handler429``, which allauth looks up)."""
    from allauth.core.internal.ratelimit import handler429

    return with_retry_after(request, handler429(request))


class AccountApiMiddleware:
    """See the module's docstring. Works in both modes: under ASGI, requests outside the account
    API pass straight through (no thread hop); those under it, served by allauth's sync views
    anyway, are handled in the request's sync thread, where their transaction is."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request):
        if iscoroutinefunction(self):
            return self.__acall__(request)
        if not request.path.startswith(conf.account_api_prefix()):
            return self.get_response(request)
        return self._handle(request, self.get_response)

    async def __acall__(self, request):
        if not request.path.startswith(conf.account_api_prefix()):
            return await self.get_response(request)
        return await sync_to_async(self._handle)(request, async_to_sync(self.get_response))

    @staticmethod
    def _handle(request, get_response):
        refusal = _by_method(request) or _refusal(request)
        if refusal is not None:
            return refusal
        if request.method in WRITES:
            with transaction.atomic():
                response = get_response(request)
                if response.status_code >= 500:
                    transaction.set_rollback(True)
        else:
            response = get_response(request)
        return with_retry_after(request, _as_json(response))

    def process_exception(self, request, exception):
        """An unexpected error under the account API: logged, answered as JSON (not HTML)."""
        if not request.path.startswith(conf.account_api_prefix()):
            return None
        if isinstance(exception, (PermissionDenied, Http404, SuspiciousOperation, BadRequest)):
            return None  # Django answers these 403/404/400; _as_json puts them in allauth's shape
        logger.error("account API error on %s", request.path, exc_info=exception)
        return error_response(500, _("Something went wrong on our side. Please try again."), "server_error")
