"""Comments, the moderation queue, flags and banned words."""


from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.auth import get_user_model
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator

from comments import moderation, selectors, services
from comments.admin.base import (
    ModerationPermissions,
    ReadOnlyAdmin,
    admin_link,
    comment_excerpt,
    status_badge,
    user_search_fields,
)
from comments.admin.readers import ban_readers_page
from comments.models import (
    Article,
    BannedWord,
    Comment,
    Flag,
    ModerationQueue,
)
from comments.readers import public_name as public_name_of


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
class CommentAdmin(ModerationPermissions, ReadOnlyAdmin):
    list_display = ("excerpt", "article_link", "author_name", "status_label", "flags", "created_at")
    list_filter = (
        "status", FlaggedFilter, ArticleFilter,
        ("created_at", admin.DateFieldListFilter),
    )
    search_fields = (
        "body", "author__comments_profile__display_name", *user_search_fields("author__"),
        "article__title", "article__key",
    )
    list_select_related = ("article", "author__comments_profile")
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

    @admin.display(description="author", ordering="author__comments_profile__display_name")
    def author_name(self, comment):
        return public_name_of(comment.author)

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
            public_name_of(reader),
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
                ((status_badge(c.status, c.get_status_display()), public_name_of(c.author),
                  admin_link(c, comment_excerpt(c, 200))) for c in comments),
            ),
        )

    @admin.display(description="in reply to")
    def parent_context(self, comment):
        parent = comment.in_reply_to or comment.parent
        return self._thread_rows([parent]) if parent else "(a top-level comment)"

    @admin.display(description="replies")
    def replies_context(self, comment):
        replies = (Comment.objects.filter(Q(parent=comment) | Q(in_reply_to=comment))
                   .select_related("author__comments_profile"))
        return self._thread_rows(replies) if replies else "(no replies)"

    @admin.display(description="flags")
    def flag_list(self, comment):
        flags = comment.flags.select_related("reader__comments_profile").order_by("created_at")
        if not flags:
            return "(none)"
        return format_html(
            "<ul style='margin:0;padding-left:1em'>{}</ul>",
            format_html_join(
                "", "<li>{} by {} {} — {}{}</li>",
                ((f.get_reason_display(), public_name_of(f.reader), f"{timezone.localtime(f.created_at):%d %b %H:%M}",
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
        authors = get_user_model()._default_manager.filter(pk__in=queryset.values("author_id"))
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
    search_fields = ("note", "reader__comments_profile__display_name", *user_search_fields("reader__"),
                     "comment__body")
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
