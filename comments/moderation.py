"""Moderation policy: what status a new or edited comment gets, and when flags hide one.

Policy only: these functions read, decide and explain; ``services`` does the writing.
"""

import re
import unicodedata
import uuid
from dataclasses import dataclass

from django.contrib.auth.base_user import AbstractBaseUser as Reader
from django.core.cache import cache
from django.db import transaction
from django.db.models import F

from comments import conf, readers
from comments.models import Article, Ban, BannedWord, Comment, ReaderProfile

BANNED_WORDS_CACHE_KEY = "comments:banned-words:v2"  # the version of the list, see _matcher()


@dataclass(frozen=True)
class Decision:
    status: str  # "approved", "pending", or "rejected" (refused: nothing is saved)
    reason: str = ""

    @property
    def refused(self) -> bool:
        return self.status == Comment.Status.REJECTED


def active_ban(reader: Reader) -> Ban | None:
    """The ban that says most: a ban without end first, else the suspension that ends last.

    NULLs are placed explicitly: databases disagree on where they sort (SQLite puts them first).
    """
    return Ban.objects.filter(reader=reader).active().order_by(F("until").desc(nulls_first=True)).first()


BAN_CACHE_TTL = 60  # seconds a reader's ban (or its absence) is kept; bounds a missed forget_ban
_NO_BAN = "none"


def _ban_key(reader_id: int) -> str:
    return f"comments:ban:{reader_id}"


def current_ban(reader: Reader) -> Ban | None:
    """``active_ban``, kept in the shared cache: every post, edit, like and flag asks it, and
    bans change seldom. ``services`` forgets it whenever a ban is made or lifted; a suspension
    that ends meanwhile ends here too (``is_active`` is checked on every call)."""
    key = _ban_key(reader.pk)
    cached = cache.get(key)
    if cached is None:
        ban = active_ban(reader)
        cache.set(key, ban or _NO_BAN, BAN_CACHE_TTL)
    else:
        ban = None if cached == _NO_BAN else cached
    return ban if ban is not None and ban.is_active else None


def forget_ban(reader_id: int) -> None:
    """A ban of this reader was made or lifted: drop what ``current_ban`` kept (now and after the commit)."""
    cache.delete(_ban_key(reader_id))
    transaction.on_commit(lambda: cache.delete(_ban_key(reader_id)))


def banned_words() -> list[tuple[str, str]]:
    """(word, action) pairs of the current list (see ``_matcher``)."""
    return _matcher().words


def fold(text: str) -> str:
    """Case- and form-insensitive text: "ВАТ" is "ват", and a decomposed "é" is the composed one."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", text).casefold())


@dataclass(frozen=True)
class _Matcher:
    """The word list compiled: one pattern per action, and each folded word as it was entered."""

    words: list[tuple[str, str]]  # (word, action), as in the table
    patterns: tuple[tuple[str, re.Pattern], ...]  # (action, pattern), rejecting words first
    entered: dict[tuple[str, str], str]  # (action, folded word) -> the word as entered


def _compile(words: list[tuple[str, str]]) -> _Matcher:
    entered: dict[tuple[str, str], str] = {}
    for word, action in words:
        folded = fold(word.strip())
        if folded:  # an empty word would match everywhere and refuse every comment
            entered.setdefault((action, folded), word)
    patterns = []
    for action in (BannedWord.Action.REJECT, BannedWord.Action.HOLD):
        alternatives = sorted((w for a, w in entered if a == action), key=len, reverse=True)
        if alternatives:
            # \w in Python's re is Unicode-aware for str patterns, so whole-word matching works for
            # Armenian, Cyrillic and Latin alike; casefold() handles case in every script.
            alternation = "|".join(map(re.escape, alternatives))
            patterns.append((action, re.compile(rf"(?<!\w)(?:{alternation})(?!\w)")))
    return _Matcher(words, tuple(patterns), entered)


# The current word list compiled, per process, with the version it was read at: read and compiled
# once per version, not for every comment (a list of N words used to cost N searches of each).
# The shared cache holds only the version, a short string, so checking it costs one small read;
# ``signals`` deletes it when a word changes, and every process reads the new list at once.
_current: tuple[str, _Matcher] | None = None


def _matcher() -> _Matcher:
    global _current
    version = cache.get(BANNED_WORDS_CACHE_KEY)
    if version is None:
        cache.add(BANNED_WORDS_CACHE_KEY, uuid.uuid4().hex, 300)  # expires: also catches bulk edits
        version = cache.get(BANNED_WORDS_CACHE_KEY) or ""  # "" when the cache is down: read each time
    current = _current
    if current is None or not version or current[0] != version:
        words = list(BannedWord.objects.values_list("word", "action"))
        matcher = current[1] if current is not None and current[1].words == words else _compile(words)
        current = _current = (version, matcher)
    return current[1]


def matching_banned_word(text: str) -> tuple[str, str] | None:
    """A banned word in ``text`` and its action, or None: a rejecting word if there is one, else a
    suspect word; of several, the first in the text. One search per action, whatever the list's size."""
    matcher = _matcher()
    if not matcher.patterns:
        return None
    folded = fold(text)
    for action, pattern in matcher.patterns:
        found = pattern.search(folded)
        if found:
            return matcher.entered[(action, found.group())], action
    return None


def needs_premoderation(*, article: Article, author: Reader) -> str:
    """Why a new comment by ``author`` on ``article`` must wait for a moderator ('' if not).

    The most specific rule wins: the reader (always / trusted), then the article (on / off),
    then the site default and the "first K comments" rule.
    """
    rule = readers.profile_of(author).moderation
    if rule == ReaderProfile.Moderation.TRUSTED:
        return ""
    if rule == ReaderProfile.Moderation.ALWAYS:
        return "reader is pre-moderated"
    if article.premoderation == Article.Premoderation.OFF:
        return ""
    if article.premoderation == Article.Premoderation.ON:
        return "article is pre-moderated"
    if conf.premoderate():
        return "site is pre-moderated"
    first = conf.premoderate_first()
    if first and Comment.objects.filter(author=author, status=Comment.Status.APPROVED).count() < first:
        return f"reader's first {first} comments are pre-moderated"
    return ""


def decide_body(body: str) -> Decision | None:
    """What the banned and suspect words say about a body: refuse, hold, or nothing (None)."""
    match = matching_banned_word(body)
    if match is None:
        return None
    word, action = match
    if action == BannedWord.Action.REJECT:
        return Decision(Comment.Status.REJECTED, f"banned word: {word}")
    return Decision(Comment.Status.PENDING, f"suspect word: {word}")


def decide_new_comment(*, article: Article, author: Reader, body: str) -> Decision:
    """Status for a new comment: the words first, then the pre-moderation rules."""
    decision = decide_body(body)
    if decision is not None:
        return decision
    reason = needs_premoderation(article=article, author=author)
    if reason:
        return Decision(Comment.Status.PENDING, reason)
    return Decision(Comment.Status.APPROVED)


def should_hide_for_flags(comment: Comment) -> bool:
    """Enough readers flagged this visible comment that it leaves the page until reviewed."""
    return comment.is_visible and comment.open_flag_count >= conf.flags_to_hide()
