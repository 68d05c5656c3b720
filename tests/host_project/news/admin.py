from django.contrib import admin

from news.models import Story


@admin.register(Story)
class StoryAdmin(admin.ModelAdmin):
    list_display = ["title", "published_at"]
    prepopulated_fields = {"slug": ["title"]}
