"""JSON request bodies, checked before anything reads them: one rule for the comments API (its
DRF parser) and the account endpoints (``comments.account_api``).

Python's json module accepts documents that nothing downstream can store or survive: ``"\\ud800"``
decodes to a lone surrogate, which no UTF-8 database (nor Django's response encoder) accepts, so
a sign-up with it answered 500 after its account row was written; a document nested 1,000 deep,
well within the size limit, exhausts the interpreter's recursion (RecursionError, a 500);
``1e999`` becomes ``inf`` and ``NaN`` is not JSON at all (RFC 8259 §6). Each of these is a 400.
"""

from __future__ import annotations

import json

from django.utils.translation import gettext as _

# Containers nested in a request body: every body the API and allauth take nests 2 at most.
MAX_DEPTH = 32


class InvalidJSON(ValueError):
    """A body that is not a JSON document we accept; the message says why, for a 400."""


def _refuse_constant(name: str):
    raise InvalidJSON(_("JSON parse error - %(name)s is not a JSON number.") % {"name": name})


def _finite(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise InvalidJSON(_("JSON parse error - a number is too large."))
    return value


def check(data) -> None:
    """Raise InvalidJSON if ``data`` (a parsed document) nests deeper than ``MAX_DEPTH`` or holds
    a string that is not Unicode text (a lone surrogate). Iterative: no recursion to exhaust."""
    stack = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                message = _("JSON parse error - a string contains a lone surrogate (not Unicode text).")
                raise InvalidJSON(message) from None
        elif isinstance(value, dict | list):
            if depth >= MAX_DEPTH:
                raise InvalidJSON(_("JSON parse error - nested too deeply."))
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                stack.append((key, depth + 1))
                stack.append((item, depth + 1))


def parse(body: bytes | str):
    """The document in ``body`` (UTF-8 bytes or text), checked with ``check``; InvalidJSON if it
    is not one we accept."""
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidJSON(_("JSON parse error - the body is not UTF-8.")) from None
    try:
        data = json.loads(body, parse_constant=_refuse_constant, parse_float=_finite)
    except InvalidJSON:
        raise
    except RecursionError:
        raise InvalidJSON(_("JSON parse error - nested too deeply.")) from None
    except ValueError as error:  # JSONDecodeError, or an integer of more than 4,300 digits
        raise InvalidJSON(_("JSON parse error - %(detail)s") % {"detail": error}) from None
    check(data)
    return data
