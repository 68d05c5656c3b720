"""How API callers prove who they are: allauth's session token, the session, or a DRF token."""

from allauth.headless.contrib.rest_framework.authentication import XSessionTokenAuthentication
from drf_spectacular.extensions import OpenApiAuthenticationExtension


class SessionTokenAuthentication(XSessionTokenAuthentication):
    """allauth's ``X-Session-Token`` (app/SPA clients), first in line for a reason.

    DRF answers an unauthenticated request 401 only if the *first* authentication class names
    a ``WWW-Authenticate`` challenge, 403 otherwise; API.md promises 401 for "not signed in".
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
            "(`POST /_allauth/app/v1/auth/login` or `/signup`).",
        }
