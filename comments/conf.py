"""Comment policy settings, each with its default, read from Django settings at call time.

Reading at call time (not import time) lets tests use ``override_settings``.
"""

from datetime import timedelta

from django.conf import settings
from django.utils.module_loading import import_string

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
    # Replies shown with each top-level comment (its whole subtree, depth first, tombstones
    # included); the rest follow on "show N more replies" (API: ``more_replies``).
    "COMMENTS_REPLIES_SHOWN": 50,
    # Seconds between heartbeat comment lines on an idle event stream (proxies drop silent ones).
    "COMMENTS_SSE_HEARTBEAT": 15,
    # Events kept per article for replay to a reconnecting stream (Last-Event-ID).
    "COMMENTS_SSE_BUFFER_SIZE": 100,
    # Seconds a quiet article's replay buffer and event ids are kept.
    "COMMENTS_SSE_BUFFER_TTL": 3600,
    # Events a slow stream may fall behind by before it is closed (the client resumes by id).
    "COMMENTS_SSE_QUEUE_SIZE": 200,
    # Prefix of the Redis keys and the pub/sub channel of live events (several sites, one Redis).
    "COMMENTS_LIVE_PREFIX": "comments",
    # Seconds a Redis call from a request may take before the event is dropped with a warning.
    "COMMENTS_LIVE_REDIS_TIMEOUT": 0.5,
    # Rate limits per scope (DRF's "N/second|minute|hour|day"); a site's dict overrides
    # scope by scope. anon: per IP; user: per reader; the rest: per reader, writes only.
    "COMMENTS_THROTTLE_RATES": {},
    # Serve anonymous thread pages from cached bytes (moved on every change; see versions.py).
    "COMMENTS_READ_CACHE": True,
    # Seconds a cached thread page or counts answer lives at most: bounds staleness if the cache
    # missed a version move (Redis unreachable at that moment).
    "COMMENTS_READ_CACHE_TTL": 300,
    # Seconds a shared cache (CDN, nginx) may hold a public thread page (s-maxage); browsers
    # always revalidate with the ETag. 0: shared caches revalidate too.
    "COMMENTS_SHARED_MAX_AGE": 5,
    # How a reader's public name is chosen: the dotted path of a callable ``(user) -> str``.
    # The default shows the profile's display name, else a neutral "Reader 12"; never the email
    # or the username. Threads call a custom one once per distinct author of what they build.
    "COMMENTS_PUBLIC_NAME": "comments.readers.display_name_or_number",
    # Without Redis: seconds between a stream process's looks for new events in the database
    # (one query per process and interval, however many streams are open).
    "COMMENTS_LIVE_POLL_INTERVAL": 0.15,
    # Seconds a client is asked to wait (Retry-After of the 503) when the database is unreachable
    # or read-only: about what a PostgreSQL restart or a fail-over takes.
    "COMMENTS_OUTAGE_RETRY_AFTER": 30,
    # Failed admin sign-ins allowed (attempts, window in seconds) per client address and per
    # account name (comments.admin.login). allauth's defaults for the readers' sign-in
    # (login_failed: 10/m/ip, 5/5m/key): staff can also sign in there, so a stricter admin
    # door would not slow a guesser down, and a looser one would be the way in. The account
    # limit is what stops a guesser using many addresses; it also lets anyone lock a name out
    # for at most 5 minutes, the price allauth pays too.
    "COMMENTS_ADMIN_LOGIN_LIMITS": {"ip": (10, 60), "account": (5, 300)},
}

THROTTLE_RATES = {"anon": "600/min", "user": "1200/min", "post_comment": "10/min", "flag": "30/min", "like": "120/min"}


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


def replies_shown() -> int:
    return max(1, int(get("COMMENTS_REPLIES_SHOWN")))


def sse_heartbeat() -> float:
    return float(get("COMMENTS_SSE_HEARTBEAT"))


def sse_buffer_size() -> int:
    return int(get("COMMENTS_SSE_BUFFER_SIZE"))


def sse_buffer_ttl() -> int:
    return int(get("COMMENTS_SSE_BUFFER_TTL"))


def sse_queue_size() -> int:
    return int(get("COMMENTS_SSE_QUEUE_SIZE"))


def live_prefix() -> str:
    return str(get("COMMENTS_LIVE_PREFIX"))


def live_redis_timeout() -> float:
    return float(get("COMMENTS_LIVE_REDIS_TIMEOUT"))


def read_cache() -> bool:
    return bool(get("COMMENTS_READ_CACHE"))


def live_poll_interval() -> float:
    return float(get("COMMENTS_LIVE_POLL_INTERVAL"))


def admin_login_limits() -> dict[str, tuple[int, int]]:
    return {**DEFAULTS["COMMENTS_ADMIN_LOGIN_LIMITS"], **(get("COMMENTS_ADMIN_LOGIN_LIMITS") or {})}


def outage_retry_after() -> int:
    return int(get("COMMENTS_OUTAGE_RETRY_AFTER"))


def read_cache_ttl() -> int:
    return int(get("COMMENTS_READ_CACHE_TTL"))


def shared_max_age() -> int:
    return int(get("COMMENTS_SHARED_MAX_AGE"))


def public_name_rule():
    """The callable ``(user) -> str`` that COMMENTS_PUBLIC_NAME names (or the callable itself)."""
    value = get("COMMENTS_PUBLIC_NAME")
    return import_string(value) if isinstance(value, str) else value


def throttle_rates() -> dict[str, str]:
    return {**THROTTLE_RATES, **(get("COMMENTS_THROTTLE_RATES") or {})}
