"""Concurrent posting and deleting: the count ends exact, no comment is lost, nothing is locked.

Threads share this process; the process variant runs the same work in fresh interpreters
against the same test database, as several server processes would.
"""

import os
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

import pytest
from django.db import connection

from comments.models import Article, Comment
from tests.workers import POSTS_PER_WORKER, post_and_delete, run_at_once, run_in_child

pytestmark = pytest.mark.django_db(transaction=True)

def assert_exact(article: Article, *, workers: int) -> None:
    article.refresh_from_db()
    visible = Comment.objects.for_article(article).visible().count()
    assert Comment.objects.for_article(article).count() == workers * POSTS_PER_WORKER  # none lost
    assert visible == workers * POSTS_PER_WORKER // 2
    assert article.comment_count == visible
    assert not Comment.objects.for_article(article).exclude(reply_count=0).exists()


def test_threads_posting_and_deleting_at_once_leave_an_exact_count(article, make_reader):
    readers = [make_reader() for _ in range(4)]
    errors = run_at_once(lambda reader: post_and_delete(article.pk, reader.pk), readers)
    assert errors == []
    assert_exact(article, workers=len(readers))


def _test_database_env() -> dict[str, str]:
    name = connection.settings_dict["NAME"]
    if connection.vendor == "sqlite":
        return {"SQLITE_PATH": str(name)}
    url = os.environ["DATABASE_URL"]
    return {"DATABASE_URL": url.rsplit("/", 1)[0] + "/" + name}


def test_processes_posting_and_deleting_at_once_leave_an_exact_count(article, make_reader):
    readers = [make_reader() for _ in range(3)]
    with ProcessPoolExecutor(len(readers), mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(run_in_child, _test_database_env(), article.pk, reader.pk) for reader in readers]
        for future in futures:
            future.result(timeout=120)
    assert_exact(article, workers=len(readers))
