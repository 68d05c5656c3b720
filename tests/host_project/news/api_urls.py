from django.urls import path

from news import views

app_name = "api"  # the namespace a site picks for its own API; the comments app's own names stay apart

urlpatterns = [path("", views.StoryList.as_view(), name="stories")]
