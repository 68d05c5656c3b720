"""Path converters shared by the pages' and the API's URLs.

A comment's id in a URL is a database id (a 64-bit integer), so a longer run of digits is no
id at all: it does not match (a 404, like any comment that does not exist) instead of reaching
the database as an out-of-range number (PostgreSQL answered 500 NumericValueOutOfRange and
SQLite OverflowError for ``/api/v1/comments/101023735131365687876963113369600/replies/``,
found by schemathesis, issue 16.8).
"""

from django.urls import register_converter


class CommentIdConverter:
    """``<comment_id:...>``: 1 to 18 digits, below 2**63 - 1 (9,223,372,036,854,775,807, 19 digits)."""

    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value) -> str:
        return str(value)


register_converter(CommentIdConverter, "comment_id")
