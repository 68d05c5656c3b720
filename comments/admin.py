"""Admin registrations. The moderation desk (queues, actions, log) builds on these."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from comments.models import Article, Reader


@admin.register(Reader)
class ReaderAdmin(UserAdmin):
    list_display = ("email", "display_name", "moderation", "is_staff", "date_joined")
    search_fields = ("email", "display_name", "username")
    fieldsets = UserAdmin.fieldsets + (("Comments", {"fields": ("display_name", "moderation")}),)


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    list_display = ("title", "key", "published_at", "comments_open", "comment_count")
    search_fields = ("title", "key")
    readonly_fields = ("comment_count",)
