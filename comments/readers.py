"""Readers as the comments app sees them: the site's users (any user model) and their profiles.

Reads only; ``services.reader_profile`` is the one function that creates a profile. The app
never assumes the user model has a username, an email or names: a reader is shown by the
public-name rule (``COMMENTS_PUBLIC_NAME``), whose default is the profile's display name, else
a neutral "Reader 12". Neither the email nor the username is ever shown.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.utils.translation import gettext

from comments import conf
from comments.models import ReaderProfile

DEFAULT_RULE = "comments.readers.display_name_or_number"


def profile_of(user) -> ReaderProfile:
    """The reader's profile, without writing: the stored one, or an unsaved one with the
    defaults (nothing is created on a read). Cached on ``user`` like any related object."""
    try:
        return user.comments_profile
    except ReaderProfile.DoesNotExist:
        return ReaderProfile(user=user)  # also cached on ``user`` (the reverse side of the link)


def fallback_name(user_id: int | None, template: str | None = None) -> str:
    """The neutral name of a reader without a display name: "Reader 12" (translated)."""
    return (template or gettext("Reader %(number)s")) % {"number": user_id}


def display_name_or_number(user) -> str:
    """The default public-name rule: the profile's display name, else ``fallback_name``."""
    return profile_of(user).display_name or fallback_name(user.pk)


def _uses_default_rule() -> bool:
    value = conf.get("COMMENTS_PUBLIC_NAME")
    return value == DEFAULT_RULE or value is display_name_or_number


def public_name(user) -> str:
    """The name readers see for ``user`` (``COMMENTS_PUBLIC_NAME``); also allauth's
    ACCOUNT_USER_DISPLAY in the stand-alone service."""
    if user is None or not getattr(user, "is_authenticated", False) or user.pk is None:
        return ""
    return str(conf.public_name_rule()(user)) or fallback_name(user.pk)


def public_names(users: Iterable) -> dict[int, str]:
    """``{user id: public name}`` for these users, each distinct user named once."""
    rule = conf.public_name_rule()
    names: dict[int, str] = {}
    for user in users:
        if user.pk not in names:
            names[user.pk] = str(rule(user)) or fallback_name(user.pk)
    return names


def name_rows(rows: list[dict], *, id_key: str, display_key: str, name_key: str) -> list[dict]:
    """Set ``row[name_key]`` to the public name of the author whose id is ``row[id_key]``, in place.

    The fast path of thread payloads: under the default rule the display name came with the row
    (``display_key``, joined from the profile in the same query) and no query is made; a custom
    rule costs one query for the distinct authors of ``rows`` and one call per author.
    """
    if not rows:
        return rows
    if _uses_default_rule():
        template = gettext("Reader %(number)s")
        for row in rows:
            row[name_key] = row[display_key] or template % {"number": row[id_key]}
        return rows
    ids = {row[id_key] for row in rows}
    users = get_user_model()._default_manager.select_related("comments_profile").in_bulk(ids)
    names = public_names(users.values())
    for row in rows:
        row[name_key] = names.get(row[id_key]) or fallback_name(row[id_key])
    return rows

