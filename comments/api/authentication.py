"""How API callers prove who they are: allauth's session token, the session, or a DRF token."""

from allauth.headless.contrib.rest_framework.authentication import XSessionTokenAuthentication
from drf_spectacular.extensions import OpenApiAuthenticationExtension


class SessionTokenAuthentication(XSessionTokenAuthentication):
    """allauth's ``X-Session-Token`` (app/SPA clients), first in line for a reason.

    DRF answers an unauthenticated request 401 only if the *first* authentication class names
    a ``WWW-Authenticate`` challenge, 403 otherwise; API.md promises 401 for "not signed in".
    An unknown or expired token is allauth's "no sign-in" (``allow_invalid_session_tokens``): a
    read answers as to anyone (the widget keeps showing the thread after a session ends), a
    write 401; the schema's ``sessionToken`` says so.
    """

    def authenticate_header(self, request) -> str:
        return "X-Session-Token"


class SessionTokenScheme(OpenApiAuthenticationExtension):
    """Describes the header in the OpenAPI schema, so the docs' Authorize button offers it."""

    target_class = SessionTokenAuthentication
    name = "sessionToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "X-Session-Token",
            "description": "The `session_token` from allauth's app API "
            "(`POST /_allauth/app/v1/auth/login` or `/signup`). An unknown or expired token is no "
            "sign-in: reads answer as to anyone, writes 401 (sign in again).",
        }
