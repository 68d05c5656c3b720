"""JSON in, refusing what Python's json module lets through but nothing downstream can store."""

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from comments import json_input


class StrictJSONParser(JSONParser):
    """DRF's JSONParser with ``comments.json_input``'s rules: a 400 (not a 500 later) for a lone
    surrogate, a document nested deeper than ``json_input.MAX_DEPTH``, a number beyond a float,
    ``NaN`` / ``Infinity``, or a body that is not UTF-8."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return json_input.parse(stream.read() if stream is not None else b"")
        except json_input.InvalidJSON as error:
            raise ParseError(str(error)) from None
