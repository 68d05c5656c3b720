"""Work done by concurrency tests in threads and in child processes.

Nothing Django is imported at module level: a spawned child imports this module before it has
configured Django, then ``run_in_child`` sets it up against the parent's test database.
"""

import os

POSTS_PER_WORKER = 8


def run_at_once(work, items) -> list[BaseException]:
    """Run ``work(item)`` in one thread per item, released together; returns what they raised.

    Each thread closes its own database connection, as a request handler would.
    """
    import threading

    from django.db import connection

    errors: list[BaseException] = []
    start = threading.Barrier(len(items))

    def run(item):
        try:
            start.wait()
            work(item)
        except BaseException as error:  # noqa: BLE001 - returned to the test, which asserts on it
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(item,)) for item in items]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def post_and_delete(article_pk: int, reader_pk: int) -> None:
    """Post top-level comments and replies, then delete the replies, all through services."""
    from django.contrib.auth import get_user_model

    from comments import services
    from comments.models import Article

    article, reader = Article.objects.get(pk=article_pk), get_user_model().objects.get(pk=reader_pk)
    posted = []
    for n in range(POSTS_PER_WORKER):
        parent = posted[-1] if n % 2 else None
        posted.append(services.post_comment(article=article, author=reader, body=f"Comment {n}.", parent=parent))
    for comment in posted[1::2]:
        services.delete_comment(comment=comment, actor=reader)


def run_in_child(database_env: dict[str, str], article_pk: int, reader_pk: int) -> None:
    """Runs in a fresh interpreter: point Django at the test database, then do the same work."""
    os.environ.update(database_env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "comments_project.settings"
    import django

    django.setup()
    from django.db import connection

    try:
        post_and_delete(article_pk, reader_pk)
    finally:
        connection.close()
