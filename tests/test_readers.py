"""Readers are the site's own users (here plain ``auth.User``): profiles, public names, deletion.

The whole suite runs on ``auth.User`` (the stand-alone project's model); these tests pin what is
ours about a reader: the profile made when first needed, the public-name rule, that the email and
the username are never shown, and that deleting an account outright keeps counts exact and live.
"""

from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from comments import live, payloads, readers, services
from comments.models import Article, ReaderProfile
from tests.counts import assert_counts_exact

from .test_api_comments import thread_url

CALLS: list[int] = []


def name_by_initial(user) -> str:
    """A custom rule (COMMENTS_PUBLIC_NAME) as a site might write one: counts its calls."""
    CALLS.append(user.pk)
    return f"{user.get_username()[0].upper()}."


@pytest.fixture
def bare_user(db):
    """A site account that never met the comments app: no profile, a telling username and email."""
    return get_user_model().objects.create_user(username="secret-login", email="private@example.com",
                                                password="correct horse battery")


def public_nodes(article) -> list[dict]:
    return list(payloads._walk(Client().get(thread_url(article)).json()["results"]))


# --- The profile, created when first needed ----------------------------------------------------


def test_the_suite_runs_on_django_auth_user():
    assert get_user_model()._meta.label == "auth.User"


def test_reading_a_profile_never_creates_one(bare_user):
    profile = readers.profile_of(bare_user)
    assert (profile.display_name, profile.moderation) == ("", ReaderProfile.Moderation.DEFAULT)
    assert readers.public_name(bare_user) == f"Reader {bare_user.pk}"
    assert not ReaderProfile.objects.exists()


def test_signed_in_pages_and_the_widget_session_create_no_profile(bare_user, article, post):
    post(article, "Someone else's comment.")
    client = Client()
    client.force_login(bare_user)
    assert client.get(article.get_absolute_url()).status_code == 200
    assert client.get(thread_url(article)).status_code == 200
    assert client.get("/widget/session/").json()["reader"] == {"id": bare_user.pk,
                                                               "display_name": f"Reader {bare_user.pk}"}
    assert not ReaderProfile.objects.filter(user=bare_user).exists()


def test_the_first_comment_creates_the_profile_once(bare_user, article, post):
    post(article, "First.", author=bare_user)
    post(article, "Second.", author=bare_user)
    assert ReaderProfile.objects.filter(user=bare_user).count() == 1


def test_reader_profile_is_made_once_and_then_read(bare_user):
    made = services.reader_profile(bare_user)
    fresh = get_user_model().objects.get(pk=bare_user.pk)
    assert services.reader_profile(fresh) == made
    assert ReaderProfile.objects.count() == 1


def test_setting_a_name_or_a_rule_creates_the_profile(bare_user, make_reader):
    services.set_reader_moderation(reader=bare_user, moderator=None, moderation="always")
    assert readers.profile_of(get_user_model().objects.get(pk=bare_user.pk)).moderation == "always"
    other = get_user_model().objects.create_user(username="other", password="x")
    services.set_reader_display_name(reader=other, display_name="  Other  ")
    assert readers.public_name(get_user_model().objects.get(pk=other.pk)) == "Other"


# --- The public name ----------------------------------------------------------------------------


def test_default_public_name_is_the_display_name(make_reader, article, post):
    reader = make_reader("Ani")
    post(article, "Hello.", author=reader)
    assert readers.public_name(reader) == "Ani"
    assert [node["author"]["display_name"] for node in public_nodes(article)] == ["Ani"]


def test_without_a_display_name_the_name_is_neutral_and_never_the_email_or_username(bare_user, article, post):
    comment = post(article, "Who am I?", author=bare_user)
    post(article, "A reply.", author=bare_user, parent=comment)
    expected = f"Reader {bare_user.pk}"
    assert [node["author"]["display_name"] for node in public_nodes(article)] == [expected, expected]
    shown = [
        Client().get(thread_url(article)).content.decode(),
        Client().get(article.get_absolute_url()).content.decode(),
        Client().get(f"/api/v1/comments/{comment.pk}/").content.decode(),
    ]
    for text in shown:
        assert expected in text
        assert "private@example.com" not in text and "secret-login" not in text


def test_the_signed_in_reader_is_shown_by_public_name_too(bare_user, article):
    client = Client()
    client.force_login(bare_user)
    page = client.get(article.get_absolute_url()).content.decode()
    assert f"Reader {bare_user.pk}" in page
    assert "private@example.com" not in page and "secret-login" not in page


def test_a_custom_rule_names_each_author_once_per_thread(settings, make_reader, article, post):
    settings.COMMENTS_PUBLIC_NAME = "tests.test_readers.name_by_initial"
    ani, boris = make_reader("Ani"), make_reader("Boris")
    top = post(article, "1", author=ani)
    for n in range(5):
        post(article, f"reply {n}", author=boris if n % 2 else ani, parent=top)
    CALLS.clear()
    nodes = public_nodes(article)
    assert {node["author"]["display_name"] for node in nodes} == {"R."}  # usernames "readerN"
    assert sorted(CALLS) == sorted([ani.pk, boris.pk])  # once per distinct author, not per comment
    CALLS.clear()
    page = Client().get(article.get_absolute_url()).content.decode()
    assert "R." in page and sorted(CALLS) == sorted([ani.pk, boris.pk])


def test_a_custom_rule_that_returns_nothing_falls_back_to_the_neutral_name(settings, reader):
    settings.COMMENTS_PUBLIC_NAME = lambda user: ""
    assert readers.public_name(reader) == f"Reader {reader.pk}"


def test_renaming_shows_on_the_next_read_of_a_cached_thread(reader, article, post):
    post(article, "Hello.")
    assert public_nodes(article)[0]["author"]["display_name"] == "Ani"
    services.set_reader_display_name(reader=reader, display_name="Anahit")
    assert public_nodes(article)[0]["author"]["display_name"] == "Anahit"


# --- Deleting an account outright ----------------------------------------------------------------


def test_deleting_a_reader_keeps_counts_exact_and_publishes_removals_and_the_count(
    article, make_article, post, reader, other_reader, make_reader, django_capture_on_commit_callbacks
):
    second = make_article()
    top = post(article, "Stays.", author=other_reader)
    gone_reply = post(article, "Goes: a reply.", parent=top)
    gone_top = post(article, "Goes: top-level.")
    answer_to_gone = post(article, "Goes with its parent.", parent=gone_top, author=other_reader)
    elsewhere = post(second, "Goes too, elsewhere.")
    services.like_comment(comment=top, reader=reader)
    services.flag_comment(comment=top, reader=reader, reason="other")
    held = post(article, "Never counted.")
    services.reject_comment(comment=held, moderator=make_reader())
    broker = mock.Mock()
    with mock.patch.object(live, "broker", return_value=broker), django_capture_on_commit_callbacks(execute=True):
        reader.delete()  # an administrator removes the account; its comments cascade

    assert_counts_exact(article, second)
    article.refresh_from_db()
    second.refresh_from_db()
    assert (article.comment_count, second.comment_count) == (1, 0)
    published = {call.args[0]: (call.args[1], call.kwargs["count_of"]) for call in broker.publish.call_args_list}
    assert len(broker.publish.call_args_list) == 2  # one publish per article, whatever the number removed
    changes, count_of = published[article.key]
    assert count_of == article.pk
    assert sorted(data["id"] for kind, data in changes if kind == "remove") == sorted(
        [gone_reply.pk, gone_top.pk, answer_to_gone.pk])
    assert published[second.key] == ([("remove", {"id": elsewhere.pk})], second.pk)


def test_deleting_an_article_publishes_its_removals_once(article, post, reader,
                                                          django_capture_on_commit_callbacks):
    post(article, "One.")
    post(article, "Two.")
    broker = mock.Mock()
    with mock.patch.object(live, "broker", return_value=broker), django_capture_on_commit_callbacks(execute=True):
        Article.objects.filter(pk=article.pk).delete()
    assert broker.publish.call_count == 1
    assert broker.publish.call_args.args[0] == article.key


def test_a_rolled_back_deletion_publishes_nothing_and_moves_nothing(article, post, reader,
                                                                    django_capture_on_commit_callbacks):
    from django.db import transaction

    post(article, "Stays after all.")
    reader_pk = reader.pk
    broker = mock.Mock()
    with mock.patch.object(live, "broker", return_value=broker), django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            reader.delete()
            transaction.set_rollback(True)
        post(article, "A later comment.", author=get_user_model().objects.get(pk=reader_pk))
    assert_counts_exact(article)
    assert [call.args[1][0][0] for call in broker.publish.call_args_list] == ["comment"]
