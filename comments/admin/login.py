"""The admin's sign-in, rate-limited like the readers' sign-in (allauth's ``login_failed``).

Without it the admin's password form could be tried as fast as the server answers. After
COMMENTS_ADMIN_LOGIN_LIMITS failed attempts from one client address, or for one account name,
within their windows, further attempts are refused *without checking the password* (so a guess
made while refused can never succeed), with a translatable message on the login page, status 429
and ``Retry-After``. A successful sign-in is not counted.

The app does not change a site's admin by itself. A site asks for this with one line, run before
its URLconf reads ``admin.site.urls`` (the stand-alone service does it in
``comments_project/admin.py``)::

    from comments.admin.login import throttle_admin_login
    throttle_admin_login(admin.site)

Counters live in the default cache (shared by every process when it is Redis). Each limit is a
fixed window: a counter per (address or account, window) that the cache expires with the window,
incremented atomically *before* the password is checked, so parallel guesses cannot slip past the
limit; a success gives its attempt back. Across a window's boundary at most twice the limit can be
tried. If the cache is unreachable the limit is skipped (logged): sign-in keeps working.
"""

import functools
import hashlib
import logging
import math
import time
from dataclasses import dataclass

from django.contrib.admin import AdminSite
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.utils.translation import ngettext
from rest_framework.throttling import BaseThrottle

from comments import conf

logger = logging.getLogger(__name__)


def now() -> float:
    """The clock of the windows (seconds); tests move it."""
    return time.time()


@dataclass(frozen=True)
class Counter:
    key: str  # the cache key of this window's counter
    limit: int  # attempts allowed in the window
    retry_after: int  # seconds until the window ends


def counters(request, username: str) -> list[Counter]:
    """This window's counter for the client's address (the same one the API's throttles see,
    NUM_PROXIES included) and for the account name as typed (case-folded, hashed: any length
    and alphabet makes a valid cache key)."""
    address = BaseThrottle().get_ident(request) or "unknown"
    account = hashlib.sha256(username.strip().casefold().encode()).hexdigest()[:32]
    limits = conf.admin_login_limits()
    found = []
    for scope, ident in (("ip", address), ("account", account)):
        attempts, window = limits[scope]
        moment = now()
        found.append(Counter(
            key=f"comments:admin-login:{scope}:{ident}:{int(moment // window)}",
            limit=int(attempts),
            retry_after=max(1, math.ceil(window - moment % window)),
        ))
    return found


def _increment(counter: Counter) -> int:
    cache.add(counter.key, 0, timeout=counter.retry_after + 1)
    try:
        return cache.incr(counter.key)
    except ValueError:  # expired between add and incr: this attempt starts the window
        cache.set(counter.key, 1, timeout=counter.retry_after + 1)
        return 1


def consume(request, username: str) -> tuple[list[Counter], int]:
    """Count one attempt on every counter; returns them and the seconds to wait (0: allowed)."""
    try:
        found = counters(request, username)
        over = [counter for counter in found if _increment(counter) > counter.limit]
    except Exception as error:  # noqa: BLE001 - an unreachable cache must not stop sign-in
        logger.warning("admin sign-in limits skipped, cache unreachable: %r", error)
        return [], 0
    return found, max((counter.retry_after for counter in over), default=0)


def give_back(found: list[Counter]) -> None:
    """A successful sign-in is not a failed attempt."""
    for counter in found:
        try:
            cache.decr(counter.key)
        except Exception:  # noqa: BLE001,S110 - expired, or the cache is away: nothing to give back
            pass


class ThrottledAdminLoginForm(AdminAuthenticationForm):
    """The admin's login form, refusing early while a limit is reached (``retry_after`` set)."""

    retry_after = 0

    def clean(self):
        found, self.retry_after = consume(self.request, self.cleaned_data.get("username") or "")
        if self.retry_after:
            minutes = math.ceil(self.retry_after / 60)
            raise ValidationError(
                ngettext(
                    "Too many failed sign-in attempts. Try again in %(minutes)d minute.",
                    "Too many failed sign-in attempts. Try again in %(minutes)d minutes.",
                    minutes,
                ),
                code="too_many_attempts",
                params={"minutes": minutes},
            )
        cleaned = super().clean()
        give_back(found)
        return cleaned


def _with_retry_after(login_view):
    """A refused attempt answers 429 with ``Retry-After`` (seconds) around the usual page."""

    @functools.wraps(login_view)
    def view(request, extra_context=None):
        response = login_view(request, extra_context)
        form = (getattr(response, "context_data", None) or {}).get("form")
        retry_after = getattr(form, "retry_after", 0)
        if retry_after:
            response.status_code = 429
            response["Retry-After"] = str(retry_after)
        return response

    return view


def throttle_admin_login(site: AdminSite) -> None:
    """Rate-limit ``site``'s sign-in (see the module's docstring); call it before the URLconf
    reads ``site.urls``. Calling it twice changes nothing more."""
    site.login_form = ThrottledAdminLoginForm
    if not getattr(site.login, "comments_throttled", False):
        site.login = _with_retry_after(site.login)
        site.login.comments_throttled = True
