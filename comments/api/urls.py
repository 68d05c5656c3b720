"""The v1 API, mounted at /api/v1/ (the counts and events routes live in ``live_urls``)."""

from django.urls import path, re_path

from comments.api import views
from comments.models import ARTICLE_KEY_PATTERN

app_name = "api"

urlpatterns = [
    re_path(rf"^articles/(?P<key>{ARTICLE_KEY_PATTERN})/$", views.ArticleDetailView.as_view(), name="article"),
    re_path(
        rf"^articles/(?P<key>{ARTICLE_KEY_PATTERN})/comments/$",
        views.ArticleCommentsView.as_view(),
        name="article-comments",
    ),
    path("comments/<int:id>/", views.CommentDetailView.as_view(), name="comment"),
    path("comments/<int:id>/replies/", views.CommentRepliesView.as_view(), name="comment-replies"),
    path("comments/<int:id>/flag/", views.CommentFlagView.as_view(), name="comment-flag"),
    path("comments/<int:id>/like/", views.CommentLikeView.as_view(), name="comment-like"),
]
