"""A Content-Security-Policy on reader pages: the second wall behind the sanitizer.

No inline script may run on a page that shows comments, so even HTML that slipped past
sanitizing could not execute. The admin and the API docs keep Django's and Swagger's own needs.
"""

from asgiref.sync import iscoroutinefunction
from django.conf import settings
from django.utils.decorators import sync_and_async_middleware

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
