from django.urls import path, re_path

from comments import (
    converters,  # noqa: F401  (registers <comment_id:...>)
    views,
)
from comments.models import ARTICLE_KEY_PATTERN

app_name = "comments"

urlpatterns = [
    path("", views.article_list, name="article_list"),
    re_path(rf"^articles/(?P<key>{ARTICLE_KEY_PATTERN})/$", views.article_detail, name="article"),
    re_path(rf"^articles/(?P<key>{ARTICLE_KEY_PATTERN})/comments/$", views.post_comment, name="post_comment"),
    path("comments/<comment_id:pk>/", views.comment_permalink, name="comment"),
    path("comments/<comment_id:pk>/thread/", views.comment_thread, name="comment_thread"),
    path("comments/<comment_id:pk>/edit/", views.edit_comment, name="edit_comment"),
    path("comments/<comment_id:pk>/delete/", views.delete_comment, name="delete_comment"),
    path("comments/<comment_id:pk>/like/", views.like_comment, name="like_comment"),
    path("comments/<comment_id:pk>/flag/", views.flag_comment, name="flag_comment"),
    path("embed-demo/", views.embed_demo, name="embed_demo"),
    path("widget/session/", views.widget_session, name="widget_session"),
]
