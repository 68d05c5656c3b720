"""The moderation queue and the admin index banner: what waits, oldest first, cleared in bulk."""

import re
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone
from django.utils.html import strip_tags

from comments import services
from comments.exceptions import ReaderBanned
from comments.models import Comment, Flag, ModerationLogEntry
from tests.admin_support import (
    QUEUE_URL,
    assert_counts_exact,
    run_action,
)

Status = Comment.Status



def queue_ids(client, **params) -> list[int]:
    return [c.pk for c in client.get(QUEUE_URL, params).context["cl"].result_list]


def waiting_on_index(client) -> int:
    return int(re.search(r'data-waiting="(\d+)"', client.get("/admin/").content.decode()).group(1))


@pytest.fixture
def queue(article, post, make_reader, moderator):
    """A held comment, a flagged one, a clean one and a rejected one, created oldest first."""
    flaggers = [make_reader() for _ in range(2)]
    flagged = post(article, "Flagged but still shown.")
    held = post(article, "Held for review.", author=make_reader(moderation="always"))
    clean = post(article, "Nothing wrong here.")
    rejected = post(article, "Already dealt with.")
    services.reject_comment(comment=rejected, moderator=moderator)
    for flagger in flaggers:
        services.flag_comment(comment=flagged, reader=flagger, reason="abuse")
    now = timezone.now()
    for age, comment in enumerate([clean, held, flagged, rejected]):
        Comment.objects.filter(pk=comment.pk).update(created_at=now - timedelta(hours=age + 1))
    return {"flagged": flagged, "held": held, "clean": clean, "rejected": rejected}


def test_queue_lists_pending_and_flagged_oldest_first(desk, queue):
    assert queue_ids(desk) == [queue["flagged"].pk, queue["held"].pk]
    page = desk.get(QUEUE_URL).content.decode()
    assert "held" in page and "flagged" in page


@pytest.mark.parametrize(("waiting", "expected"), [("pending", "held"), ("flagged", "flagged")])
def test_queue_filter_by_why_it_waits(desk, queue, waiting, expected):
    assert queue_ids(desk, waiting=waiting) == [queue[expected].pk]


def test_index_shows_how_many_wait_and_links_to_the_queue(desk, queue):
    page = desk.get("/admin/").content.decode()
    banner = re.search(r'<div class="module moderation-banner".*?</div>', page, re.S).group(0)
    text = " ".join(strip_tags(banner).split())
    assert text == "2 comments wait in the moderation queue 1 pending · 1 flagged · oldest waiting for 3 hours"
    assert f'href="{QUEUE_URL}"' in banner


def test_index_says_so_when_the_queue_is_empty(desk, article, post):
    post(article, "Fine.")
    assert waiting_on_index(desk) == 0
    assert "The moderation queue is empty." in desk.get("/admin/").content.decode()


def test_clearing_the_queue_with_bulk_actions(desk, queue, article):
    assert waiting_on_index(desk) == 2
    run_action(desk, QUEUE_URL, "approve", [queue["flagged"], queue["held"]])
    assert queue_ids(desk) == []
    assert waiting_on_index(desk) == 0
    assert not Flag.objects.open().exists()
    assert Comment.objects.get(pk=queue["held"].pk).status == Status.APPROVED
    assert_counts_exact(article)


def test_queue_actions_only_touch_comments_in_the_queue(desk, queue):
    run_action(desk, QUEUE_URL, "mark_spam", [queue["clean"], queue["held"]])
    assert Comment.objects.get(pk=queue["clean"].pk).status == Status.APPROVED
    assert Comment.objects.get(pk=queue["held"].pk).status == Status.SPAM


@override_settings(COMMENTS_FLAGS_TO_HIDE=2)
def test_reaching_n_flags_through_the_page_hides_the_comment_and_queues_it(client, article, post, make_reader):
    comment = post(article, "Provocative.")
    for flagger in [make_reader(), make_reader()]:
        client.force_login(flagger)
        assert client.post(f"/comments/{comment.pk}/flag/", {"reason": "abuse"}).status_code == 302
    comment.refresh_from_db()
    assert (comment.status, comment.open_flag_count) == (Status.PENDING, 2)
    entry = comment.log_entries.get()
    assert (entry.action, entry.actor, entry.status_before) == (ModerationLogEntry.Action.AUTO_HIDE, None, "approved")
    assert_counts_exact(article)
    client.force_login(make_reader())
    assert "Provocative." not in client.get(article.get_absolute_url()).content.decode()
    assert list(Comment.objects.in_moderation()) == [comment]


def test_default_is_three_flags_to_hide(desk, article, post, make_reader):
    comment = post(article, "Provocative.")
    for n, flagger in enumerate([make_reader() for _ in range(3)], start=1):
        services.flag_comment(comment=comment, reader=flagger, reason="spam")
        comment.refresh_from_db()
        assert comment.is_visible == (n < 3)
    assert queue_ids(desk) == [comment.pk]
    run_action(desk, QUEUE_URL, "approve", [comment])
    comment.refresh_from_db()
    assert comment.is_visible and comment.open_flag_count == 0
    assert_counts_exact(article)


def test_queue_article_filter_shows_how_many_wait_per_article(desk, queue, make_article, post, make_reader):
    other = make_article(title="Budget vote")
    for _ in range(3):
        post(other, "Hold me.", author=make_reader(moderation="always"))
    response = desk.get(QUEUE_URL)
    choices = [c["display"] for c in response.context["cl"].filter_specs[1].choices(response.context["cl"])]
    assert choices == ["All", "Budget vote (3)", "Ministers meet in Moscow (2)"]
    assert len(queue_ids(desk, article__id__exact=other.pk)) == 3


def test_a_moderators_shift(client, desk_moderator, article, post, make_reader):
    """Sign in, see what waits, clear the queue in bulk, ban the abusive reader: the whole story."""
    troll, regular = make_reader("Troll"), make_reader("Regular", moderation="always")
    flaggers = [make_reader() for _ in range(3)]
    abuse = [post(article, f"Abuse number {n}.", author=troll) for n in range(2)]
    for comment in abuse:
        for flagger in flaggers:
            services.flag_comment(comment=comment, reader=flagger, reason="abuse")
    fine = post(article, "A thoughtful point.", author=regular)

    client.force_login(desk_moderator)
    assert waiting_on_index(client) == 3
    assert set(queue_ids(client)) == {fine.pk, *(c.pk for c in abuse)}

    run_action(client, QUEUE_URL, "approve", [fine])
    response = run_action(client, QUEUE_URL, "ban_author", abuse, apply="1", reason="Abuse", hide_comments="on")
    assert response.status_code == 302

    assert waiting_on_index(client) == 0
    assert [c.status for c in Comment.objects.filter(author=troll)] == ["rejected", "rejected"]
    with pytest.raises(ReaderBanned):
        services.post_comment(article=article, author=troll, body="I'm back.")
    assert_counts_exact(article)
    article.refresh_from_db()
    assert article.comment_count == 1
