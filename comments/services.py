"""Every write to comments, articles, likes, flags and bans goes through this module.

The HTML pages, the API, the admin, the management commands and the seed loader all call these
functions, so counts, the moderation log and live events follow from one place. Each function
is keyword-only and atomic; its docstring says what it guarantees and which rows it locks.

Counters change with ``F()`` in the same transaction as the row that moves them. Live events
are published only after the transaction commits (``transaction.on_commit``).
"""

from __future__ import annotations

import functools
import random
import time
from collections import Counter
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import F, Max, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from comments import conf, live, moderation, payloads, versions
from comments.exceptions import (
    CommentsClosed,
    EditWindowClosed,
    InvalidComment,
    NotPermitted,
    ReaderBanned,
    RejectedByModeration,
)
from comments.models import Article, Ban, Comment, Flag, Like, ModerationLogEntry, ReaderProfile
from comments.sanitize import clean_comment_html, normalize_text, visible_text

Status = Comment.Status
Action = ModerationLogEntry.Action
Reader = AbstractBaseUser  # a user of the site's own model (settings.AUTH_USER_MODEL)


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
    ban = moderation.current_ban(reader)
    if ban is not None:
        raise ReaderBanned(ban.describe() + (f" Reason: {ban.reason}" if ban.reason else ""))


def check_can_comment(*, reader: Reader, article: Article) -> None:
    check_can_write(reader=reader)
    if not article.accepts_comments:
        raise CommentsClosed("Comments are closed on this article.")


# --- Transactions, counters and events -------------------------------------------------------

_LOCK_ORDER = """
Every write locks rows in one order, so that two writers never wait on each other in opposite
orders (on PostgreSQL that is a deadlock, and one of them fails): along the thread from the
comment it changes up through its parent to its top-level comment (whose ``thread_revision``
it moves), and the article last. Posting a reply locks the parent first, the same way up.
Explicit row locks are ``FOR NO KEY UPDATE`` (``select_for_update(no_key=True)``): the
foreign-key checks of other transactions (``KEY SHARE`` on a parent, the root, the article,
taken at their commit) never wait on them, as they would on ``FOR UPDATE`` (issue 16: replies
to a comment and to its parent at once deadlocked 40 % of the time).
"""

# PostgreSQL's codes for a transaction that lost to another one and may simply run again.
_RETRYABLE = {"40001", "40P01"}  # serialization_failure, deadlock_detected
ATTEMPTS = 3


def _atomic_retrying(function):
    """``transaction.atomic``, run again (up to ``ATTEMPTS`` in all) when PostgreSQL aborts it
    as a deadlock's victim or for a serialization failure. Only a transaction of its own is
    retried: inside a caller's transaction the error goes up, as the whole must run again.

    The lock order above makes deadlocks between our own writes impossible; this covers what it
    cannot rule out (another program's locks, lock escalation on foreign keys, a DBA's session).
    """
    atomic = transaction.atomic(function)

    @functools.wraps(function)
    def run(*args, **kwargs):
        if connection.in_atomic_block:
            return atomic(*args, **kwargs)
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return atomic(*args, **kwargs)
            except OperationalError as error:
                cause = error.__cause__
                code = getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
                if code not in _RETRYABLE or attempt == ATTEMPTS:
                    raise
                time.sleep(random.uniform(0.005, 0.02) * attempt)  # seconds: let the winner finish

    return run


def _apply_visibility_change(comment: Comment, *, was_visible: bool, new: bool = False) -> None:
    """Move the counters if ``comment`` became (in)visible (``_count`` does, and publishes), and
    its thread's ``thread_revision`` whenever the public sees a change (``new``: a comment just
    posted, which as a top-level comment has no cached thread yet).

    Every write to a comment passes here, so the cached pages of its thread move on commit.
    Lock order, the same in every write (``_LOCK_ORDER``): up the thread, then the article.
    """
    now_visible = comment.is_visible
    article_key = comment.article.key
    versions.bump_on_commit([article_key], counts=was_visible != now_visible)
    if was_visible == now_visible:
        if now_visible:  # an edit the public sees
            _thread_changed(comment.root_id or comment.pk)
        return
    # The event's form of the comment is built now, from the row as this transaction leaves it.
    data = payloads.public_node(comment, article_key=article_key) if now_visible else None
    _count(comment, delta=1 if now_visible else -1, article_key=article_key, data=data,
           thread=not (new and comment.root_id is None))


def _count(comment: Comment, *, delta: int, article_key: str, data: dict | None = None,
           row_deleted: bool = False, thread: bool = True) -> None:
    """The one place the visible-comment counters move: +1 when ``comment`` enters the count
    (posted visible, approved, restored), -1 when it leaves (deleted, rejected, hidden, or its
    row deleted with its reader or article). Moves the parent's ``reply_count``, the thread's
    ``thread_revision`` (unless not ``thread``) and ``Article.comment_count``, in that order
    (``_LOCK_ORDER``), with one ``F()`` UPDATE each in the caller's transaction (so concurrent
    writers never lose a change), and publishes the ``comment`` or ``remove`` event with the
    new ``count`` with the commit (``live.publish_when_committed``). Removals of deleted rows
    (``row_deleted``) are published per article and transaction instead (``_Removals``).
    """
    if comment.parent_id:
        Comment.objects.filter(pk=comment.parent_id).update(reply_count=F("reply_count") + delta)
    if thread:
        _thread_changed(comment.root_id or comment.pk)
    Article.objects.filter(pk=comment.article_id).update(comment_count=F("comment_count") + delta)
    article_id, comment_id = comment.article_id, comment.pk
    if row_deleted:
        _removals().add(article_id, article_key, comment_id)
        return
    live.publish_when_committed(lambda: live.visibility_changed(
        article_id=article_id, comment_id=comment_id, visible=delta > 0, article_key=article_key, data=data
    ))


def _thread_changed(root_id: int) -> None:
    """What the public sees of this top-level comment's thread changed: move its
    ``thread_revision`` in the caller's transaction, so its cached rendering is never served again."""
    Comment.objects.filter(pk=root_id).update(thread_revision=F("thread_revision") + 1)


def _threads_changed(comments: QuerySet) -> None:
    """``_thread_changed`` for the threads of all these comments: one UPDATE."""
    roots = comments.order_by().values(top=Coalesce("root_id", "id"))
    Comment.objects.filter(pk__in=Subquery(roots)).update(thread_revision=F("thread_revision") + 1)


def uncount_removed_comment(comment: Comment) -> None:
    """A comment's row was deleted (a cascade from a reader, an article or a parent comment):
    if it was visible, take it out of the counts (``_count``) and publish its removal.

    Soft deletion is the product's way; this keeps counters exact, and readers' pages live,
    when an administrator deletes accounts or articles outright.
    """
    if not comment.is_visible:
        if comment.root_id is not None:
            _thread_changed(comment.root_id)  # its tombstone may go with it
        return
    key = Article.objects.filter(pk=comment.article_id).values_list("key", flat=True).first()
    if key is None:
        return
    versions.bump_on_commit([key], counts=True)
    _count(comment, delta=-1, article_key=key, row_deleted=True)


class _Removals:
    """Visible comments whose rows the open transaction deleted, by article: one publish per
    article after the commit (deleting a reader may remove thousands), not one per comment."""

    def __init__(self):
        self.by_article: dict[int, tuple[str, list[int]]] = {}

    def add(self, article_id: int, article_key: str, comment_id: int) -> None:
        self.by_article.setdefault(article_id, (article_key, []))[1].append(comment_id)

    def publish(self) -> None:
        for article_id, (article_key, comment_ids) in self.by_article.items():
            live.comments_removed(article_id=article_id, comment_ids=comment_ids, article_key=article_key)


def _removals() -> _Removals:
    """The open transaction's batch of removed rows (a new one after a commit or a rollback)."""
    batch = getattr(connection, "comments_removals", None)
    # A batch whose publish is no longer among the commit hooks was published or rolled back.
    if batch is None or not any(hook[1] == batch.publish for hook in connection.run_on_commit):
        batch = connection.comments_removals = _Removals()
        transaction.on_commit(batch.publish)
    return batch


def uncount_removed_like_or_flag(row: Like | Flag) -> None:
    """A reader's like or open flag was deleted with the reader: take it off the comment's counter."""
    if isinstance(row, Like):
        comment = Comment.objects.select_related("article").filter(pk=row.comment_id).first()
        if comment is not None:  # else it goes in the same cascade
            _move_like_count(comment, -1)
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
    return (Comment.objects.select_for_update(of=("self",), no_key=True)
            .select_related("article", "author__comments_profile").get(pk=comment.pk))


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


@_atomic_retrying
def post_comment(*, article: Article, author: Reader, body, parent: Comment | int | None = None) -> Comment:
    """Post a comment or a reply (``parent``: the comment or its id); approved at once unless a
    moderation rule holds it.

    Raises InvalidComment (body, parent), CommentsClosed, ReaderBanned, NotPermitted or
    RejectedByModeration; on any of them nothing is saved. Locks the parent row.
    """
    check_can_comment(reader=author, article=article)
    text, html = check_body(body)
    reader_profile(author)  # from their first comment on, a reader is in the admin's list of readers
    if parent is not None:
        parent_id = parent if isinstance(parent, int) else parent.pk
        parent = Comment.objects.select_for_update(no_key=True).filter(pk=parent_id).first()
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
    _apply_visibility_change(comment, was_visible=False, new=True)
    return comment


@_atomic_retrying
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
        comment_id, article_id, article_key = comment.pk, comment.article_id, comment.article.key
        data = payloads.public_node(comment, article_key=article_key)
        live.publish_when_committed(lambda: live.comment_edited(
            article_id=article_id, comment_id=comment_id, article_key=article_key, data=data
        ))
    return comment


@_atomic_retrying
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


@_atomic_retrying
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


@_atomic_retrying
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


def _move_like_count(comment: Comment, delta: int) -> None:
    """The one place ``like_count`` moves: by ``delta`` with ``F()`` in the caller's transaction,
    with the thread's revision (likes are in every public page of it), and the article's cached
    pages move on commit."""
    Comment.objects.filter(pk=comment.pk).update(like_count=F("like_count") + delta)
    _thread_changed(comment.root_id or comment.pk)
    versions.bump_on_commit([comment.article.key])


def like_comment(*, comment: Comment, reader: Reader) -> Comment:
    """Like a visible comment; liking twice changes nothing. ``like_count`` stays exact."""
    check_can_write(reader=reader)
    if not comment.is_visible:
        raise InvalidComment("Only visible comments can be liked.", fields={"comment": ["Not a visible comment."]})
    try:
        _add_like(comment, reader)
    except IntegrityError:
        pass  # Already liked: the unique constraint is the guard, also against a racing twin.
    comment.refresh_from_db(fields=["like_count"])
    return comment


@_atomic_retrying
def _add_like(comment: Comment, reader: Reader) -> None:
    Like.objects.create(comment=comment, reader=reader)
    _move_like_count(comment, +1)


@_atomic_retrying
def unlike_comment(*, comment: Comment, reader: Reader) -> Comment:
    """Take back a like; unliking what was not liked changes nothing."""
    if reader is None or not reader.is_authenticated:
        raise NotPermitted("Sign in to take part.")
    removed, _ = Like.objects.filter(comment=comment, reader=reader).delete()
    if removed:
        _move_like_count(comment, -1)
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
    moderation.forget_ban(reader.pk)
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
    hidden_now = Comment.objects.select_for_update(of=("self",), no_key=True).select_related("article", "author")
    for comment in hidden_now.filter(author=reader, status__in=[Status.APPROVED, Status.PENDING], is_deleted=False):
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
        moderation.forget_ban(ban.reader_id)
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


def reader_profile(user: Reader) -> ReaderProfile:
    """The reader's profile, created (with the defaults) if they have none yet: the one place a
    profile is created. Cached on ``user``. Safe against a concurrent first creation."""
    cached = user._state.fields_cache.get("comments_profile")
    if cached is not None and not cached._state.adding:
        return cached
    profile, _ = ReaderProfile.objects.get_or_create(user=user)
    user._state.fields_cache["comments_profile"] = profile
    return profile


@transaction.atomic
def set_reader_moderation(*, reader: Reader, moderator: Reader | None, moderation: str,
                          reason: str = "") -> ReaderProfile:
    """Hold all of a reader's new comments (always), none (trusted), or follow the rules (default).

    Only new comments are affected; the change is in the moderation log. Returns the profile.
    """
    return _set_premoderation(reader_profile(reader), "moderation", moderation, action=Action.READER_MODERATION,
                              actor=moderator, reason=reason, reader=reader)


@transaction.atomic
def set_reader_display_name(*, reader: Reader, display_name: str) -> ReaderProfile:
    """Set the name a reader's comments show; every thread showing their comments moves its
    cached pages on commit. Returns the profile."""
    profile = reader_profile(reader)
    profile.display_name = normalize_text(display_name)[:50]
    profile.save(update_fields=["display_name"])
    _threads_changed(Comment.objects.filter(author=reader))
    versions.bump_on_commit(Article.objects.filter(comments__author=reader).values_list("key", flat=True).distinct())
    return profile


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
    """An article whose ``comment_count`` did not match its visible comments (now repaired)."""

    article_key: str
    stored: int
    actual: int


@dataclass(frozen=True)
class Tally:
    """A denormalized counter and the rows it counts: ``model.counter`` of a row is the number of
    ``rows`` whose ``fk`` points at it and that match ``condition`` (SQL, with ``params``)."""

    label: str
    model: type
    counter: str
    rows: type
    fk: str
    condition: str = ""
    params: tuple = ()

    def _count(self) -> str:
        # A FILTER, not a WHERE: it leaves the planner no index to prefer over ``fk``. With the
        # condition in the WHERE, SQLite chose the ``status`` index, which nearly every comment
        # matches, and so scanned the table once per comment.
        return f"COUNT(*) FILTER (WHERE {self.condition})" if self.condition else "COUNT(*)"

    def drift_sql(self, lo: int, hi: int) -> tuple[str, list]:
        """SELECT id, stored, actual for each drifted row with ``lo < id <= hi``: one GROUP BY over
        the ``fk`` index range, merged with the rows' own primary key range."""
        table, rows = self.model._meta.db_table, self.rows._meta.db_table
        sql = (
            f"SELECT t.id, t.{self.counter}, COALESCE(a.n, 0) FROM {table} t"
            f" LEFT JOIN (SELECT {self.fk}, {self._count()} AS n FROM {rows}"
            f" WHERE {self.fk} > %s AND {self.fk} <= %s GROUP BY {self.fk}) a ON a.{self.fk} = t.id"
            f" WHERE t.id > %s AND t.id <= %s AND t.{self.counter} <> COALESCE(a.n, 0)"
        )
        return sql, [*self.params, lo, hi, lo, hi]

    def repair_sql(self, lo: int, hi: int, *, lock: bool, ids: list[int] | None = None) -> tuple[str, list]:
        """One UPDATE of the drifted rows with ``lo < id <= hi`` (and among ``ids``, if given: a few
        drifted rows are then all it reads), from a subquery: one lookup in the ``fk`` index per
        row. With ``lock``, it first locks them highest id first: a comment before its parent, the
        order in which the services lock, so that it cannot deadlock with them."""
        table, rows = self.model._meta.db_table, self.rows._meta.db_table

        def actual(of: str) -> str:
            return f"(SELECT {self._count()} FROM {rows} r WHERE r.{self.fk} = {of}.id)"

        among = f" AND d.id IN ({', '.join(['%s'] * len(ids))})" if ids else ""
        sql = (
            f"UPDATE {table} SET {self.counter} = {actual(table)} WHERE id > %s AND id <= %s AND id IN ("
            f"SELECT d.id FROM {table} d"
            f" WHERE d.id > %s AND d.id <= %s{among} AND d.{self.counter} <> {actual('d')}"
            f"{' ORDER BY d.id DESC FOR UPDATE' if lock else ''})"
        )
        return sql, [*self.params, lo, hi, lo, hi, *(ids or []), *self.params]


_VISIBLE = ("status = %s AND NOT is_deleted", (Status.APPROVED.value,))  # querysets.visible_q(), in SQL
TALLIES = {
    "comment_count": Tally("comment counts", Article, "comment_count", Comment, "article_id", *_VISIBLE),
    "reply_count": Tally("reply counts", Comment, "reply_count", Comment, "parent_id", *_VISIBLE),
    "like_count": Tally("like counts", Comment, "like_count", Like, "comment_id"),
    "open_flag_count": Tally("flag counts", Comment, "open_flag_count", Flag, "comment_id", "resolved_at IS NULL"),
}

Progress = Callable[[str, int, int], None]  # (label, rows just checked, rows in all)


def _fetch(sql: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _recount(tally: Tally, *, batch_size: int, progress: Progress | None) -> list[tuple[int, int, int]]:
    """Repair ``tally`` in batches of ``batch_size`` rows; returns (id, stored, actual) of each
    repaired row, as seen before the repair.

    Each batch is first checked without locks (one SELECT). Only a batch with drift opens a
    transaction: one UPDATE locks and rewrites its drifted rows; then, until a check finds no
    drift, the check and the UPDATE run again.

    Why a comment posted meanwhile is never lost: every service write that adds or removes a
    counted row updates the counter row in the same transaction, so it holds that row's lock
    until it commits. Once the repair holds the lock, no such write can commit, so a statement
    that starts after that (each statement reads what was committed when it started, under
    READ COMMITTED) counts exactly the rows of the locked counters; a write still in flight adds
    its +1 or -1 to the repaired value after the repair commits. The first UPDATE alone is not
    enough on PostgreSQL: its subquery reads the snapshot taken when the statement started, and
    after waiting for a row lock PostgreSQL re-checks only that row, so a comment committed while
    it waited would be counted out; the check that follows sees it, and the second UPDATE, which
    holds every lock it needs from the start, writes the exact count. On SQLite the transaction
    takes the database's write lock at BEGIN (``transaction_mode``: IMMEDIATE): one pass is exact;
    in DEFERRED mode a concurrent commit makes the repair fail with "database is locked" instead.
    """
    model = tally.model
    lock = connection.features.has_select_for_update
    total = model.objects.count()
    last = model.objects.aggregate(last=Max("pk"))["last"] or 0
    repaired, lo, done = [], 0, 0
    with _without_jit():
        while lo < last:
            nth = model.objects.filter(pk__gt=lo).order_by("pk").values_list("pk", flat=True)
            nth = nth[batch_size - 1:batch_size]
            hi = nth[0] if nth else last
            drifted = found = _fetch(*tally.drift_sql(lo, hi))
            if drifted:  # only then a transaction: on SQLite it takes the database's write lock
                with transaction.atomic(), connection.cursor() as cursor:
                    while found:
                        ids = [row[0] for row in found] if len(found) <= _FEW else None
                        cursor.execute(*tally.repair_sql(lo, hi, lock=lock, ids=ids))
                        found = _fetch(*tally.drift_sql(lo, hi))
                repaired += drifted
            checked = max(0, min(batch_size, total - done) if nth else total - done)
            done += checked
            if progress:
                progress(tally.label, checked, total)
            lo = hi
    return repaired


_FEW = 1_000  # drifted rows in a batch that the repair names by id (more: it reads the whole batch)


@contextmanager
def _without_jit():
    """PostgreSQL compiles a plan to machine code when its estimated cost is high, as a subquery
    per row makes it: tens of milliseconds per batch, more than the batch itself takes."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET jit = off")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET jit")


def recount_comments(*, batch_size: int = 10_000, progress: Progress | None = None) -> list[Drift]:
    """Recompute every article's ``comment_count`` and every comment's ``reply_count``.

    Returns the article counts that had drifted, by article id. Runs in batches of
    ``batch_size`` rows (one indexed GROUP BY each, so 10^6 comments take seconds) and calls
    ``progress(label, rows, total)`` after each batch. Locks only drifted rows, each batch in a
    transaction of its own; a comment posted meanwhile is not lost from the counts (see
    ``_recount``).
    """
    articles = _recount(TALLIES["comment_count"], batch_size=batch_size, progress=progress)
    replies = _recount(TALLIES["reply_count"], batch_size=batch_size, progress=progress)
    keys = dict(Article.objects.filter(pk__in=[row[0] for row in articles]).values_list("pk", "key"))
    _repaired_threads(set(keys.values()), comment_ids=[row[0] for row in replies], counts=bool(articles))
    return [Drift(keys[pk], stored, actual) for pk, stored, actual in sorted(articles) if pk in keys]


def _repaired_threads(article_keys: set[str], *, comment_ids: list[int], counts: bool) -> None:
    """Repaired counters are shown in threads and counts: move the versions of what changed."""
    if comment_ids:
        _threads_changed(Comment.objects.filter(pk__in=comment_ids))
    article_keys |= set(Article.objects.filter(comments__pk__in=comment_ids).values_list("key", flat=True))
    if article_keys or counts:
        versions.bump(article_keys, counts=counts)


def recount_likes_and_flags(*, batch_size: int = 10_000, progress: Progress | None = None) -> Counter:
    """Recompute ``like_count`` and ``open_flag_count`` from their rows; returns how many of each
    were repaired. Same batches, locks and guarantees as ``recount_comments``."""
    likes = _recount(TALLIES["like_count"], batch_size=batch_size, progress=progress)
    flags = _recount(TALLIES["open_flag_count"], batch_size=batch_size, progress=progress)
    _repaired_threads(set(), comment_ids=[row[0] for row in likes], counts=False)
    return Counter({"like_count": len(likes), "open_flag_count": len(flags)})
