"""Moderation policy: what status a new or edited comment gets, and when flags hide one.

Policy only: these functions read, decide and explain; ``services`` does the writing.
"""

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from django.core.cache import cache
from django.db.models import F

from comments import conf
from comments.models import Article, Ban, BannedWord, Comment, Reader

BANNED_WORDS_CACHE_KEY = "comments:banned-words:v1"


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


def banned_words() -> list[tuple[str, str]]:
    """(word, action) pairs, cached; ``services`` clears the cache when words change."""
    words = cache.get(BANNED_WORDS_CACHE_KEY)
    if words is None:
        words = list(BannedWord.objects.values_list("word", "action"))
        cache.set(BANNED_WORDS_CACHE_KEY, words, 300)
    return words


def fold(text: str) -> str:
    """Case- and form-insensitive text: "ВАТ" is "ват", and a decomposed "é" is the composed one."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", text).casefold())


@lru_cache(maxsize=4096)
def _word_pattern(word: str) -> re.Pattern:
    # \w in Python's re is Unicode-aware for str patterns, so whole-word matching works for
    # Armenian, Cyrillic and Latin alike; casefold() handles case in every script.
    return re.compile(rf"(?<!\w){re.escape(fold(word.strip()))}(?!\w)")


def matching_banned_word(text: str) -> tuple[str, str] | None:
    """The first banned word in ``text`` (rejecting words first), or None."""
    folded = fold(text)
    # An empty word would match everywhere and refuse every comment; it is skipped.
    matches = [(w, a) for w, a in banned_words() if w.strip() and _word_pattern(w).search(folded)]
    if not matches:
        return None
    matches.sort(key=lambda wa: wa[1] != BannedWord.Action.REJECT)
    return matches[0]


def needs_premoderation(*, article: Article, author: Reader) -> str:
    """Why a new comment by ``author`` on ``article`` must wait for a moderator ('' if not).

    The most specific rule wins: the reader (always / trusted), then the article (on / off),
    then the site default and the "first K comments" rule.
    """
    if author.moderation == Reader.Moderation.TRUSTED:
        return ""
    if author.moderation == Reader.Moderation.ALWAYS:
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
