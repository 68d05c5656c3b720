from django.db import models
from django.urls import reverse
from django.utils import timezone


class Story(models.Model):
    """The site's own article. The comments app finds its thread by the key "news.story.<pk>",
    and takes the title from str(), the URL from get_absolute_url() and the time from published_at."""

    title = models.CharField(max_length=300)
    slug = models.SlugField(unique=True)
    body = models.TextField(blank=True)
    published_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-published_at", "-id"]
        verbose_name_plural = "stories"

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("news:story", kwargs={"slug": self.slug})
