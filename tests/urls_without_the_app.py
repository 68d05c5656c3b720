"""A site's URLconf that forgot the comments app (tests of ``comments.checks.check_urls``)."""

urlpatterns = []
