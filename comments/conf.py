"""Comment policy settings, each with its default, read from Django settings at call time.

Reading at call time (not import time) lets tests use ``override_settings``.
"""

from datetime import timedelta

from django.conf import settings

DEFAULTS = {
    # Deepest nesting level; a top-level comment has depth 0. Replies to a comment at this
    # depth are attached beside it (same parent) and name it in ``in_reply_to``.
    "COMMENTS_MAX_DEPTH": 4,
    # Longest comment body a reader may type, in characters.
    "COMMENTS_MAX_LENGTH": 5000,
    # How long after posting an author may still edit a comment.
    "COMMENTS_EDIT_WINDOW": timedelta(minutes=15),
    # Open flags from distinct readers that hide a comment and send it to the queue.
    "COMMENTS_FLAGS_TO_HIDE": 3,
    # Site-wide pre-moderation: hold every new comment for a moderator.
    "COMMENTS_PREMODERATE": False,
    # Hold each reader's first K comments for a moderator (0: never).
    "COMMENTS_PREMODERATE_FIRST": 0,
    # Close comments automatically this many days after publication (None: never).
    "COMMENTS_CLOSE_AFTER_DAYS": None,
    # Top-level comments per page on the server-rendered article page.
    "COMMENTS_PAGE_SIZE": 50,
}


def get(name: str):
    return getattr(settings, name, DEFAULTS[name])


def max_depth() -> int:
    return int(get("COMMENTS_MAX_DEPTH"))


def max_length() -> int:
    return int(get("COMMENTS_MAX_LENGTH"))


def edit_window() -> timedelta:
    value = get("COMMENTS_EDIT_WINDOW")
    return value if isinstance(value, timedelta) else timedelta(seconds=int(value))


def flags_to_hide() -> int:
    return int(get("COMMENTS_FLAGS_TO_HIDE"))


def premoderate() -> bool:
    return bool(get("COMMENTS_PREMODERATE"))


def premoderate_first() -> int:
    return int(get("COMMENTS_PREMODERATE_FIRST"))


def close_after_days() -> int | None:
    value = get("COMMENTS_CLOSE_AFTER_DAYS")
    return None if value in (None, "") else int(value)


def page_size() -> int:
    return int(get("COMMENTS_PAGE_SIZE"))
