"""A site's URLconf with the API under another prefix (tests of ``comments.checks.check_urls``)."""

from django.urls import include, path

urlpatterns = [
    path("accounts/", include("allauth.urls")),
    path("comments/api/v1/", include("comments.api.urls")),
    path("", include("comments.urls")),
]
