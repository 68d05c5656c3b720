"""Live counts and event streams under /api/v1/; ``api.urls`` puts them before the rest of the API."""

from django.urls import path, re_path

from comments.api import live_views

urlpatterns = [
    path("counts/", live_views.counts, name="api-counts"),
    path("counts/events/", live_views.counts_events, name="api-counts-events"),
    # Any segment: the view answers a malformed key with a JSON 404, never Django's HTML one.
    re_path(r"^articles/(?P<key>[^/]+)/events/$", live_views.article_events, name="api-article-events"),
]
