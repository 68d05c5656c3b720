"""Rate limits shared by the API and the HTML pages: a ``scope`` plus a rate.

The rates are the app's own (``COMMENTS_THROTTLE_RATES`` in ``conf``, which a site may override
scope by scope), not the host project's ``REST_FRAMEWORK`` settings: a host with other DRF
defaults still gets these limits. Counters live in the default cache (Redis when REDIS_URL is
set), so a limit holds across every server process. A throttled request gets 429 with
``Retry-After``.
"""

from rest_framework.permissions import SAFE_METHODS
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

from comments import conf


class SettingsRateMixin:
    """Read the rate at request time: DRF's own throttles freeze it at import, so
    ``override_settings`` (and so the tests of the limits) would not reach them."""

    def get_rate(self):
        return conf.throttle_rates().get(self.scope)


class AnonThrottle(SettingsRateMixin, AnonRateThrottle):
    """Generous limit for anonymous callers, per IP."""


class ReaderThrottle(SettingsRateMixin, UserRateThrottle):
    """Overall limit per signed-in reader (per IP for anonymous ones)."""


class WriteThrottle(SettingsRateMixin, UserRateThrottle):
    """A per-reader limit on one kind of write; reads on the same view are not counted."""

    def allow_request(self, request, view) -> bool:
        if request.method in SAFE_METHODS:
            return True
        return super().allow_request(request, view)


class PostCommentThrottle(WriteThrottle):
    scope = "post_comment"


class FlagThrottle(WriteThrottle):
    scope = "flag"


class LikeThrottle(WriteThrottle):
    scope = "like"
