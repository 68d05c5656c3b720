from comments.api.exceptions import api_not_found
from django.contrib import admin
from django.urls import include, path, re_path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("news.urls")),
    path("api/stories/", include("news.api_urls")),  # the site's own API
    # comments: readers' accounts, the comments API at /api/v1/ (where the widget and the count
    # script look for it), then the app's pages (permalinks, posting, editing, the widget's session).
    path("accounts/", include("allauth.urls")),
    path("_allauth/", include("allauth.headless.urls")),
    path("api/v1/", include("comments.api.urls")),
    re_path(r"^api/v1/", api_not_found),  # anything else there: the API's JSON 404
    path("", include("comments.urls")),
]
