"""Moderation policy as readers meet it: words, pre-moderation, bans, through services and pages."""

import unicodedata
from datetime import timedelta
from unittest import mock

import pytest
from django.core.cache import cache
from django.utils import timezone

from comments import moderation, services
from comments.exceptions import ReaderBanned, RejectedByModeration
from comments.models import BannedWord, Comment, ModerationLogEntry
from tests.admin_support import assert_counts_exact

Status = Comment.Status



# --- Banned and suspect words ---------------------------------------------------------------------

WORDS = {"armenian": ("վատ", "ՎԱՏ"), "cyrillic": ("дурак", "ДУРАК"), "latin": ("idiot", "IDIOT")}
LONGER = {"armenian": "վատություն", "cyrillic": "дураками", "latin": "idiotic"}


@pytest.mark.parametrize("script", WORDS)
def test_banned_word_rejects_in_any_case_and_nothing_is_saved(article, post, script):
    word, upper = WORDS[script]
    BannedWord.objects.create(word=word, action=BannedWord.Action.REJECT)
    for body in (f"Ты {word}!", f"{upper}, really.", f"«{upper.capitalize()}»"):
        with pytest.raises(RejectedByModeration):
            post(article, body)
    assert not Comment.objects.exists()
    assert_counts_exact(article)


@pytest.mark.parametrize("script", WORDS)
def test_suspect_word_sends_the_comment_to_the_queue(article, post, script):
    word, upper = WORDS[script]
    BannedWord.objects.create(word=upper, action=BannedWord.Action.HOLD)
    comment = post(article, f"Well, {word}.")
    assert comment.status == Status.PENDING
    assert list(Comment.objects.in_moderation()) == [comment]
    entry = comment.log_entries.get()
    assert (entry.action, entry.reason) == (ModerationLogEntry.Action.HOLD, f"suspect word: {upper}")
    assert_counts_exact(article)


@pytest.mark.parametrize("script", WORDS)
def test_a_word_inside_a_longer_word_does_not_match(article, post, script):
    BannedWord.objects.create(word=WORDS[script][0], action=BannedWord.Action.REJECT)
    assert post(article, f"About {LONGER[script]} and {LONGER[script].upper()}.").is_visible


def test_a_decomposed_accent_matches_the_composed_word(article, post):
    BannedWord.objects.create(word="café", action=BannedWord.Action.REJECT)
    with pytest.raises(RejectedByModeration):
        post(article, unicodedata.normalize("NFD", "Meet at the CAFÉ."))


def test_rejecting_word_wins_over_suspect_word(article, post):
    BannedWord.objects.create(word="bad", action=BannedWord.Action.HOLD)
    BannedWord.objects.create(word="worse", action=BannedWord.Action.REJECT)
    with pytest.raises(RejectedByModeration):
        post(article, "Bad and worse.")


def test_editing_in_a_suspect_word_sends_a_visible_comment_back_to_the_queue(article, post, reader):
    comment = post(article, "Harmless.")
    BannedWord.objects.create(word="дурак", action=BannedWord.Action.HOLD)
    services.edit_comment(comment=comment, editor=reader, body="Ты ДУРАК.")
    comment.refresh_from_db()
    assert comment.status == Status.PENDING
    assert_counts_exact(article)


def test_a_changed_word_list_takes_effect_at_once(article, post):
    assert post(article, "Such a scoundrel.").is_visible
    word = BannedWord.objects.create(word="scoundrel", action=BannedWord.Action.REJECT)
    with pytest.raises(RejectedByModeration):
        post(article, "Such a scoundrel.")
    word.action = BannedWord.Action.HOLD
    word.save()
    assert post(article, "Such a scoundrel.").status == Status.PENDING
    word.delete()
    assert post(article, "Such a scoundrel.").is_visible


def test_a_word_list_read_before_the_commit_is_forgotten_after_it(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        BannedWord.objects.create(word="scoundrel", action=BannedWord.Action.HOLD)
        cache.set(moderation.BANNED_WORDS_CACHE_KEY, "read-by-another-process-before-the-commit")
    assert cache.get(moderation.BANNED_WORDS_CACHE_KEY) is None


def test_the_word_list_is_compiled_once_not_for_every_comment(article, post, monkeypatch):
    monkeypatch.setattr(moderation, "_current", None)  # nothing compiled by an earlier test
    BannedWord.objects.create(word="scoundrel", action=BannedWord.Action.HOLD)
    with mock.patch.object(moderation, "_compile", wraps=moderation._compile) as compile_words:
        for n in range(3):
            post(article, f"Comment {n}.")
        assert compile_words.call_count == 1
        BannedWord.objects.create(word="rogue", action=BannedWord.Action.HOLD)
        assert post(article, "A rogue.").status == Status.PENDING
        assert compile_words.call_count == 2


def test_any_word_of_a_long_list_matches_whole_and_as_typed(article, post):
    BannedWord.objects.bulk_create(BannedWord(word=f"word{n}", action=BannedWord.Action.HOLD) for n in range(500))
    BannedWord.objects.create(word="c++", action=BannedWord.Action.HOLD)  # not a pattern: matched as typed
    for body, held in [("About WORD0.", True), ("About word499!", True), ("About word500.", False),
                       ("About word4990.", False), ("I write C++ daily.", True), ("I write c daily.", False)]:
        comment = post(article, body)
        assert (comment.status == Status.PENDING) is held, body
    assert Comment.objects.get(body="I write C++ daily.").log_entries.get().reason == "suspect word: c++"


# --- Pre-moderation -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("site", "article_rule", "reader_rule", "expected"),
    [
        (False, "default", "default", Status.APPROVED),  # the global default is off
        (True, "default", "default", Status.PENDING),
        (False, "on", "default", Status.PENDING),
        (True, "off", "default", Status.APPROVED),
        (False, "off", "always", Status.PENDING),
        (True, "on", "trusted", Status.APPROVED),
    ],
)
def test_premoderation_rules(settings, make_article, make_reader, site, article_rule, reader_rule, expected):
    settings.COMMENTS_PREMODERATE = site
    article = make_article()
    article.premoderation = article_rule
    author = make_reader(moderation=reader_rule)
    comment = services.post_comment(article=article, author=author, body="Hello.")
    assert comment.status == expected
    assert_counts_exact(article)


def test_a_readers_first_k_comments_are_premoderated(settings, article, reader, moderator):
    settings.COMMENTS_PREMODERATE_FIRST = 2
    for _ in range(2):
        comment = services.post_comment(article=article, author=reader, body="New here.")
        assert comment.status == Status.PENDING
        assert "first 2 comments" in comment.log_entries.get().reason
        services.approve_comment(comment=comment, moderator=moderator)
    assert services.post_comment(article=article, author=reader, body="Known now.").is_visible
    assert_counts_exact(article)


def test_premoderated_comment_shows_to_its_author_only(settings, client, article, reader, other_reader):
    settings.COMMENTS_PREMODERATE = True
    client.force_login(reader)
    response = client.post(f"/articles/{article.key}/comments/", {"body": "Waiting for a moderator."}, follow=True)
    page = response.content.decode()
    assert "awaiting moderation" in page and "Waiting for a moderator." in page
    assert "Awaiting moderation</span>" in page
    client.force_login(other_reader)
    assert "Waiting for a moderator." not in client.get(article.get_absolute_url()).content.decode()
    client.logout()
    assert "Waiting for a moderator." not in client.get(article.get_absolute_url()).content.decode()
    article.refresh_from_db()
    assert article.comment_count == 0


# --- Bans -------------------------------------------------------------------------------------------------


def test_banned_reader_posting_on_the_page_gets_the_message_and_nothing_is_saved(client, article, reader, moderator):
    services.ban_reader(reader=reader, moderator=moderator, reason="Insults")
    client.force_login(reader)
    response = client.post(f"/articles/{article.key}/comments/", {"body": "Let me post."})
    assert response.status_code == 403
    assert "You are banned from commenting. Reason: Insults" in response.content.decode()
    assert not Comment.objects.exists()


def test_suspended_reader_is_told_until_when(client, article, reader, moderator):
    until = timezone.now() + timedelta(days=2)
    services.ban_reader(reader=reader, moderator=moderator, reason="Cool off", until=until)
    client.force_login(reader)
    page = client.post(f"/articles/{article.key}/comments/", {"body": "Let me post."}).content.decode()
    assert f"suspended from commenting until {timezone.localtime(until):%d %B %Y, %H:%M}" in page
    assert not Comment.objects.exists()


def test_a_ban_without_end_outweighs_a_suspension(article, reader, moderator):
    services.ban_reader(reader=reader, moderator=moderator, reason="First", until=timezone.now() + timedelta(days=1))
    services.ban_reader(reader=reader, moderator=moderator, reason="For good")
    assert moderation.active_ban(reader).reason == "For good"
    with pytest.raises(ReaderBanned, match="You are banned"):
        services.post_comment(article=article, author=reader, body="Hello?")


def test_an_expired_suspension_lets_the_reader_post_again(article, reader, moderator):
    tomorrow = timezone.now() + timedelta(days=1)
    ban = services.ban_reader(reader=reader, moderator=moderator, reason="Short", until=tomorrow)
    type(ban).objects.filter(pk=ban.pk).update(until=timezone.now() - timedelta(minutes=1))
    assert services.post_comment(article=article, author=reader, body="Back.").is_visible
