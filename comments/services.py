"""Every write to comments, articles, likes, flags and bans goes through this module.

The HTML pages, the API, the admin, the management commands and the seed loader all call these
functions, so counts, the moderation log and live events follow from one place. Each function
is keyword-only and atomic; its docstring says what it guarantees and which rows it locks.

Counters change with ``F()`` in the same transaction as the row that moves them. Live events
are published only after the transaction commits (``transaction.on_commit``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Count, F, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from comments import conf, live, moderation, versions
from comments.exceptions import (
    CommentsClosed,
    EditWindowClosed,
    InvalidComment,
    NotPermitted,
    ReaderBanned,
    RejectedByModeration,
)
from comments.models import Article, Ban, Comment, Flag, Like, ModerationLogEntry, Reader
from comments.querysets import visible_q
from comments.sanitize import clean_comment_html, normalize_text, visible_text

Status = Comment.Status
Action = ModerationLogEntry.Action


# --- Checks -------------------------------------------------------------------------------------


def check_body(body) -> tuple[str, str]:
    """The body as stored and its sanitized HTML, or InvalidComment with a clear message."""
    if not isinstance(body, str):
        raise InvalidComment("The comment must be text.", fields={"body": ["Must be a string."]})
    if "\x00" in body:
        raise InvalidComment(
            "The comment contains a null character.", fields={"body": ["Null characters are not allowed."]}
        )
    try:
        body.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: no database can store it
        raise InvalidComment("The comment is not valid text.", fields={"body": ["Invalid characters."]}) from None
    text = normalize_text(body)
    if not text:
        raise InvalidComment("Write something before posting.", fields={"body": ["This field may not be blank."]})
    limit = conf.max_length()
    if len(text) > limit:
        message = f"Comments are limited to {limit:,} characters; this one has {len(text):,}."
        raise InvalidComment(message, fields={"body": [message]})
    html = clean_comment_html(text)
    if not visible_text(html):
        message = "This comment has no text once unsupported markup is removed."
        raise InvalidComment(message, fields={"body": [message]})
    return text, html


def check_can_write(*, reader: Reader) -> None:
    """Signed in and not banned: required for posting, editing, liking and flagging."""
    if reader is None or not reader.is_authenticated:
        raise NotPermitted("Sign in to take part.")
    ban = moderation.active_ban(reader)
    if ban is not None:
        raise ReaderBanned(ban.describe() + (f" Reason: {ban.reason}" if ban.reason else ""))


def check_can_comment(*, reader: Reader, article: Article) -> None:
    check_can_write(reader=reader)
    if not article.accepts_comments:
        raise CommentsClosed("Comments are closed on this article.")


# --- Counters and events ------------------------------------------------------------------------


def _apply_visibility_change(comment: Comment, *, was_visible: bool) -> None:
    """Move the article's count and the parent's reply count if ``comment`` became (in)visible.

    Runs inside the caller's transaction: one UPDATE with F() per counter, so concurrent
    writers never lose an increment. Events go out after the commit.

    Lock order, the same in every write: the comment, then its parent, then the article. Posting
    a reply locks the parent first too, so two writers in one thread never wait on each other
    in opposite orders (a deadlock on PostgreSQL).
    """
    now_visible = comment.is_visible
    if was_visible == now_visible:
        return
    delta = 1 if now_visible else -1
    if comment.parent_id:
        Comment.objects.filter(pk=comment.parent_id).update(reply_count=F("reply_count") + delta)
    Article.objects.filter(pk=comment.article_id).update(comment_count=F("comment_count") + delta)
    article_id, comment_id = comment.article_id, comment.pk
    versions.bump_on_commit([], counts=True)  # the lead's merge moves the article's version here too
    transaction.on_commit(
        lambda: live.visibility_changed(article_id=article_id, comment_id=comment_id, visible=now_visible)
    )


def uncount_removed_comment(comment: Comment) -> None:
    """A visible comment's row was deleted (a cascade from a reader or an article): uncount it.

    Soft deletion is the product's way; this only keeps counters exact when an administrator
    deletes accounts or articles outright.
    """
    if comment.is_visible:
        if comment.parent_id:
            Comment.objects.filter(pk=comment.parent_id).update(reply_count=F("reply_count") - 1)
        Article.objects.filter(pk=comment.article_id).update(comment_count=F("comment_count") - 1)


def uncount_removed_like_or_flag(row: Like | Flag) -> None:
    """A reader's like or open flag was deleted with the reader: take it off the comment's counter."""
    if isinstance(row, Like):
        Comment.objects.filter(pk=row.comment_id).update(like_count=F("like_count") - 1)
    elif row.resolved_at is None:
        Comment.objects.filter(pk=row.comment_id).update(open_flag_count=F("open_flag_count") - 1)


def _log(action: str, *, actor=None, comment: Comment | None = None, reader=None, article=None,
         status_before: str = "", status_after: str = "", reason: str = "") -> ModerationLogEntry:
    return ModerationLogEntry.objects.create(
        action=action,
        actor=actor if actor is not None and actor.is_authenticated else None,
        comment=comment,
        reader=reader if reader is not None else (comment.author if comment else None),
        article=article if article is not None else (comment.article if comment else None),
        status_before=status_before,
        status_after=status_after,
        reason=reason[:500],
    )


def _locked(comment: Comment) -> Comment:
    """Re-read ``comment`` with its row (only its row: ``of=self``) locked for the transaction."""
    return Comment.objects.select_for_update(of=("self",)).select_related("article", "author").get(pk=comment.pk)


# --- Posting, editing, deleting -----------------------------------------------------------------


@dataclass(frozen=True)
class _Placement:
    parent: Comment | None
    root: Comment | None
    in_reply_to: Comment | None
    depth: int


def _parent_unavailable() -> InvalidComment:
    # One answer whether the parent is unknown, hidden or on another article, so that replying
    # cannot be used to probe which hidden comments exist.
    return InvalidComment(
        "The comment you replied to is not available on this article.",
        fields={"parent": ["Not a visible comment of this article."]},
    )


def _placement(*, article: Article, parent: Comment | None) -> _Placement:
    """Where a reply goes: under ``parent``, or beside it when it is at the deepest level."""
    if parent is None:
        return _Placement(None, None, None, 0)
    if parent.article_id != article.pk or not parent.is_visible:
        raise _parent_unavailable()
    root = parent.root if parent.root_id else parent
    if parent.depth >= conf.max_depth():
        # Attach beside the answered comment so the thread stops nesting deeper.
        return _Placement(parent.parent, root if parent.parent_id else None, parent, parent.depth)
    return _Placement(parent, root, parent, parent.depth + 1)


@transaction.atomic
def post_comment(*, article: Article, author: Reader, body, parent: Comment | int | None = None) -> Comment:
    """Post a comment or a reply (``parent``: the comment or its id); approved at once unless a
    moderation rule holds it.

    Raises InvalidComment (body, parent), CommentsClosed, ReaderBanned, NotPermitted or
    RejectedByModeration; on any of them nothing is saved. Locks the parent row.
    """
    check_can_comment(reader=author, article=article)
    text, html = check_body(body)
    if parent is not None:
        parent_id = parent if isinstance(parent, int) else parent.pk
        parent = Comment.objects.select_for_update().filter(pk=parent_id).first()
        if parent is None:
            raise _parent_unavailable()
    place = _placement(article=article, parent=parent)
    decision = moderation.decide_new_comment(article=article, author=author, body=text)
    if decision.refused:
        raise RejectedByModeration(
            "Your comment contains a word that is not allowed here. Please rephrase it.",
            fields={"body": ["Contains a word that is not allowed."]},
        )
    comment = Comment.objects.create(
        article=article,
        author=author,
        parent=place.parent,
        root=place.root,
        in_reply_to=place.in_reply_to,
        depth=place.depth,
        body=text,
        body_html=html,
        status=decision.status,
    )
    if decision.status == Status.PENDING:
        _log(Action.HOLD, comment=comment, status_after=Status.PENDING, reason=decision.reason)
    _apply_visibility_change(comment, was_visible=False)
    return comment


@transaction.atomic
def edit_comment(*, comment: Comment, editor: Reader, body, now: datetime | None = None) -> Comment:
    """Replace the body of the editor's own comment within the edit window; sets ``edited_at``.

    The new text passes the same words check as a new comment: a suspect word sends a
    visible comment back to the queue. Locks the comment row.
    """
    check_can_write(reader=editor)
    comment = _locked(comment)
    if comment.author_id != editor.pk or comment.is_deleted:
        raise NotPermitted("You can only edit your own comments.")
    if not comment.article.accepts_comments:
        raise CommentsClosed("Comments are closed on this article.")
    if comment.status not in (Status.APPROVED, Status.PENDING):
        raise NotPermitted("This comment was removed by a moderator and cannot be edited.")
    if not comment.can_be_edited_by(editor, now=now):
        minutes = int(conf.edit_window().total_seconds() // 60)
        raise EditWindowClosed(f"Comments can only be edited for {minutes} minutes after posting.")
    text, html = check_body(body)
    decision = moderation.decide_body(text)
    if decision is not None and decision.refused:
        raise RejectedByModeration(
            "Your comment contains a word that is not allowed here. Please rephrase it.",
            fields={"body": ["Contains a word that is not allowed."]},
        )
    was_visible, before = comment.is_visible, comment.status
    comment.body, comment.body_html, comment.edited_at = text, html, now or timezone.now()
    if decision is not None and comment.status == Status.APPROVED:
        comment.status = Status.PENDING
        _log(Action.HOLD, comment=comment, status_before=before, status_after=Status.PENDING, reason=decision.reason)
    comment.save(update_fields=["body", "body_html", "edited_at", "status"])
    _apply_visibility_change(comment, was_visible=was_visible)
    if was_visible and comment.is_visible:
        comment_id, article_id = comment.pk, comment.article_id
        transaction.on_commit(lambda: live.comment_edited(article_id=article_id, comment_id=comment_id))
    return comment


@transaction.atomic
def delete_comment(*, comment: Comment, actor: Reader) -> Comment:
    """Soft-delete the actor's own comment. It stays as a tombstone while visible replies remain.

    Deleting twice is harmless. Moderators remove comments with ``reject_comment`` instead.
    """
    comment = _locked(comment)
    if actor is None or not actor.is_authenticated or comment.author_id != actor.pk:
        raise NotPermitted("You can only delete your own comments.")
    if comment.is_deleted:
        return comment
    was_visible = comment.is_visible
    comment.is_deleted, comment.deleted_at = True, timezone.now()
    comment.save(update_fields=["is_deleted", "deleted_at"])
    _log(Action.DELETE, actor=actor, comment=comment, status_before=comment.status, status_after=comment.status)
    _apply_visibility_change(comment, was_visible=was_visible)
    return comment


# --- Moderation -----------------------------------------------------------------------------------


def _resolve_flags(comment: Comment, *, moderator) -> int:
    resolved = Flag.objects.filter(comment=comment).open().update(
        resolved_at=timezone.now(), resolved_by=moderator if moderator and moderator.is_authenticated else None
    )
    if resolved:
        comment.open_flag_count = 0
        Comment.objects.filter(pk=comment.pk).update(open_flag_count=0)
    return resolved


def _transition(comment: Comment, *, status: str, actor, action: str, reason: str = "",
                resolve_flags: bool = True) -> Comment:
    """Move a (locked) comment to ``status``, log it, and move the counters."""
    was_visible, before = comment.is_visible, comment.status
    if before != status:
        comment.status = status
        comment.save(update_fields=["status"])
    if resolve_flags:
        _resolve_flags(comment, moderator=actor)
    _log(action, actor=actor, comment=comment, status_before=before, status_after=status, reason=reason)
    _apply_visibility_change(comment, was_visible=was_visible)
    return comment


@transaction.atomic
def moderate_comment(*, comment: Comment, moderator: Reader, status: str, reason: str = "") -> Comment:
    """Set a comment's moderation status; resolves its open flags and logs the action.

    Approving a flagged comment that is already approved keeps it and clears its flags.
    Locks the comment row.
    """
    if status not in Status.values:
        raise InvalidComment(f"Unknown status {status!r}.", fields={"status": ["Unknown status."]})
    action = {Status.APPROVED: Action.APPROVE, Status.REJECTED: Action.REJECT,
              Status.SPAM: Action.SPAM, Status.PENDING: Action.HOLD}[status]
    return _transition(_locked(comment), status=status, actor=moderator, action=action, reason=reason)


def approve_comment(*, comment: Comment, moderator: Reader, reason: str = "") -> Comment:
    return moderate_comment(comment=comment, moderator=moderator, status=Status.APPROVED, reason=reason)


def reject_comment(*, comment: Comment, moderator: Reader, reason: str = "") -> Comment:
    return moderate_comment(comment=comment, moderator=moderator, status=Status.REJECTED, reason=reason)


def mark_spam(*, comment: Comment, moderator: Reader, reason: str = "") -> Comment:
    return moderate_comment(comment=comment, moderator=moderator, status=Status.SPAM, reason=reason)


@transaction.atomic
def flag_comment(*, comment: Comment, reader: Reader, reason: str, note: str = "") -> tuple[Flag, bool]:
    """Record the reader's report (one per reader per comment); returns (flag, created).

    When the comment reaches COMMENTS_FLAGS_TO_HIDE open flags it is hidden (pending) and so
    lands in the moderation queue. Locks the comment row.
    """
    check_can_write(reader=reader)
    if reason not in Flag.Reason.values:
        raise InvalidComment(
            "Choose why you are reporting this comment.",
            fields={"reason": [f"Must be one of: {', '.join(Flag.Reason.values)}."]},
        )
    if not isinstance(note, str) or "\x00" in note or len(note) > 500:
        raise InvalidComment("The note must be text of at most 500 characters.", fields={"note": ["Invalid note."]})
    comment = _locked(comment)
    if not comment.is_visible_to(reader):
        raise InvalidComment("This comment is not available.", fields={"comment": ["Not a visible comment."]})
    if comment.author_id == reader.pk:
        raise NotPermitted("You cannot report your own comment.")
    existing = Flag.objects.filter(comment=comment, reader=reader).first()
    if existing is not None:
        return existing, False
    flag = Flag.objects.create(comment=comment, reader=reader, reason=reason, note=normalize_text(note))
    Comment.objects.filter(pk=comment.pk).update(open_flag_count=F("open_flag_count") + 1)
    comment.open_flag_count += 1
    if moderation.should_hide_for_flags(comment):
        _transition(comment, status=Status.PENDING, actor=None, action=Action.AUTO_HIDE,
                    reason=f"{comment.open_flag_count} open flags", resolve_flags=False)
    return flag, True


def like_comment(*, comment: Comment, reader: Reader) -> Comment:
    """Like a visible comment; liking twice changes nothing. ``like_count`` stays exact."""
    check_can_write(reader=reader)
    if not comment.is_visible:
        raise InvalidComment("Only visible comments can be liked.", fields={"comment": ["Not a visible comment."]})
    try:
        with transaction.atomic():
            Like.objects.create(comment=comment, reader=reader)
            Comment.objects.filter(pk=comment.pk).update(like_count=F("like_count") + 1)
    except IntegrityError:
        pass  # Already liked: the unique constraint is the guard, also against a racing twin.
    comment.refresh_from_db(fields=["like_count"])
    return comment


@transaction.atomic
def unlike_comment(*, comment: Comment, reader: Reader) -> Comment:
    """Take back a like; unliking what was not liked changes nothing."""
    if reader is None or not reader.is_authenticated:
        raise NotPermitted("Sign in to take part.")
    removed, _ = Like.objects.filter(comment=comment, reader=reader).delete()
    if removed:
        Comment.objects.filter(pk=comment.pk).update(like_count=F("like_count") - 1)
    comment.refresh_from_db(fields=["like_count"])
    return comment


# --- Readers ------------------------------------------------------------------------------------


@transaction.atomic
def ban_reader(*, reader: Reader, moderator: Reader, reason: str, until: datetime | None = None,
               hide_comments: bool = False) -> Ban:
    """Ban (no ``until``) or suspend a reader; optionally hide all their comments.

    Hidden comments become rejected, each with its own log entry, and the counts follow.
    """
    ban = Ban.objects.create(reader=reader, reason=reason, until=until, created_by=moderator)
    _log(Action.BAN, actor=moderator, reader=reader,
         reason=reason + (f" (until {until:%Y-%m-%d %H:%M})" if until else ""))
    if hide_comments:
        hide_reader_comments(reader=reader, moderator=moderator, reason=f"ban: {reason}")
    return ban


@transaction.atomic
def hide_reader_comments(*, reader: Reader, moderator: Reader, reason: str = "") -> int:
    """Reject every approved or pending comment of ``reader``; returns how many.

    Comments the reader already deleted are left as they are: nobody sees them anyway.
    """
    hidden = 0
    for comment in Comment.objects.select_for_update(of=("self",)).select_related("article", "author").filter(
        author=reader, status__in=[Status.APPROVED, Status.PENDING], is_deleted=False
    ):
        _transition(comment, status=Status.REJECTED, actor=moderator, action=Action.HIDE_BY_BAN, reason=reason)
        hidden += 1
    return hidden


@transaction.atomic
def lift_ban(*, ban: Ban, moderator: Reader, reason: str = "") -> Ban:
    """End a ban or suspension now; the record stays for the history."""
    ban = Ban.objects.select_for_update().get(pk=ban.pk)
    if ban.lifted_at is None:
        ban.lifted_at, ban.lifted_by = timezone.now(), moderator
        ban.save(update_fields=["lifted_at", "lifted_by"])
        _log(Action.LIFT_BAN, actor=moderator, reader=ban.reader, reason=reason)
    return ban


def _set_premoderation(obj, field: str, value: str, *, action: str, actor, reason: str, **logged):
    """Set a reader's or an article's pre-moderation choice and log the change (before → after)."""
    if value not in dict(obj._meta.get_field(field).choices):
        raise InvalidComment(f"Unknown pre-moderation {value!r}.", fields={field: ["Unknown value."]})
    before = getattr(obj, field)
    type(obj).objects.filter(pk=obj.pk).update(**{field: value})
    setattr(obj, field, value)
    _log(action, actor=actor, status_before=before, status_after=value, reason=reason, **logged)
    return obj


@transaction.atomic
def set_reader_moderation(*, reader: Reader, moderator: Reader, moderation: str, reason: str = "") -> Reader:
    """Hold all of a reader's new comments (always), none (trusted), or follow the rules (default).

    Only new comments are affected; the change is in the moderation log.
    """
    return _set_premoderation(reader, "moderation", moderation, action=Action.READER_MODERATION,
                              actor=moderator, reason=reason, reader=reader)


@transaction.atomic
def set_reader_display_name(*, reader: Reader, display_name: str) -> Reader:
    reader.display_name = normalize_text(display_name)[:50]
    reader.save(update_fields=["display_name"])
    return reader


# --- Articles -----------------------------------------------------------------------------------


@transaction.atomic
def upsert_article(*, key: str, title: str, url: str = "", published_at: datetime | None = None,
                   comments_open: bool | None = None, body: str | None = None,
                   actor: Reader | None = None) -> tuple[Article, bool]:
    """Create or update the article the CMS knows as ``key``; returns (article, created).

    Fields left as None keep their stored value on update; an unchanged article is not written.
    ``comment_count`` is never set here.
    """
    defaults: dict = {"title": title, "url": url}
    if published_at is not None:
        defaults["published_at"] = published_at
    if comments_open is not None:
        defaults["comments_open"] = comments_open
    if body is not None:
        defaults["body"] = body
    article = Article.objects.select_for_update().filter(key=key).first()
    if article is None:
        try:
            with transaction.atomic():
                return Article.objects.create(key=key, **defaults), True
        except IntegrityError:  # A concurrent upsert created it first: update that one.
            article = Article.objects.select_for_update().get(key=key)
    changed = [name for name, value in defaults.items() if getattr(article, name) != value]
    if changed:
        for name in changed:
            setattr(article, name, defaults[name])
        article.save(update_fields=[*changed, "updated_at"])
    if "comments_open" in changed:  # opening and closing are in the log whichever door did it
        _log(Action.OPEN if article.comments_open else Action.CLOSE, actor=actor, article=article,
             reason="by the CMS")
    return article, False


@transaction.atomic
def set_comments_open(*, article: Article, is_open: bool, actor: Reader | None, reason: str = "") -> Article:
    """Open or close comments on an article; a closed article shows its thread read-only."""
    Article.objects.filter(pk=article.pk).update(comments_open=is_open)
    article.comments_open = is_open
    _log(Action.OPEN if is_open else Action.CLOSE, actor=actor, article=article, reason=reason)
    return article


@transaction.atomic
def set_article_premoderation(*, article: Article, premoderation: str, actor: Reader | None,
                              reason: str = "") -> Article:
    """Pre-moderate new comments on an article (on), publish them at once (off), or follow the site."""
    return _set_premoderation(article, "premoderation", premoderation, action=Action.ARTICLE_MODERATION,
                              actor=actor, reason=reason, article=article)


# --- Repair ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Drift:
    article_key: str
    stored: int
    actual: int


def recount_comments() -> list[Drift]:
    """Recompute every article's ``comment_count`` and every comment's ``reply_count``.

    Returns the article counts that had drifted. Each repair is a single UPDATE from a
    subquery, so a comment posted meanwhile is not lost from the count.
    """
    visible_count = Subquery(
        Comment.objects.filter(visible_q(), article=OuterRef("pk"))
        .order_by().values("article").annotate(n=Count("pk")).values("n")
    )
    drifted = [
        Drift(a.key, a.comment_count, a.actual)
        for a in Article.objects.annotate(actual=Coalesce(visible_count, Value(0))).exclude(
            comment_count=F("actual")
        )
    ]
    if drifted:
        with transaction.atomic():
            Article.objects.filter(key__in=[d.article_key for d in drifted]).update(
                comment_count=Coalesce(visible_count, Value(0))
            )
    reply_count = Subquery(
        Comment.objects.filter(visible_q(), parent=OuterRef("pk"))
        .order_by().values("parent").annotate(n=Count("pk")).values("n")
    )
    with transaction.atomic():
        Comment.objects.annotate(actual=Coalesce(reply_count, Value(0))).exclude(
            reply_count=F("actual")
        ).update(reply_count=Coalesce(reply_count, Value(0)))
    return drifted


def recount_likes_and_flags() -> Counter:
    """Recompute ``like_count`` and ``open_flag_count`` from their rows (repair tool)."""
    likes = Subquery(Like.objects.filter(comment=OuterRef("pk")).order_by().values("comment")
                     .annotate(n=Count("pk")).values("n"))
    flags = Subquery(Flag.objects.filter(comment=OuterRef("pk"), resolved_at__isnull=True).order_by()
                     .values("comment").annotate(n=Count("pk")).values("n"))
    fixed = Counter()
    with transaction.atomic():
        fixed["like_count"] = Comment.objects.annotate(actual=Coalesce(likes, Value(0))).exclude(
            like_count=F("actual")).update(like_count=Coalesce(likes, Value(0)))
        fixed["open_flag_count"] = Comment.objects.annotate(actual=Coalesce(flags, Value(0))).exclude(
            open_flag_count=F("actual")).update(open_flag_count=Coalesce(flags, Value(0)))
    return fixed
