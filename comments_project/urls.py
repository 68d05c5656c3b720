from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from comments.api.exceptions import api_not_found
from comments_project import admin as project_admin  # noqa: F401  (its titles and user admin)

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("_allauth/", include("allauth.headless.urls")),
    path("api/v1/", include("comments.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    # Keep last among the /api/ routes: anything unmatched there is a JSON 404, never a page.
    re_path(r"^api/", api_not_found),
    path("", include("comments.urls")),
]

# Under /api/ these answer in the API's JSON error shape; elsewhere they are Django's pages.
handler400 = "comments.api.exceptions.bad_request"
handler403 = "comments.api.exceptions.permission_denied"
handler404 = "comments.api.exceptions.page_not_found"
handler500 = "comments.api.exceptions.server_error"
# allauth's refusals on the HTML sign-in pages (allauth looks this name up), with Retry-After.
handler429 = "comments.account_api.too_many_requests"
