"""The moderation desk: comments, the queue, flags, banned words, bans and the moderation log.

Every status change, ban and closing goes through ``services`` (one write path with the API and
the pages, so counts, flags and the log follow); the admin never saves a comment. The actions
require the custom permissions that the "Moderators" group holds (migration 0002).
"""

import html

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.auth.admin import UserAdmin
from django.db import models
from django.db.models import Count, Q
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join, strip_tags
from django.utils.text import Truncator

from comments import moderation, selectors, services
from comments.models import (
    Article,
    Ban,
    BannedWord,
    Comment,
    Flag,
    ModerationLogEntry,
    ModerationQueue,
    Reader,
)

admin.site.site_header = "The Daily Comment · moderation desk"
admin.site.site_title = "Moderation desk"
admin.site.index_title = "What waits for you"

STATUS_COLORS = {
    Comment.Status.PENDING: "#b45309",
    Comment.Status.APPROVED: "#15803d",
    Comment.Status.REJECTED: "#b91c1c",
    Comment.Status.SPAM: "#6d28d9",
}


def comment_excerpt(comment: Comment, length: int = 100) -> str:
    """The comment's text as readers see it, without markup; the admin escapes it on output."""
    return Truncator(html.unescape(strip_tags(comment.body_html))).chars(length)


def status_badge(status: str, label: str):
    return format_html(
        '<span style="background:{};color:#fff;border-radius:3px;padding:1px 6px;white-space:nowrap">{}</span>',
        STATUS_COLORS.get(status, "#555"), label,
    )


def admin_link(obj, text) -> str:
    url = reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, text)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written by services only: visible to moderators, never added, edited or deleted here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# --- Banning ------------------------------------------------------------------------------------


class BanForm(forms.Form):
    reason = forms.CharField(
        max_length=500, widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Shown to the reader when they try to post.",
    )
    until = forms.DateTimeField(
        required=False, label="Suspend until",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text="Empty: banned until a moderator lifts it. A date: a suspension that ends by itself.",
    )
    hide_comments = forms.BooleanField(
        required=False, label="Also hide all their comments",
        help_text="Their approved and pending comments become rejected; the counts follow.",
    )

    def clean_until(self):
        until = self.cleaned_data["until"]
        if until is not None and until <= timezone.now():
            raise forms.ValidationError("Choose a moment in the future, or leave empty for a ban.")
        return until


def ban_readers_page(modeladmin, request, readers, *, action: str):
    """The ban actions' intermediate page: a reason, an optional end, and whether to hide comments.

    Staff accounts are never banned from here; the page says which were left out.
    """
    readers = list(readers.order_by("pk"))
    staff = [r for r in readers if r.is_staff]
    readers = [r for r in readers if not r.is_staff]
    form = BanForm(request.POST if "apply" in request.POST else None)
    if form.is_bound and form.is_valid() and readers:
        hide = form.cleaned_data["hide_comments"]
        hidden = Comment.objects.filter(
            author__in=readers, status__in=[Comment.Status.APPROVED, Comment.Status.PENDING], is_deleted=False
        ).count() if hide else 0
        for reader in readers:
            services.ban_reader(
                reader=reader, moderator=request.user, reason=form.cleaned_data["reason"],
                until=form.cleaned_data["until"], hide_comments=hide,
            )
        kind = "Suspended" if form.cleaned_data["until"] else "Banned"
        names = ", ".join(str(r) for r in readers)
        modeladmin.message_user(
            request, f"{kind} {len(readers)} reader(s): {names}." + (f" {hidden} comment(s) hidden." if hidden else ""),
            messages.SUCCESS,
        )
        return None
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": "Ban or suspend readers",
        "opts": modeladmin.model._meta,
        "form": form,
        "readers": readers,
        "staff": staff,
        "action": action,
        "selected": request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME),
        "select_across": request.POST.get("select_across", "0"),
        "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "admin/comments/ban_readers.html", context)


# --- Comments and the queue ---------------------------------------------------------------------


class FlaggedFilter(admin.SimpleListFilter):
    title = "flags"
    parameter_name = "flagged"

    def lookups(self, request, model_admin):
        return [("yes", "Has open flags"), ("no", "No open flags")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.flagged()
        if self.value() == "no":
            return queryset.filter(open_flag_count=0)
        return queryset


class ArticleFilter(admin.SimpleListFilter):
    """By article, offering the newest articles (and the one picked from a row's article link).

    Listing every article that has comments would scan the whole comments table on each page.
    """

    title = "article"
    parameter_name = "article__id__exact"

    def candidates(self):
        return list(selectors.articles_newest_first()[:10])

    def label(self, article) -> str:
        return Truncator(str(article)).chars(50)

    def lookups(self, request, model_admin):
        articles = self.candidates()
        value = self.value()
        if value and value.isascii() and value.isdigit() and all(str(a.pk) != value for a in articles):
            articles += list(Article.objects.filter(pk=value))
        return [(str(a.pk), self.label(a)) for a in articles]

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset
        if not (self.value().isascii() and self.value().isdigit()):
            raise IncorrectLookupParameters(self.value())
        return queryset.filter(article_id=self.value())


class QueueArticleFilter(ArticleFilter):
    """In the queue, the articles with the most comments waiting, with how many wait."""

    def candidates(self):
        waiting = dict(
            Comment.objects.in_moderation().order_by().values_list("article").annotate(n=Count("pk"))
            .order_by("-n")[:10]
        )
        articles = sorted(Article.objects.filter(pk__in=waiting), key=lambda a: -waiting[a.pk])
        for article in articles:
            article.waiting = waiting[article.pk]
        return articles

    def label(self, article) -> str:
        waiting = getattr(article, "waiting", 0)
        return f"{super().label(article)} ({waiting})" if waiting else super().label(article)


class WaitingForFilter(admin.SimpleListFilter):
    """Why a comment is in the queue: it is held (pending) or readers flagged it."""

    title = "waiting because"
    parameter_name = "waiting"

    def lookups(self, request, model_admin):
        return [("pending", "Pending"), ("flagged", "Flagged")]

    def queryset(self, request, queryset):
        if self.value() == "pending":
            return queryset.filter(status=Comment.Status.PENDING)
        if self.value() == "flagged":
            return queryset.flagged()
        return queryset


@admin.register(Comment)
class CommentAdmin(ReadOnlyAdmin):
    list_display = ("excerpt", "article_link", "author_name", "status_label", "flags", "created_at")
    list_filter = (
        "status", FlaggedFilter, ArticleFilter,
        ("created_at", admin.DateFieldListFilter),
    )
    search_fields = (
        "body", "author__display_name", "author__username", "author__email", "article__title", "article__key",
    )
    list_select_related = ("article", "author")
    list_per_page = 50
    # A second COUNT(*) over the whole table on every page view is the cost of this link.
    show_full_result_count = False
    ordering = ("-created_at", "-id")
    actions = ("approve", "reject", "mark_spam", "ban_author")
    change_form_template = "admin/comments/comment/change_form.html"
    fields = (
        "status_label", "article_link", "author_summary", "created_at", "edited_at", "is_deleted",
        "text", "on_page", "parent_context", "replies_context", "flag_list", "history",
    )
    readonly_fields = fields

    @admin.display(description="comment")
    def excerpt(self, comment):
        return comment_excerpt(comment) or "(empty)"

    @admin.display(description="article", ordering="article__title")
    def article_link(self, comment):
        url = reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist")
        return format_html('<a href="{}?article__id__exact={}" title="Only this article">{}</a>',
                           url, comment.article_id, Truncator(comment.article.title).chars(40))

    @admin.display(description="author", ordering="author__display_name")
    def author_name(self, comment):
        return comment.author.public_name

    @admin.display(description="status", ordering="status")
    def status_label(self, comment):
        label = comment.get_status_display() + (" (deleted)" if comment.is_deleted else "")
        return status_badge(comment.status, label)

    @admin.display(description="open flags", ordering="open_flag_count")
    def flags(self, comment):
        if not comment.open_flag_count:
            return "–"
        return format_html('<strong style="color:#b91c1c">⚑ {}</strong>', comment.open_flag_count)

    # The change page: everything a moderator needs to decide, read-only.

    @admin.display(description="author")
    def author_summary(self, comment):
        reader = comment.author
        ban = moderation.active_ban(reader)
        return format_html(
            "{} · {} comment(s), {} rejected or spam{}",
            reader.public_name,
            reader.comments.count(),
            reader.comments.filter(status__in=[Comment.Status.REJECTED, Comment.Status.SPAM]).count(),
            format_html(" · <strong>{}</strong>", ban.describe()) if ban else "",
        )

    @admin.display(description="text as typed")
    def text(self, comment):
        return format_html('<div style="white-space:pre-wrap;max-width:60em">{}</div>', comment.body)

    @admin.display(description="on the article page")
    def on_page(self, comment):
        return format_html('<a href="{}">{}</a>', comment.get_absolute_url(), comment.get_absolute_url())

    def _thread_rows(self, comments):
        return format_html(
            "<ul style='margin:0;padding-left:1em'>{}</ul>",
            format_html_join(
                "", "<li>{} {} — {}</li>",
                ((status_badge(c.status, c.get_status_display()), c.author.public_name,
                  admin_link(c, comment_excerpt(c, 200))) for c in comments),
            ),
        )

    @admin.display(description="in reply to")
    def parent_context(self, comment):
        parent = comment.in_reply_to or comment.parent
        return self._thread_rows([parent]) if parent else "(a top-level comment)"

    @admin.display(description="replies")
    def replies_context(self, comment):
        replies = Comment.objects.filter(Q(parent=comment) | Q(in_reply_to=comment)).select_related("author")
        return self._thread_rows(replies) if replies else "(no replies)"

    @admin.display(description="flags")
    def flag_list(self, comment):
        flags = comment.flags.select_related("reader").order_by("created_at")
        if not flags:
            return "(none)"
        return format_html(
            "<ul style='margin:0;padding-left:1em'>{}</ul>",
            format_html_join(
                "", "<li>{} by {} {} — {}{}</li>",
                ((f.get_reason_display(), f.reader.public_name, f"{timezone.localtime(f.created_at):%d %b %H:%M}",
                  f.note or "(no note)", "" if f.is_open else " (resolved)") for f in flags),
            ),
        )

    @admin.display(description="moderation history")
    def history(self, comment):
        entries = comment.log_entries.select_related("actor").order_by("created_at", "id")
        if not entries:
            return "(none)"
        return format_html(
            "<ul style='margin:0;padding-left:1em'>{}</ul>",
            format_html_join(
                "", "<li>{} {} by {}: {} → {} {}</li>",
                ((f"{timezone.localtime(e.created_at):%d %b %H:%M}", e.get_action_display(),
                  e.actor or "the system", e.status_before or "–", e.status_after or "–", e.reason) for e in entries),
            ),
        )

    BUTTONS = {"approve": "Approve", "reject": "Reject", "mark_spam": "Spam", "ban_author": "Ban author…"}

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """The page shows the actions this moderator may take on this one comment as buttons."""
        allowed = self.get_actions(request)
        buttons = [(name, label) for name, label in self.BUTTONS.items() if name in allowed]
        extra_context = {**(extra_context or {}), "moderation_buttons": buttons}
        return super().change_view(request, object_id, form_url, extra_context)

    # Actions: each comment goes through the service, which locks it, logs, resolves its flags
    # and moves the counters.

    def has_moderate_permission(self, request):
        return request.user.has_perm("comments.moderate_comment")

    def has_ban_permission(self, request):
        return request.user.has_perm("comments.ban_reader")

    def _moderate(self, request, queryset, service, done: str):
        count = 0
        for comment in queryset:
            service(comment=comment, moderator=request.user)
            count += 1
        self.message_user(request, f"{done} {count} comment(s).", messages.SUCCESS)

    @admin.action(permissions=["moderate"], description="Approve selected comments")
    def approve(self, request, queryset):
        self._moderate(request, queryset, services.approve_comment, "Approved")

    @admin.action(permissions=["moderate"], description="Reject selected comments")
    def reject(self, request, queryset):
        self._moderate(request, queryset, services.reject_comment, "Rejected")

    @admin.action(permissions=["moderate"], description="Mark selected comments as spam")
    def mark_spam(self, request, queryset):
        self._moderate(request, queryset, services.mark_spam, "Marked as spam")

    @admin.action(permissions=["ban"], description="Ban the authors of selected comments…")
    def ban_author(self, request, queryset):
        authors = Reader.objects.filter(pk__in=queryset.values("author_id"))
        return ban_readers_page(self, request, authors, action="ban_author")


@admin.register(ModerationQueue)
class ModerationQueueAdmin(CommentAdmin):
    """Pending comments and comments with open flags, oldest first: what waits for a moderator."""

    list_display = ("excerpt", "waiting_because", "article_link", "author_name", "status_label", "flags",
                    "created_at")
    list_filter = (WaitingForFilter, QueueArticleFilter,
                   ("created_at", admin.DateFieldListFilter))
    ordering = ("created_at", "id")

    def get_queryset(self, request):
        return super().get_queryset(request).in_moderation()

    @admin.display(description="waiting because")
    def waiting_because(self, comment):
        reasons = []
        if comment.status == Comment.Status.PENDING:
            reasons.append("held")
        if comment.open_flag_count:
            reasons.append("flagged")
        return " and ".join(reasons)


# --- Flags, words, bans, the log --------------------------------------------------------------------


class OpenFlagFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("open", "Open"), ("resolved", "Resolved")]

    def queryset(self, request, queryset):
        if self.value() == "open":
            return queryset.open()
        if self.value() == "resolved":
            return queryset.filter(resolved_at__isnull=False)
        return queryset


@admin.register(Flag)
class FlagAdmin(ReadOnlyAdmin):
    list_display = ("comment_excerpt", "reason", "reader", "note", "created_at", "is_open", "resolved_by")
    list_filter = (OpenFlagFilter, "reason", ("created_at", admin.DateFieldListFilter))
    search_fields = ("note", "reader__display_name", "reader__email", "comment__body")
    list_select_related = ("comment", "reader", "resolved_by")
    ordering = ("-created_at", "-id")
    show_full_result_count = False

    @admin.display(description="comment")
    def comment_excerpt(self, flag):
        return admin_link(flag.comment, comment_excerpt(flag.comment, 80))

    @admin.display(description="open", boolean=True)
    def is_open(self, flag):
        return flag.is_open


class BannedWordForm(forms.ModelForm):
    class Meta:
        model = BannedWord
        fields = ("word", "action")

    def clean_word(self):
        """One word or phrase, trimmed; the same word in another case is the same word."""
        word = self.cleaned_data["word"].strip()
        if not word:
            raise forms.ValidationError("Type a word.")
        folded = moderation.fold(word)
        others = BannedWord.objects.exclude(pk=self.instance.pk)
        if any(moderation.fold(other) == folded for other in others.values_list("word", flat=True)):
            raise forms.ValidationError(f"“{word}” is already on the list (in some case).")
        return word


@admin.register(BannedWord)
class BannedWordAdmin(admin.ModelAdmin):
    form = BannedWordForm
    list_display = ("word", "action", "created_at")
    list_filter = ("action",)
    search_fields = ("word",)


class ActiveBanFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("active", "In force"), ("ended", "Lifted or expired")]

    def queryset(self, request, queryset):
        active = Ban.objects.active()
        if self.value() == "active":
            return queryset.filter(pk__in=active)
        if self.value() == "ended":
            return queryset.exclude(pk__in=active)
        return queryset


@admin.register(Ban)
class BanAdmin(ReadOnlyAdmin):
    list_display = ("reader", "kind", "reason", "until", "in_force", "created_at", "created_by", "lifted_at",
                    "lifted_by")
    list_filter = (ActiveBanFilter,)
    search_fields = ("reader__display_name", "reader__username", "reader__email", "reason")
    list_select_related = ("reader", "created_by", "lifted_by")
    actions = ("lift",)

    @admin.display(description="kind")
    def kind(self, ban):
        return "Suspension" if ban.until else "Ban"

    @admin.display(description="in force", boolean=True)
    def in_force(self, ban):
        return ban.is_active

    def has_ban_permission(self, request):
        return request.user.has_perm("comments.ban_reader")

    @admin.action(permissions=["ban"], description="Lift selected bans")
    def lift(self, request, queryset):
        lifted = 0
        for ban in queryset.filter(lifted_at__isnull=True):
            services.lift_ban(ban=ban, moderator=request.user)
            lifted += 1
        self.message_user(request, f"Lifted {lifted} ban(s).", messages.SUCCESS)


@admin.register(ModerationLogEntry)
class ModerationLogEntryAdmin(ReadOnlyAdmin):
    """The moderation log: append-only, so nobody (superusers included) edits or deletes it here."""

    list_display = ("created_at", "action", "actor_name", "comment_link", "reader", "article", "change", "reason")
    list_filter = ("action", ("created_at", admin.DateFieldListFilter))
    search_fields = ("reason", "reader__display_name", "reader__email", "actor__display_name", "article__title")
    list_select_related = ("actor", "reader", "article")
    date_hierarchy = "created_at"
    show_full_result_count = False

    @admin.display(description="by", ordering="actor__display_name")
    def actor_name(self, entry):
        return entry.actor or "the system"

    @admin.display(description="comment")
    def comment_link(self, entry):
        if entry.comment_id is None:
            return "–"
        url = reverse("admin:comments_comment_change", args=[entry.comment_id])
        return format_html('<a href="{}">#{}</a>', url, entry.comment_id)

    @admin.display(description="status")
    def change(self, entry):
        if not (entry.status_before or entry.status_after):
            return "–"
        return f"{entry.status_before or '–'} → {entry.status_after or '–'}"


# --- Articles and readers ---------------------------------------------------------------------------


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
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

    def has_close_permission(self, request):
        return request.user.has_perm("comments.moderate_article")

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


@admin.register(Reader)
class ReaderAdmin(UserAdmin):
    list_display = ("email", "display_name", "moderation", "is_staff", "date_joined")
    list_filter = ("moderation", "is_staff", "is_active")
    search_fields = ("email", "display_name", "username")
    fieldsets = UserAdmin.fieldsets + (("Comments", {"fields": ("display_name", "moderation")}),)
    readonly_fields = ("moderation",)
    actions = ("ban", "premoderate_always", "trust", "premoderate_default")

    def has_ban_permission(self, request):
        return request.user.has_perm("comments.ban_reader")

    def has_moderate_permission(self, request):
        return request.user.has_perm("comments.moderate_comment")

    def save_model(self, request, obj, form, change):
        """The display name goes through services, so cached threads show the new name at once."""
        super().save_model(request, obj, form, change)
        if change and "display_name" in form.changed_data:
            services.set_reader_display_name(reader=obj, display_name=obj.display_name)

    @admin.action(permissions=["ban"], description="Ban or suspend selected readers…")
    def ban(self, request, queryset):
        return ban_readers_page(self, request, queryset, action="ban")

    def _set_moderation(self, request, queryset, moderation: str):
        for reader in queryset:
            services.set_reader_moderation(reader=reader, moderator=request.user, moderation=moderation)
        label = Reader.Moderation(moderation).label
        self.message_user(request, f"{label}: {queryset.count()} reader(s).", messages.SUCCESS)

    @admin.action(permissions=["moderate"], description="Always pre-moderate selected readers")
    def premoderate_always(self, request, queryset):
        self._set_moderation(request, queryset, Reader.Moderation.ALWAYS)

    @admin.action(permissions=["moderate"], description="Trust selected readers (never pre-moderate)")
    def trust(self, request, queryset):
        self._set_moderation(request, queryset, Reader.Moderation.TRUSTED)

    @admin.action(permissions=["moderate"], description="Use the site's pre-moderation for selected readers")
    def premoderate_default(self, request, queryset):
        self._set_moderation(request, queryset, Reader.Moderation.DEFAULT)
