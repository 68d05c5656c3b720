"""Time ``manage.py recount_comments`` on a generated database of N comments.

    SQLITE_PATH=/tmp/recount.sqlite3 python -m benchmarks.recount --comments 1000000
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/recount_bench python -m benchmarks.recount

Builds the data in SQL (a recursive CTE: about 20 s for 10^6 comments) into an empty, migrated
database, with every counter at 0 (everything drifted), then times the command three times: the
repair of everything, a run over an exact database, and a run with a few drifted counters.
Comments come in blocks of 100 per article: 40 top-level comments, 60 replies to them; 1 in 10
is pending and 1 in 25 deleted; half as many likes as comments, 1 flag per 20 comments (half of
them resolved).
"""

import argparse
import os
import time

import django


def build(n: int) -> None:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.db import connection, transaction
    from django.utils import timezone

    from comments.models import Article, Comment, Flag, Like

    reader_model = get_user_model()

    if Comment.objects.exists():
        raise SystemExit("The database already holds comments: give an empty, migrated one.")
    now = timezone.now()
    readers = 1000
    with transaction.atomic():
        password = make_password(None)
        reader_model.objects.bulk_create(
            reader_model(username=f"bench{i}", email=f"bench{i}@example.com", password=password) for i in range(readers)
        )
        first = reader_model.objects.order_by("id").values_list("id", flat=True).first()
        seq = "WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < %s) "
        a, c, lk, fl = (m._meta.db_table for m in (Article, Comment, Like, Flag))
        with connection.cursor() as cursor:
            cursor.execute(
                seq + f"INSERT INTO {a} (id, key, title, url, published_at, body, comments_open, premoderation,"
                " comment_count, created_at, updated_at)"
                " SELECT n, 'bench-' || n, 'Article ' || n, '', %s, '', %s, 'default', 0, %s, %s FROM seq",
                [(n + 99) // 100, now, True, now, now],
            )
            # id n belongs to article (n - 1) / 100 + 1; the first 40 of each block are top-level,
            # the others reply to one of them (a lower id in the same article).
            cursor.execute(
                seq + f"INSERT INTO {c} (id, article_id, author_id, parent_id, root_id, in_reply_to_id, depth,"
                " body, body_html, status, is_deleted, deleted_at, created_at, edited_at, like_count, reply_count,"
                " open_flag_count, thread_revision)"
                " SELECT n, (n - 1) / 100 + 1, %s + n %% %s,"
                " CASE WHEN (n - 1) %% 100 < 40 THEN NULL ELSE n - (n - 1) %% 100 + (n - 1) %% 40 END,"
                " CASE WHEN (n - 1) %% 100 < 40 THEN NULL ELSE n - (n - 1) %% 100 + (n - 1) %% 40 END,"
                " CASE WHEN (n - 1) %% 100 < 40 THEN NULL ELSE n - (n - 1) %% 100 + (n - 1) %% 40 END,"
                " CASE WHEN (n - 1) %% 100 < 40 THEN 0 ELSE 1 END,"
                " 'Comment ' || n, '<p>Comment ' || n || '</p>',"
                " CASE WHEN n %% 10 = 3 THEN 'pending' ELSE 'approved' END,"
                " n %% 25 = 7, NULL, %s, NULL, 0, 0, 0, 0 FROM seq",
                [n, first, readers, now],
            )
            # Likes and flags: 3k (or 13k) modulo n picks the comment, the quotient the reader,
            # so no (comment, reader) pair repeats.
            cursor.execute(
                seq + f"INSERT INTO {lk} (comment_id, reader_id, created_at)"
                " SELECT (3 * n) %% %s + 1, %s + (3 * n) / %s, %s FROM seq",
                [n // 2, n, first, n, now],
            )
            cursor.execute(
                seq + f"INSERT INTO {fl} (comment_id, reader_id, reason, note, created_at, resolved_at)"
                " SELECT (13 * n) %% %s + 1, %s + (13 * n) / %s, 'spam', '', %s,"
                " CASE WHEN n %% 2 = 0 THEN %s ELSE NULL END FROM seq",
                [n // 20, n, first, n, now, now],
            )
            if connection.vendor == "postgresql":
                for table in (a, c):
                    cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), MAX(id)) FROM {table}")
                cursor.execute(f"ANALYZE {a}; ANALYZE {c}; ANALYZE {lk}; ANALYZE {fl}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--comments", type=int, default=1_000_000)
    parser.add_argument("--skip-build", action="store_true", help="time the command on the data already there")
    parser.add_argument("--build-only", action="store_true", help="build the data, time nothing")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "comments_project.settings")
    django.setup()
    from django.core.management import call_command

    if not args.skip_build:
        call_command("migrate", verbosity=0)
        started = time.perf_counter()
        build(args.comments)
        print(f"built {args.comments:,} comments in {time.perf_counter() - started:.1f} s")
    if args.build_only:
        return
    for label in ("repair of every counter", "exact database", "1,100 drifted counters"):
        if label.startswith("1,100"):
            drift_a_few()
        started = time.perf_counter()
        call_command("recount_comments", verbosity=0, stdout=open(os.devnull, "w"))
        print(f"recount_comments, {label}: {time.perf_counter() - started:.1f} s")


def drift_a_few() -> None:
    """1 in 1,000 comments gets a wrong like count, 1 in 100 articles a wrong comment count."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("UPDATE comments_comment SET like_count = like_count + 1 WHERE id % 1000 = 0")
        cursor.execute("UPDATE comments_article SET comment_count = comment_count + 1 WHERE id % 100 = 0")


if __name__ == "__main__":
    main()
