"""The service's URLs plus the ceiling: a bare view returning N bytes held in memory.

The ceiling runs through the same middleware and server as the real views, so the ratio of a
workload to it says how much of the time is ours rather than the server's or Django's.
"""

from functools import lru_cache

from django.http import HttpResponse, JsonResponse
from django.urls import path

from comments_project.urls import handler400, handler403, handler404, handler500  # noqa: F401
from comments_project.urls import urlpatterns as project_urlpatterns

MAX_CEILING_BYTES = 16 * 1024 * 1024


@lru_cache(maxsize=64)
def _payload(size: int) -> bytes:
    """A JSON document of exactly ``size`` bytes (at least 10): {"x":"xxx..."}."""
    return b'{"x":"' + b"x" * (size - 8) + b'"}'


def ceiling(request):
    """GET /bench/ceiling/?bytes=N: N bytes of JSON from memory, no database, no serializer."""
    try:
        size = int(request.GET.get("bytes", "1000"))
    except ValueError:
        size = -1
    if not 10 <= size <= MAX_CEILING_BYTES:
        return JsonResponse({"detail": f"bytes must be 10..{MAX_CEILING_BYTES}.", "code": "invalid"}, status=400)
    return HttpResponse(_payload(size), content_type="application/json")


urlpatterns = [path("bench/ceiling/", ceiling), *project_urlpatterns]
