"""A few readers posting at the same moment: every comment saved, the count exact, no lock errors."""

import threading

import pytest
from django.db import connection

from comments import services
from comments.models import Article, Comment

POSTERS = 6
POSTS_EACH = 5


@pytest.mark.django_db(transaction=True)
def test_concurrent_posters_lose_nothing(make_reader, make_article):
    article = make_article()
    readers = [make_reader() for _ in range(POSTERS)]
    errors: list[BaseException] = []
    start = threading.Barrier(POSTERS)

    def write(reader):
        try:
            start.wait()
            for n in range(POSTS_EACH):
                services.post_comment(article=article, author=reader, body=f"{reader.pk}: {n}")
        except BaseException as error:  # noqa: BLE001 - collected and asserted below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(r,)) for r in readers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []  # in particular no "database is locked"
    assert Comment.objects.filter(article=article).count() == POSTERS * POSTS_EACH
    assert Article.objects.get(pk=article.pk).comment_count == POSTERS * POSTS_EACH
