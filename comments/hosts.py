"""A host site's own objects as the app's articles: the one-line link for Django news sites.

A news site that runs on Django keeps its stories in its own model; the app keeps threads on its
own ``Article`` keyed by a CMS key (the API and non-Django CMSs need that key). ``article_for``
joins the two: it takes any model instance and finds, or creates, the ``Article`` that holds
its comments. The template tags (``comments_tags``) call it; a site can call it too, e.g. to
close comments on a story from its own code.

The rules, for a host object ``obj``:

- key: ``obj.get_comments_key()`` if the model defines it, else ``"<app_label>.<model_name>.<pk>"``
  (``"news.story.42"``). Either must match ``ARTICLE_KEY_PATTERN`` (1–200 of letters, digits and
  ``. _ ~ -``); a key must never change once readers have commented, so base it on the primary
  key or another lasting identifier, never on a slug a newsroom may edit.
- title: ``obj.get_comments_title()`` if defined, else ``str(obj)`` (cut to 500 characters).
- url: ``obj.get_absolute_url()`` if defined (a path on the site, as Django's convention has it),
  else empty. The app's pages send readers back there after they post.
- publication time: ``obj.get_comments_published_at()`` if defined, else the ``published_at``
  attribute if the model has one (an aware datetime); without either, the time the article is
  first seen. It counts for ``COMMENTS_CLOSE_AFTER_DAYS``.

Title, URL and publication time are kept in sync: when the host object changes, the next call
writes the new values (through ``services.upsert_article``, like the CMS API does).
"""

import re
from datetime import datetime

from comments import services
from comments.models import ARTICLE_KEY_PATTERN, Article

_key_re = re.compile(rf"{ARTICLE_KEY_PATTERN}\Z")
TITLE_MAX_LENGTH = Article._meta.get_field("title").max_length
URL_MAX_LENGTH = Article._meta.get_field("url").max_length


def comments_key(obj) -> str:
    """The article key of host object ``obj`` (see the module's rules), e.g. ``"news.story.42"``.

    Raises ``ValueError`` for an unsaved object (no primary key yet) or a key that does not match
    ``ARTICLE_KEY_PATTERN``. Reads nothing from the database.
    """
    if hasattr(obj, "get_comments_key"):
        key = str(obj.get_comments_key())
    else:
        if obj.pk is None:
            raise ValueError(f"{obj!r} has no primary key yet: save it before it can have comments.")
        key = f"{obj._meta.app_label}.{obj._meta.model_name}.{obj.pk}"
    if not _key_re.match(key):
        raise ValueError(
            f"Comments key {key!r} of {obj!r} is not valid: use 1–200 of letters, digits and . _ ~ - "
            "(define get_comments_key() on the model to choose another)."
        )
    return key


def article_fields(obj) -> dict:
    """What the article of ``obj`` should say: ``{"title": str, "url": str, "published_at": datetime | None}``.

    ``published_at`` is None when the host object has none (the stored time is then kept).
    """
    title = obj.get_comments_title() if hasattr(obj, "get_comments_title") else str(obj)
    url = obj.get_absolute_url() if hasattr(obj, "get_absolute_url") else ""
    if hasattr(obj, "get_comments_published_at"):
        published_at = obj.get_comments_published_at()
    else:
        published_at = getattr(obj, "published_at", None)
    return {
        "title": str(title)[:TITLE_MAX_LENGTH] or comments_key(obj),
        # A URL longer than the field is not cut (a cut URL leads nowhere): it is left out.
        "url": str(url) if url and len(str(url)) <= URL_MAX_LENGTH else "",
        "published_at": published_at if isinstance(published_at, datetime) else None,
    }


def article_for(obj) -> Article:
    """The ``Article`` holding the comments of host object ``obj``, created on first call.

    One query when the stored title, URL and publication time still match the object; otherwise
    ``services.upsert_article`` writes the new values (and creates the article the first time).
    Concurrent first calls are safe: the key is unique, and ``upsert_article`` takes the row that
    a concurrent call created first (it retries on the ``IntegrityError``), so both callers get
    the same article. Raises ``ValueError`` as ``comments_key`` does.
    """
    key = comments_key(obj)
    fields = article_fields(obj)
    article = Article.objects.filter(key=key).first()
    if article is not None and _matches(article, fields):
        return article
    article, _ = services.upsert_article(key=key, **fields)
    return article


def _matches(article: Article, fields: dict) -> bool:
    return all(
        value is None or getattr(article, name) == value
        for name, value in fields.items()
    )


def find_article(obj) -> Article | None:
    """The ``Article`` of ``obj`` if it exists, else None; never writes (for list pages and counts)."""
    return Article.objects.filter(key=comments_key(obj)).first()
