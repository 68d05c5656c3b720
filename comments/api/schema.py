"""The sign-in half of the docs: allauth's headless endpoints, merged into our OpenAPI schema.

A frontend developer signs up, logs in and out from the same /api/docs/ page where they then
post and like. The operations come from allauth's own specification of its code (the version
pinned in requirements.txt), so they describe what /_allauth/ really does.
"""

import copy
import re

from allauth.headless.spec.internal.schema import get_schema

# allauth's operations a comments frontend needs; the rest (2FA, providers, ...) are not enabled.
SIGN_IN_PATHS = (
    "/_allauth/{client}/v1/config",
    "/_allauth/{client}/v1/auth/signup",
    "/_allauth/{client}/v1/auth/login",
    "/_allauth/{client}/v1/auth/session",
    "/_allauth/{client}/v1/auth/email/verify",
    "/_allauth/{client}/v1/auth/password/request",
    "/_allauth/{client}/v1/auth/password/reset",
)
PREFIX = "Allauth"
TAG = "sign-in"
_REF = re.compile(r"^#/components/(\w+)/(.+)$")
# allauth's name for the X-Session-Token header, and ours (comments.api.authentication).
SECURITY_NAMES = {"SessionToken": "sessionToken"}


def _refs(node):
    """Every (kind, name) component that ``node`` refers to."""
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str) and (match := _REF.match(node["$ref"])):
            yield match.group(1), match.group(2)
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _renamed(node):
    """``node`` with its component references and security requirements in our namespace."""
    if isinstance(node, list):
        return [_renamed(value) for value in node]
    if not isinstance(node, dict):
        return node
    result = {}
    for key, value in node.items():
        if key == "$ref" and isinstance(value, str) and (match := _REF.match(value)):
            value = f"#/components/{match.group(1)}/{PREFIX}{match.group(2)}"
        elif key == "security":
            value = [{SECURITY_NAMES.get(name, name): scopes for name, scopes in req.items()} for req in value]
        else:
            value = _renamed(value)
        result[key] = value
    return result


# What our side of /_allauth/ answers beyond allauth's own specification (comments.account_api
# turns Django's error pages into allauth's error shape, whose ``status`` is then not only 400);
# named in allauth's namespace, so it becomes AllauthAccountError like the others.
ERROR_SCHEMA = "AccountError"


def _error(description: str, *, retry_after: bool = False) -> dict:
    response = {"description": description,
                "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR_SCHEMA}"}}}}
    if retry_after:
        response["headers"] = {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}}
    return response


def _our_answers(method: str, operation: dict) -> dict:
    """Statuses comments.account_api and Django add to an allauth operation."""
    answers = {"404": _error("Unknown `client` (only `app` and `browser`).")}
    if method != "get":
        answers["403"] = _error("The browser client sent no CSRF token.")
        answers["429"] = _error("Rate-limited by allauth (ACCOUNT_RATE_LIMITS).", retry_after=True)
    if "requestBody" in operation:
        answers["400"] = _error("Invalid input, or a body that is not a JSON object.")
        answers["413"] = _error("The request body is over the size limit.")
        answers["415"] = _error("Not `application/json`.")
    return answers


def add_allauth_sign_in(result, generator, request, public):
    """drf-spectacular postprocessing hook (SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"])."""
    allauth = get_schema()
    error = copy.deepcopy(allauth["components"]["schemas"]["ErrorResponse"])
    error["properties"]["status"] = {"type": "integer", "description": "The HTTP status."}
    allauth["components"]["schemas"] = {**allauth["components"]["schemas"], ERROR_SCHEMA: error}
    paths = {path: copy.deepcopy(allauth["paths"][path]) for path in SIGN_IN_PATHS if path in allauth["paths"]}
    for path, operations in paths.items():
        for method, operation in operations.items():
            operation["tags"] = [TAG]
            slug = re.sub(r"\W+", "_", path.removeprefix("/_allauth/{client}/v1/")).strip("_")
            operation["operationId"] = f"allauth_{slug}_{method}"
            for status, answer in _our_answers(method, operation).items():
                operation["responses"].setdefault(status, answer)

    needed, queue = set(), list(_refs(paths))
    while queue:
        kind, name = queue.pop()
        if (kind, name) not in needed:
            needed.add((kind, name))
            queue.extend(_refs(allauth["components"][kind][name]))

    components = result.setdefault("components", {})
    for kind, name in sorted(needed):
        components.setdefault(kind, {})[PREFIX + name] = _renamed(allauth["components"][kind][name])
    result["paths"].update(_renamed(paths))
    result.setdefault("tags", []).append(
        {"name": TAG, "description": "Sign up, log in and out. `client` is `browser` (session cookie + CSRF) "
         "or `app` (answers a `session_token`: use it with **Authorize** → `sessionToken`)."}
    )
    return result
