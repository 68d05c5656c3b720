"""Template tags for host sites: comments on the site's own objects, in its own templates.

    {% load comments_tags %}
    {% comment_count story %}        the exact count, kept live by the count script or the section
    {% comment_section story %}      the thread, the forms and the live widget
    {% comment_count_script %}       once on a list page: live counts for every comment_count on it

``story`` is any saved model instance; ``comments.hosts`` says how it becomes an article (its key,
title, URL and publication time). The section and the count script load their scripts from this
site's static files; both talk to the API at ``/api/v1/`` of this site (see the README, "Add
comments to an existing Django site").
"""

from django import template
from django.templatetags.static import static
from django.utils.html import format_html

from comments import hosts
from comments.views import section_context

register = template.Library()


@register.simple_tag
def comment_count(obj) -> str:
    """``<span data-comment-count="KEY">N</span>``: the number of visible comments on ``obj``.

    N is exact when the page is rendered (0 for an object nobody has commented on yet; this tag
    never creates the article, so a list page writes nothing). The count script, or the comment
    section's live updates, keep every element with ``data-comment-count`` current afterwards.
    """
    article = hosts.find_article(obj)
    count = article.comment_count if article is not None else 0
    return format_html('<span data-comment-count="{}">{}</span>', hosts.comments_key(obj), count)


@register.inclusion_tag("comments/host_section.html", takes_context=True)
def comment_section(context, obj) -> dict:
    """The comment section of ``obj``: the article page's own section (``comments/_section.html``:
    count, form or sign-in links, sort, thread as the signed-in reader sees it, pager) followed
    by the widget and live-update scripts, which take it over where JavaScript runs.

    Creates ``obj``'s article on first use and keeps its title and URL in sync (``hosts.article_for``).
    Reads ``?sort=`` and ``?page=`` of the page's request. Needs the ``request`` context processor
    (``manage.py check`` says so) and renders inside any block of the host's own layout.
    """
    request = context["request"]
    return {
        **section_context(request, hosts.article_for(obj)),
        "request": request,
        "user": request.user,
        "csrf_token": context.get("csrf_token"),
        "messages": context.get("messages"),
    }


@register.simple_tag
def comment_count_script() -> str:
    """The script that keeps every ``{% comment_count %}`` of the page live: one event stream for
    all the page's keys (``/api/v1/counts/events/``), polling ``/api/v1/counts/`` while it is down.
    Put it once on a page, anywhere after the counts (it runs deferred)."""
    return format_html('<script src="{}" defer></script>', static("comments/counts.js"))
