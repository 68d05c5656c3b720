from django.shortcuts import get_object_or_404, render
from rest_framework import generics, serializers

from news.models import Story


def front_page(request):
    return render(request, "news/story_list.html", {"stories": Story.objects.all()[:20]})


def story(request, slug: str):
    return render(request, "news/story_detail.html", {"story": get_object_or_404(Story, slug=slug)})


class StorySerializer(serializers.ModelSerializer):
    class Meta:
        model = Story
        fields = ["id", "title", "slug", "published_at"]


class StoryList(generics.ListAPIView):
    """The site's own API: it follows the site's REST_FRAMEWORK defaults (staff only, limit/offset)."""

    queryset = Story.objects.all()
    serializer_class = StorySerializer
