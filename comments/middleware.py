"""A Content-Security-Policy on reader pages: the second wall behind the sanitizer.

No inline script may run on a page that shows comments, so even HTML that slipped past
sanitizing could not execute. The admin and the API docs keep Django's and Swagger's own needs.
"""

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.conf import settings
from django.utils.decorators import sync_and_async_middleware
from whitenoise.middleware import WhiteNoiseMiddleware

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
