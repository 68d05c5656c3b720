"""The v1 API, mounted at /api/v1/: one include for the whole API (a host site's ``urls.py`` and
the stand-alone service's alike). The counts and events routes (``live_urls``) come first so they
win. The namespace is ``comments_api``, so that a site's own ``api`` namespace stays its own.
"""

from django.urls import path, re_path

from comments import converters  # noqa: F401  (registers <comment_id:...>)
from comments.api import live_urls, views
from comments.models import ARTICLE_KEY_PATTERN

app_name = "comments_api"

urlpatterns = [
    *live_urls.urlpatterns,
    re_path(rf"^articles/(?P<key>{ARTICLE_KEY_PATTERN})/$", views.ArticleDetailView.as_view(), name="article"),
    re_path(
        rf"^articles/(?P<key>{ARTICLE_KEY_PATTERN})/comments/$",
        views.ArticleCommentsView.as_view(),
        name="article-comments",
    ),
    path("comments/<comment_id:id>/", views.CommentDetailView.as_view(), name="comment"),
    path("comments/<comment_id:id>/replies/", views.CommentRepliesView.as_view(), name="comment-replies"),
    path("comments/<comment_id:id>/flag/", views.CommentFlagView.as_view(), name="comment-flag"),
    path("comments/<comment_id:id>/like/", views.CommentLikeView.as_view(), name="comment-like"),
]
