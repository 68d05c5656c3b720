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


STORM_ROUNDS = 6


def thread_storm(database_env: dict[str, str], start_at: float, role: str, article_pk: int, root_pk: int,
                 child_pk: int, actor_pk: int, targets: list[int]) -> list[str]:
    """One process's share of a busy thread, begun at ``start_at`` (time.time()) with the others:
    ``reply-root`` / ``reply-child`` post replies; ``delete`` posts replies under the child and
    deletes them; ``moderate`` rejects and approves ``targets`` in turn. Returns what went wrong."""
    import time

    os.environ.update(database_env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "comments_project.settings"
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection

    from comments import services
    from comments.models import Article, Comment

    services.ATTEMPTS = 1  # no second chance: a deadlock between these writes must not happen at all
    errors = []
    try:
        article, actor = Article.objects.get(pk=article_pk), get_user_model().objects.get(pk=actor_pk)
        time.sleep(max(0.0, start_at - time.time()))
        for n in range(STORM_ROUNDS):
            try:
                if role in ("reply-root", "reply-child", "delete"):
                    parent = root_pk if role == "reply-root" else child_pk
                    reply = services.post_comment(article=article, author=actor, body=f"{role} {n}", parent=parent)
                    if role == "delete":
                        services.delete_comment(comment=reply, actor=actor)
                else:
                    for pk in targets:
                        comment = Comment.objects.get(pk=pk)
                        change = services.reject_comment if n % 2 == 0 else services.approve_comment
                        change(comment=comment, moderator=actor)
            except Exception as error:  # noqa: BLE001 - reported to the test
                errors.append(f"{role}: {type(error).__name__}: {error}")
    finally:
        connection.close()
    return errors
