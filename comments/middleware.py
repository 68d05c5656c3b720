"""A Content-Security-Policy on reader pages: the second wall behind the sanitizer.

No inline script may run on a page that shows comments, so even HTML that slipped past
sanitizing could not execute. The admin and the API docs keep Django's and Swagger's own needs.
"""

import ipaddress
import json

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.conf import settings
from django.http import HttpResponse
from django.utils.decorators import sync_and_async_middleware
from django.utils.deprecation import MiddlewareMixin
from whitenoise.middleware import WhiteNoiseMiddleware

from comments import health, outages

DEFAULT_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
EXEMPT_PREFIXES = ("/admin/", "/api/docs/")


def _apply_policy(request, response):
    if request.path.startswith(EXEMPT_PREFIXES) or "Content-Security-Policy" in response:
        return response
    if response.get("Content-Type", "").startswith("text/html"):
        response["Content-Security-Policy"] = getattr(settings, "CONTENT_SECURITY_POLICY", DEFAULT_POLICY)
    return response


@sync_and_async_middleware
def ContentSecurityPolicyMiddleware(get_response):  # noqa: N802 - a middleware factory
    """Works natively in both modes, so event streams under ASGI never need a thread."""
    if iscoroutinefunction(get_response):

        async def middleware(request):
            return _apply_policy(request, await get_response(request))

    else:

        def middleware(request):
            return _apply_policy(request, get_response(request))

    return middleware


class AsyncWhiteNoiseMiddleware(WhiteNoiseMiddleware):
    """WhiteNoise that stays async under ASGI.

    WhiteNoise's middleware is sync-only, so Django would call it from a worker thread and the
    rest of the chain (the event streams too) back through ``async_to_sync``: two thread hops on
    every request. Looking a URL up among the static files is a dict lookup, so only serving a
    file (or finding one on disk in development's autorefresh mode) goes to a thread here.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response, settings=settings):
        super().__init__(get_response, settings)
        if iscoroutinefunction(self.get_response):
            markcoroutinefunction(self)

    def __call__(self, request):
        if iscoroutinefunction(self):
            return self.__acall__(request)
        return super().__call__(request)

    async def __acall__(self, request):
        path = request.path_info
        if not self.autorefresh:
            static_file = self.files.get(path)
        elif path.startswith(self.static_prefix):
            static_file = await sync_to_async(self.find_file)(path)
        else:
            static_file = None
        if static_file is not None:
            return await sync_to_async(self.serve)(static_file, request)
        return await self.get_response(request)


# --- The client's address behind proxies ---------------------------------------------------------


UNKNOWN_CLIENT = "0.0.0.0"


def client_address(meta, proxies: int) -> str:
    """The client's address, with ``proxies`` proxies of ours in front of the server.

    Each proxy appends the address it got the request from to ``X-Forwarded-For``, so the
    ``proxies``-th entry from the right is what our outermost proxy saw; entries to its left
    were written by the client and are never believed. With fewer entries than proxies, the
    leftmost (the request came in past a proxy of ours, as DRF counts too). With no proxy, or
    an entry that is not an address, the peer (``REMOTE_ADDR``).
    """
    peer = meta.get("REMOTE_ADDR", "")
    if proxies <= 0:
        return peer
    entries = [entry.strip() for entry in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if entry.strip()]
    if not entries:
        return peer
    try:
        return str(ipaddress.ip_address(entries[-min(proxies, len(entries))]))
    except ValueError:
        return peer


@sync_and_async_middleware
def ClientAddressMiddleware(get_response):  # noqa: N802 - a middleware factory
    """Puts the client's address in ``REMOTE_ADDR`` (``client_address`` with the NUM_PROXIES
    setting), first thing, so that everything after it believes ``REMOTE_ADDR`` alone: DRF's
    throttles, allauth's rate limits and the admin's sign-in limits (whose own proxy counts are
    0 for that reason: see the settings), logs. One rule for all, and a forged
    ``X-Forwarded-For`` is ignored unless a proxy of ours is configured to stand to its right.
    """

    def rewrite(request):
        address = client_address(request.META, getattr(settings, "NUM_PROXIES", 0) or 0)
        try:
            ipaddress.ip_address(address)
        except ValueError:
            # No address at all (a unix socket's peer, a test client): one shared "unknown"
            # client, so rate limits still count it and allauth does not refuse with an error.
            address = UNKNOWN_CLIENT
        request.META["REMOTE_ADDR"] = address

    if iscoroutinefunction(get_response):

        async def middleware(request):
            rewrite(request)
            return await get_response(request)

    else:

        def middleware(request):
            rewrite(request)
            return get_response(request)

    return middleware


# --- Outages and health ------------------------------------------------------------------------


class DatabaseOutageMiddleware(MiddlewareMixin):
    """A view that fails because the database is unreachable or read-only answers 503 with
    ``Retry-After`` (JSON under /api/ and /_allauth/, a short page elsewhere), not 500. Errors
    raised outside views reach the 500 handler, which ``comments.api.exceptions.server_error``
    turns into the same 503."""

    def process_exception(self, request, exception):
        if outages.is_database_outage(exception):
            return outages.outage_response(request, exception)
        return None


HEALTH_PATHS = {"/healthz": health.liveness, "/readyz": health.readiness}


def _health_response(result: dict) -> HttpResponse:
    response = HttpResponse(json.dumps(result), content_type="application/json",
                            status=200 if result["status"] == "ok" else 503)
    response["Cache-Control"] = "no-store"
    return response


@sync_and_async_middleware
def HealthCheckMiddleware(get_response):  # noqa: N802 - a middleware factory
    """``GET /healthz`` (liveness: the process answers, nothing else is touched) and ``GET /readyz``
    (readiness: database, cache and live-event broker; see ``comments.health``), JSON, 200 or 503.

    Listed first in MIDDLEWARE, it answers before SecurityMiddleware (so a load balancer probing
    over plain HTTP is not redirected to HTTPS) and before anything reads the Host header (so a
    probe by IP address needs no entry in ALLOWED_HOSTS). That is safe because these answers
    build no URL from the Host header, set no cookie and say nothing beyond ok/fail per check.
    Every other path goes on untouched.
    """

    def probe(request):
        check = HEALTH_PATHS.get(request.path_info)
        if check is None or request.method not in ("GET", "HEAD"):
            return None
        return check

    if iscoroutinefunction(get_response):

        async def middleware(request):
            check = probe(request)
            if check is None:
                return await get_response(request)
            if check is health.liveness:
                return _health_response(check())
            return _health_response(await sync_to_async(check)())

    else:

        def middleware(request):
            check = probe(request)
            return get_response(request) if check is None else _health_response(check())

    return middleware
