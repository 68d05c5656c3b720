"""Articles, readers' profiles and their comments, plus what moderation needs to remember.

Counters (``Article.comment_count``, ``Comment.reply_count``, ``like_count``, ``open_flag_count``)
are denormalized for fast reads and kept exact by ``services`` with ``F()`` updates in the same
transaction as the change; ``recount_comments`` repairs them if anything ever drifts.
"""

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from comments import conf
from comments.querysets import BanQuerySet, CommentQuerySet, FlagQuerySet, in_moderation_q

ARTICLE_KEY_PATTERN = r"[A-Za-z0-9._~-]{1,200}"
# Ids are 64-bit: bigger ones cannot exist, and PostgreSQL refuses to compare a bigint with them.
MAX_ID = 2**63 - 1
article_key_validator = RegexValidator(
    rf"^{ARTICLE_KEY_PATTERN}\Z", "Use 1–200 characters of letters, digits and . _ ~ -"
)


class ReaderProfile(models.Model):
    """What the comments app keeps about a reader, beside the site's own user model.

    One row per user, created when first needed (``services.reader_profile``: posting, renaming,
    setting pre-moderation); a user without one reads as the defaults (``readers.profile_of``).
    The app never assumes the user model has a username, an email or names: it only links to it.
    """

    class Moderation(models.TextChoices):
        DEFAULT = "default", _("Site default")
        ALWAYS = "always", _("Always pre-moderate")
        TRUSTED = "trusted", _("Trusted (never pre-moderate)")

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True,
        related_name="comments_profile", verbose_name=_("user"),
    )
    display_name = models.CharField(
        _("display name"), max_length=50, blank=True,
        help_text=_("Shown on the reader's comments (empty: a neutral name). Never the email."),
    )
    moderation = models.CharField(
        _("pre-moderation"), max_length=10, choices=Moderation.choices, default=Moderation.DEFAULT,
        help_text=_("Pre-moderation for this reader's new comments."),
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("reader")
        verbose_name_plural = _("readers")

    def __str__(self) -> str:
        return self.display_name or gettext("Reader %(number)s") % {"number": self.pk}


class Article(models.Model):
    """A news article as the CMS knows it; ``key`` is the CMS's own identifier."""

    class Premoderation(models.TextChoices):
        DEFAULT = "default", "Site default"
        ON = "on", "Pre-moderate"
        OFF = "off", "Publish at once"

    key = models.CharField(max_length=200, unique=True, validators=[article_key_validator])
    title = models.CharField(max_length=500)
    url = models.URLField(max_length=1000, blank=True)
    published_at = models.DateTimeField(default=timezone.now)
    body = models.TextField(blank=True, help_text="Plain paragraphs for the built-in page.")
    comments_open = models.BooleanField(default=True)
    premoderation = models.CharField(
        max_length=10, choices=Premoderation.choices, default=Premoderation.DEFAULT
    )
    comment_count = models.PositiveIntegerField(
        default=0, editable=False, help_text="Visible comments: approved and not deleted."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-published_at", "-id"]
        indexes = [models.Index(fields=["-published_at", "-id"], name="article_newest")]
        permissions = [("moderate_article", "Can close comments and set pre-moderation on an article")]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("comments:article", kwargs={"key": self.key})

    @property
    def paragraphs(self) -> list[str]:
        return [p.strip() for p in self.body.split("\n\n") if p.strip()]

    @property
    def accepts_comments(self) -> bool:
        """Open, and not past the automatic closing age (COMMENTS_CLOSE_AFTER_DAYS)."""
        if not self.comments_open:
            return False
        days = conf.close_after_days()
        if days is None:
            return True
        try:
            return timezone.now() < self.published_at + timezone.timedelta(days=days)
        except OverflowError:  # published near the end of the calendar: not closed by age yet
            return True


class Comment(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        SPAM = "spam", "Spam"

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="comments"
    )
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="children"
    )
    # The top-level comment of the thread (null for a top-level comment itself): one indexed
    # lookup fetches a whole thread.
    root = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="descendants"
    )
    # The comment this one answers: the parent, or a comment at the deepest level whose reply
    # was attached beside it.
    in_reply_to = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    depth = models.PositiveSmallIntegerField(default=0)
    body = models.TextField(help_text="As the reader typed it.")
    body_html = models.TextField(help_text="Sanitized once, on write; this is what is shown.")
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.APPROVED, db_index=True
    )
    is_deleted = models.BooleanField(default=False)
    deleted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    edited_at = models.DateTimeField(null=True, blank=True)
    like_count = models.PositiveIntegerField(default=0)
    reply_count = models.PositiveIntegerField(default=0, help_text="Visible direct replies.")
    open_flag_count = models.PositiveIntegerField(default=0)
    # On a top-level comment: moves, in the same transaction, with every change to what the public
    # sees of its thread (itself and every reply below). Cached renderings of one thread are keyed
    # by it (``comments.fragments``), so a change rebuilds one thread, not the article's page.
    thread_revision = models.PositiveIntegerField(default=0, editable=False)

    objects = CommentQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            # Top-level comments of an article, newest/oldest first.
            models.Index(fields=["article", "parent", "created_at", "id"], name="comment_roots"),
            # Top-level comments by likes.
            models.Index(fields=["article", "parent", "like_count", "id"], name="comment_roots_top"),
            # A whole thread in one lookup.
            models.Index(fields=["root", "created_at", "id"], name="comment_thread"),
            # Counting visible comments of an article.
            models.Index(fields=["article", "status", "is_deleted"], name="comment_visible"),
            # A reader's comments (pre-moderation of first K, bans that hide comments).
            models.Index(fields=["author", "status"], name="comment_author"),
            # The moderation queue, oldest first: only the few comments waiting are indexed.
            models.Index(
                fields=["created_at", "id"], name="comment_queue",
                condition=in_moderation_q(),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(parent__isnull=True, depth=0) | Q(parent__isnull=False, depth__gt=0),
                name="comment_depth_matches_parent",
            ),
        ]
        permissions = [("moderate_comment", "Can approve, reject and mark comments as spam")]

    def __str__(self) -> str:
        return f"Comment {self.pk} on {self.article}"

    def get_absolute_url(self) -> str:
        """The permalink: it redirects to the page of the article's thread that shows this comment."""
        return reverse("comments:comment", kwargs={"pk": self.pk})

    @property
    def is_visible(self) -> bool:
        """Counted and shown to everyone: approved and not deleted."""
        return self.status == self.Status.APPROVED and not self.is_deleted

    @property
    def is_pending(self) -> bool:
        return self.status == self.Status.PENDING

    def is_visible_to(self, reader) -> bool:
        if self.is_visible:
            return True
        return (
            self.is_pending
            and not self.is_deleted
            and reader is not None
            and reader.is_authenticated
            and reader.pk == self.author_id
        )

    def edit_deadline(self):
        return self.created_at + conf.edit_window()

    def can_be_edited_by(self, reader, *, now=None) -> bool:
        return (
            reader is not None
            and reader.is_authenticated
            and reader.pk == self.author_id
            and not self.is_deleted
            and self.status in (self.Status.APPROVED, self.Status.PENDING)
            and (now or timezone.now()) < self.edit_deadline()
        )

    def can_be_deleted_by(self, reader) -> bool:
        return (
            reader is not None
            and reader.is_authenticated
            and not self.is_deleted
            and (reader.pk == self.author_id)
        )


class ModerationQueue(Comment):
    """The admin's moderation queue: pending comments and comments with open flags, oldest first."""

    class Meta:
        proxy = True
        verbose_name = "comment in the moderation queue"
        verbose_name_plural = "moderation queue"


class Like(models.Model):
    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, related_name="likes")
    reader = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["comment", "reader"], name="one_like_per_reader")
        ]
        indexes = [models.Index(fields=["reader", "comment"], name="like_reader")]

    def __str__(self) -> str:
        return f"Like of comment {self.comment_id}"


class Flag(models.Model):
    """A reader's report of abuse; one per reader per comment. Moderating resolves it."""

    class Reason(models.TextChoices):
        SPAM = "spam", "Spam"
        ABUSE = "abuse", "Abuse"
        OFF_TOPIC = "off_topic", "Off topic"
        OTHER = "other", "Other"

    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, related_name="flags")
    reader = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="flags"
    )
    reason = models.CharField(max_length=10, choices=Reason.choices)
    note = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )

    objects = FlagQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["comment", "reader"], name="one_flag_per_reader")
        ]
        indexes = [models.Index(fields=["comment", "resolved_at"], name="flag_open")]

    def __str__(self) -> str:
        return f"{self.get_reason_display()} flag on comment {self.comment_id}"

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


class BannedWord(models.Model):
    """A word that rejects a comment or holds it for moderation (whole word, any case)."""

    class Action(models.TextChoices):
        REJECT = "reject", "Reject the comment"
        HOLD = "hold", "Send to the moderation queue"

    word = models.CharField(max_length=100, unique=True)
    action = models.CharField(max_length=10, choices=Action.choices, default=Action.HOLD)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["word"]

    def __str__(self) -> str:
        return self.word


class Ban(models.Model):
    """A ban (no end) or suspension (until a date) of a reader; lifting keeps the record."""

    reader = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="bans")
    reason = models.CharField(max_length=500)
    until = models.DateTimeField(null=True, blank=True, help_text="Empty: until lifted.")
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = BanQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["reader", "lifted_at"], name="ban_reader")]
        permissions = [("ban_reader", "Can ban, suspend and lift bans on readers")]

    def __str__(self) -> str:
        return f"Ban of {self.reader}"

    @property
    def is_active(self) -> bool:
        return self.lifted_at is None and (self.until is None or self.until > timezone.now())

    def describe(self) -> str:
        if self.until is None:
            return "You are banned from commenting."
        return f"You are suspended from commenting until {timezone.localtime(self.until):%d %B %Y, %H:%M}."


class ModerationLogEntry(models.Model):
    """One moderation action; written by services only, never edited or deleted."""

    class Action(models.TextChoices):
        APPROVE = "approve", "Approve"
        REJECT = "reject", "Reject"
        SPAM = "spam", "Mark as spam"
        AUTO_HIDE = "auto_hide", "Hidden by flags"
        HOLD = "hold", "Held for moderation"
        DELETE = "delete", "Deleted by author"
        BAN = "ban", "Ban reader"
        LIFT_BAN = "lift_ban", "Lift ban"
        HIDE_BY_BAN = "hide_by_ban", "Hidden with a ban"
        CLOSE = "close", "Close comments"
        OPEN = "open", "Open comments"
        READER_MODERATION = "reader_moderation", "Set reader pre-moderation"
        ARTICLE_MODERATION = "article_moderation", "Set article pre-moderation"

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+", help_text="Empty: the system (automatic rules).",
    )
    action = models.CharField(max_length=20, choices=Action.choices)
    comment = models.ForeignKey(
        Comment, null=True, blank=True, on_delete=models.SET_NULL, related_name="log_entries"
    )
    reader = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    article = models.ForeignKey(
        Article, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status_before = models.CharField(max_length=10, blank=True)
    status_after = models.CharField(max_length=10, blank=True)
    reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "moderation log entry"
        verbose_name_plural = "moderation log"

    def __str__(self) -> str:
        return f"{self.get_action_display()} at {self.created_at:%Y-%m-%d %H:%M}"


class LiveEvent(models.Model):
    """One live event as the database broker keeps it (``comments.live``), without Redis.

    The row's id is the event's id: ids are taken inside the publishing transaction, which
    serializes publishers, so ids follow commit order and a stream process can poll for
    ``id > last seen``. ``count`` events keep their number in ``count`` (read in the same
    statement that takes the id); the others keep their JSON in ``data``. Old rows are pruned
    by the publishers: ``COMMENTS_SSE_BUFFER_SIZE`` per article, ``COMMENTS_SSE_BUFFER_TTL`` in all.
    """

    id = models.BigAutoField(primary_key=True)
    article_key = models.CharField(max_length=200)
    kind = models.CharField(max_length=10)
    data = models.TextField(blank=True)
    count = models.IntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        indexes = [models.Index(fields=["article_key", "id"], name="comments_liveevent_replay")]

    def __str__(self) -> str:
        return f"{self.kind} #{self.id} on {self.article_key}"
