"""Answers of cached bytes with an ETag: 304 when the client holds them already (RFC 9110 §13.1.2)."""

from django.http import HttpResponse, HttpResponseNotModified


def etag_matches(if_none_match: str, etag: str) -> bool:
    """Weak comparison (RFC 9110 §13.1.2): W/"x" and "x" name the same representation."""
    if not if_none_match:
        return False
    wanted = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in wanted or etag.removeprefix("W/") in wanted


def bytes_response(request, etag: str, body: bytes, *, cache_control: str, vary: str) -> HttpResponse:
    """200 with the JSON ``body``, or 304 when ``If-None-Match`` names ``etag``."""
    if etag_matches(request.META.get("HTTP_IF_NONE_MATCH", ""), etag):
        response = HttpResponseNotModified()
    else:
        response = HttpResponse(body, content_type="application/json")
    response["ETag"] = etag
    response["Cache-Control"] = cache_control
    response["Vary"] = vary
    return response
