"""The app's URLs without the stand-alone service's admin (which is written for ``auth.User``)."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("_allauth/", include("allauth.headless.urls")),
    path("api/v1/", include("comments.api.urls")),
    path("", include("comments.urls")),
]
