"""Cached threads (comments.fragments): the first read after a change rebuilds only the thread
that changed, and never shows any thread as it was before a change."""

import functools
import inspect
import re

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from comments import services, versions
from comments.models import Comment

from .test_api_comments import thread_url

ROOTS_IN = re.compile(r'"root_id" IN \(([^)]*)\)')


@pytest.fixture
def threads(article, reader, other_reader, post, settings):
    """Three threads; the middle one has a reply below a reply, by another reader."""
    settings.COMMENTS_REPLIES_SHOWN = 2  # so a thread is cut and carries a replies link
    a = post(article, "Thread A")
    post(article, "A, first reply", parent=a)
    b = post(article, "Thread B")
    b1 = post(article, "B, a reply by Boris", parent=b, author=other_reader)
    b2 = post(article, "B, a reply to the reply", parent=b1)
    post(article, "B, a second reply", parent=b)
    post(article, "B, a third reply", parent=b)
    c = post(article, "Thread C")
    return {"a": a, "b": b, "b1": b1, "b2": b2, "c": c}


def public_page(article) -> bytes:
    response = Client().get(thread_url(article))
    assert response.status_code == 200
    return response.content


def built_without_cache(article, settings) -> bytes:
    settings.COMMENTS_READ_CACHE = False
    try:
        return public_page(article)
    finally:
        settings.COMMENTS_READ_CACHE = True


def test_a_page_of_cached_threads_is_byte_for_byte_the_page_built_whole(article, threads, settings):
    services.delete_comment(comment=threads["b1"], actor=threads["b1"].author)  # a tombstone with a reply
    first = public_page(article)  # builds and stores each thread
    assert first == built_without_cache(article, settings)
    body = first.decode()
    assert "more_replies" in body and '"status":"deleted"' in body  # the cut and the tombstone are in it


def test_after_a_change_only_the_changed_thread_is_built_again(article, threads, reader):
    public_page(article)
    services.like_comment(comment=threads["b2"], reader=reader)
    with CaptureQueriesContext(connection) as queries:
        page = public_page(article)
    rebuilt = [ids for query in queries for ids in ROOTS_IN.findall(query["sql"])]
    assert rebuilt == [str(threads["b"].pk)]
    b2 = next(reply for node in Client().get(thread_url(article)).json()["results"] if node["id"] == threads["b"].pk
              for reply in node["replies"][0]["replies"] if reply["id"] == threads["b2"].pk)
    assert b2["like_count"] == 1
    assert page == public_page(article)


def _reply_deep(w):
    services.post_comment(article=w["b"].article, author=w["b"].author, body="B, one more", parent=w["b2"])


def _edit(w):
    services.edit_comment(comment=w["b2"], editor=w["b2"].author, body="B, the reply to the reply, edited")


def _delete(w):
    services.delete_comment(comment=w["b1"], actor=w["b1"].author)


def _reject(w, moderator):
    services.reject_comment(comment=w["b2"], moderator=moderator)


def _like(w, reader):
    services.like_comment(comment=w["b1"], reader=reader)


def _unlike(w, reader):
    services.like_comment(comment=w["b1"], reader=reader)
    yield  # the page is read (and its threads cached) here
    services.unlike_comment(comment=w["b1"], reader=reader)


def _rename_author(w):
    services.set_reader_display_name(reader=w["b1"].author, display_name="Boris the Renamed")


def _repair_a_counter(w):
    Comment.objects.filter(pk=w["b1"].pk).update(like_count=7)  # drift, as a crash might leave it
    Comment.objects.filter(pk=w["b"].pk).update(thread_revision=99)  # so that the drift is read
    versions.bump([w["b"].article.key], counts=False)
    yield
    call_command("recount_comments", stdout=open("/dev/null", "w"))


def _delete_the_author(w):
    w["b1"].author.delete()  # an administrator removes the account: its comments go with it


def _edit_the_top_level_comment(w):
    services.edit_comment(comment=w["b"], editor=w["b"].author, body="Thread B, edited")


def _approve_a_hidden_top_level_comment(w, moderator):
    services.reject_comment(comment=w["b"], moderator=moderator)
    yield  # cached as a tombstone
    services.approve_comment(comment=w["b"], moderator=moderator)


CHANGES = [_reply_deep, _edit, _delete, _reject, _like, _unlike, _rename_author, _repair_a_counter,
           _delete_the_author, _edit_the_top_level_comment, _approve_a_hidden_top_level_comment]


@pytest.mark.parametrize("change", CHANGES, ids=[change.__name__.strip("_") for change in CHANGES])
def test_no_change_leaves_a_thread_as_it_was(article, threads, reader, moderator, settings, change):
    """A change given as a generator prepares until its ``yield``; the page read there is "before"."""
    arguments = {"reader": reader, "moderator": moderator}
    names = change.__code__.co_varnames[1:change.__code__.co_argcount]
    run = functools.partial(change, threads, **{name: arguments[name] for name in names})
    public_page(article)
    steps = run() if inspect.isgeneratorfunction(change) else None
    if steps is not None:
        next(steps)
    before = public_page(article)
    assert before == built_without_cache(article, settings)
    if steps is not None:
        next(steps, None)
    else:
        run()
    after = public_page(article)
    assert after != before
    assert after == built_without_cache(article, settings)
