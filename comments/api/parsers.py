"""JSON in, refusing what Python's json module lets through but nothing downstream can store."""

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


def _has_lone_surrogate(value) -> bool:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(_has_lone_surrogate(k) or _has_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_lone_surrogate(v) for v in value)
    return False


class StrictJSONParser(JSONParser):
    """DRF's JSONParser, plus a 400 for two inputs it would let crash the request (500).

    ``"\\ud800"`` decodes to a lone surrogate that no UTF-8 database accepts, and a deeply
    nested document (``[[[[...``, well within the size limit) exhausts the parser's recursion.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply.") from None
        try:
            invalid = _has_lone_surrogate(data)
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply.") from None
        if invalid:
            raise ParseError("JSON parse error - a string contains a lone surrogate (not Unicode text).")
        return data
