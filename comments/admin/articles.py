"""Articles: closing comments and their pre-moderation."""


from django.contrib import admin, messages
from django.db import models
from django.urls import reverse
from django.utils.html import format_html

from comments import services
from comments.admin.base import ModerationPermissions
from comments.models import Article


@admin.register(Article)
class ArticleAdmin(ModerationPermissions, admin.ModelAdmin):
    list_display = ("title", "key", "published_at", "accepting", "premoderation", "comments_link")
    list_filter = ("comments_open", "premoderation")
    search_fields = ("title", "key")
    # Opening, closing and pre-moderation go through the actions, so every change is in the log.
    readonly_fields = ("comment_count", "comments_open", "premoderation")
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    actions = ("close_comments", "open_comments", "premoderate_on", "premoderate_off", "premoderate_default")

    def get_readonly_fields(self, request, obj=None):
        # The key is the CMS's identifier: the CMS and every page and stream know the article by it.
        return (*self.readonly_fields, "key") if obj is not None else self.readonly_fields

    def save_model(self, request, obj, form, change):
        """Through the same upsert the CMS uses (one write path); the count is never touched."""
        article, _ = services.upsert_article(
            key=obj.key, title=obj.title, url=obj.url, published_at=obj.published_at, body=obj.body
        )
        obj.pk = article.pk

    @admin.display(description="accepts comments", boolean=True)
    def accepting(self, article):
        return article.accepts_comments

    @admin.display(description="comments", ordering="comment_count")
    def comments_link(self, article):
        url = reverse("admin:comments_comment_changelist")
        return format_html('<a href="{}?article__id__exact={}">{}</a>', url, article.pk, article.comment_count)


    def _set_open(self, request, queryset, *, is_open: bool):
        for article in queryset:
            services.set_comments_open(article=article, is_open=is_open, actor=request.user)
        verb = "Opened" if is_open else "Closed"
        self.message_user(request, f"{verb} comments on {queryset.count()} article(s).", messages.SUCCESS)

    @admin.action(permissions=["close"], description="Close comments on selected articles")
    def close_comments(self, request, queryset):
        self._set_open(request, queryset, is_open=False)

    @admin.action(permissions=["close"], description="Open comments on selected articles")
    def open_comments(self, request, queryset):
        self._set_open(request, queryset, is_open=True)

    def _set_premoderation(self, request, queryset, premoderation: str):
        for article in queryset:
            services.set_article_premoderation(article=article, premoderation=premoderation, actor=request.user)
        label = Article.Premoderation(premoderation).label
        self.message_user(request, f"{label}: {queryset.count()} article(s).", messages.SUCCESS)

    @admin.action(permissions=["close"], description="Pre-moderate new comments on selected articles")
    def premoderate_on(self, request, queryset):
        self._set_premoderation(request, queryset, Article.Premoderation.ON)

    @admin.action(permissions=["close"], description="Publish new comments at once on selected articles")
    def premoderate_off(self, request, queryset):
        self._set_premoderation(request, queryset, Article.Premoderation.OFF)

    @admin.action(permissions=["close"], description="Use the site's pre-moderation on selected articles")
    def premoderate_default(self, request, queryset):
        self._set_premoderation(request, queryset, Article.Premoderation.DEFAULT)
