"""recount_comments: finds drifted counters, reports them, and repairs them; in batches, with a
progress bar, through indexes (never a scan per row), and without losing a comment posted meanwhile."""

import threading
import time
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from benchmarks.recount import build
from comments import services
from comments.models import Article, Comment, Flag
from tests.admin_support import assert_counts_exact


def recount(*args, **kwargs) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("recount_comments", *args, stdout=out, stderr=err, **kwargs)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def thread(article, post, reader, other_reader, make_reader):
    """A root with a visible, a pending and a deleted reply, two likes, an open and a resolved flag:
    built through the services, so every counter starts exact."""
    root = post(article, "Root.", author=other_reader)
    post(article, "Reply.", parent=root)
    services.delete_comment(comment=post(article, "Deleted reply.", parent=root), actor=reader)
    services.set_reader_moderation(reader=reader, moderator=other_reader, moderation="always")
    post(article, "Held.", parent=root)
    services.like_comment(comment=root, reader=reader)
    services.like_comment(comment=root, reader=make_reader())
    services.flag_comment(comment=root, reader=reader, reason=Flag.Reason.SPAM)
    Flag.objects.create(comment=root, reader=make_reader(), reason=Flag.Reason.SPAM, resolved_at=timezone.now())
    return root


@pytest.mark.parametrize("batch_size", [1, 2, 10_000])
@pytest.mark.parametrize("few", [0, 1_000], ids=["whole batches", "drifted rows by id"])
def test_every_drifted_counter_is_repaired(article, make_article, thread, batch_size, few, monkeypatch):
    monkeypatch.setattr(services, "_FEW", few)
    other = make_article("untouched")
    Article.objects.filter(pk=article.pk).update(comment_count=7)  # drift, as a bad manual edit would leave
    Comment.objects.filter(pk=thread.pk).update(reply_count=5, like_count=0, open_flag_count=3)
    Comment.objects.exclude(pk=thread.pk).update(reply_count=2, like_count=1, open_flag_count=1)

    out, _ = recount("--batch-size", batch_size)

    assert f"article {article.key}: stored 7, actual 2 (repaired)" in out
    assert other.key not in out
    assert "1 article count(s) repaired; 4 like count(s), 4 flag count(s) repaired." in out
    assert_counts_exact(article, other)
    thread.refresh_from_db()
    assert (thread.reply_count, thread.like_count, thread.open_flag_count) == (1, 2, 1)
    assert set(Comment.objects.exclude(pk=thread.pk).values_list("reply_count", "like_count", "open_flag_count")) == {
        (0, 0, 0)
    }


def test_an_exact_database_reports_no_drift_and_changes_nothing(article, thread):
    before = list(Comment.objects.order_by("pk").values_list("reply_count", "like_count", "open_flag_count"))
    out, _ = recount()
    assert out == "0 article count(s) repaired; 0 like count(s), 0 flag count(s) repaired.\n"
    assert list(Comment.objects.order_by("pk").values_list("reply_count", "like_count", "open_flag_count")) == before
    article.refresh_from_db()
    assert article.comment_count == 2


def test_progress_is_shown_on_stderr_for_each_counter(article, thread):
    out, err = recount("--batch-size", 2)
    for label, total in [("comment counts", 1), ("reply counts", 4), ("like counts", 4), ("flag counts", 4)]:
        assert f"{label}: 100%" in err and f"{total}/{total}" in err, label
    assert "100%" not in out  # the report stays parseable


def test_no_progress_at_verbosity_zero(article, thread):
    _, err = recount(verbosity=0)
    assert err == ""


# --- Query plans ---------------------------------------------------------------------------------


def leading_indexes(table: str, column: str) -> set[str]:
    """Names of the indexes on ``table`` whose first column is ``column``."""
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    return {name for name, c in constraints.items() if c["index"] and c["columns"][:1] == [column]}


def plan(sql: str, params: list) -> str:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("EXPLAIN " + sql, params)
            return "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        return "\n".join(row[-1] for row in cursor.fetchall())


@pytest.fixture
def many_comments(db):
    """20,000 comments on 200 articles, likes and flags (the benchmark's generator), with planner
    statistics on PostgreSQL, which plans by table sizes: on a few rows it would rightly scan.
    (SQLite plans alike at any size until ANALYZE is run.)"""
    build(20_000)


@pytest.mark.parametrize("statement", ["drift", "repair", "repair of a few"])
@pytest.mark.parametrize("name", services.TALLIES)
def test_each_recount_statement_reads_the_counted_rows_through_their_foreign_key_index(
    many_comments, name, statement
):
    tally = services.TALLIES[name]
    lo, hi = (50, 60) if tally.model is Article else (5_000, 6_000)  # a batch: a few per cent of the table
    if statement == "drift":
        shown = plan(*tally.drift_sql(lo, hi))
    else:
        few = [lo + 1, lo + 3] if statement == "repair of a few" else None
        shown = plan(*tally.repair_sql(lo, hi, lock=connection.features.has_select_for_update, ids=few))

    expected = leading_indexes(tally.rows._meta.db_table, tally.fk)
    assert any(index in shown for index in expected), (expected, shown)
    # Never a scan of the comments or of the counted rows (inside a subquery per row, that was
    # the bug): each batch costs what it covers, whatever the size of the table. (200 articles
    # may be scanned: PostgreSQL rightly reads so small a table whole.)
    for table in {tally.rows._meta.db_table, Comment._meta.db_table}:
        assert f"Seq Scan on {table} " not in shown and f"SCAN {table}" not in shown, shown
    assert not any(line.startswith("SCAN") for line in shown.splitlines()) or connection.vendor != "sqlite", shown
    if connection.vendor == "sqlite":
        batch = "t" if statement == "drift" else "d"
        assert f"SEARCH {batch} USING INTEGER PRIMARY KEY (rowid" in shown, shown


# --- Concurrency ---------------------------------------------------------------------------------


def wait_until_a_query_waits_for_a_lock(repair: threading.Thread) -> None:
    """PostgreSQL shows a backend waiting on a row lock; SQLite's waiting writer cannot be seen,
    so give it a moment (the outcome must be right either way)."""
    if connection.vendor != "postgresql":
        repair.join(timeout=0.5)
        return
    for _ in range(200):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return
        time.sleep(0.05)
    pytest.fail("the repair never waited for the posting transaction's lock")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("replying", [False, True], ids=["article count", "reply count"])
def test_a_comment_posted_while_the_repair_waits_is_not_lost(article, post, reader, replying):
    root = post(article, "One.")
    # Drift, so that the repair has rows to lock and rewrite.
    Article.objects.filter(pk=article.pk).update(comment_count=7)
    Comment.objects.filter(pk=root.pk).update(reply_count=7)
    posted, release, errors = threading.Event(), threading.Event(), []

    def post_and_hold():  # a request whose transaction is still open when the repair starts
        try:
            with transaction.atomic():
                services.post_comment(article=Article.objects.get(pk=article.pk), author=reader, body="Two.",
                                      parent=root.pk if replying else None)
                posted.set()
                release.wait(timeout=30)
        except BaseException as error:  # noqa: BLE001 - asserted below
            errors.append(error)
        finally:
            connection.close()

    def repair():
        try:
            services.recount_comments()
        except BaseException as error:  # noqa: BLE001 - asserted below
            errors.append(error)
        finally:
            connection.close()

    poster = threading.Thread(target=post_and_hold)
    poster.start()
    assert posted.wait(timeout=30)
    repairer = threading.Thread(target=repair)
    repairer.start()
    wait_until_a_query_waits_for_a_lock(repairer)
    release.set()
    poster.join(timeout=60)
    repairer.join(timeout=60)

    assert errors == []
    article.refresh_from_db()
    root.refresh_from_db()
    assert article.comment_count == 2
    assert root.reply_count == (1 if replying else 0)


def test_repaired_counts_show_at_once_on_cached_threads_and_counts(article, post, reader, other_reader):
    """The repair moves the versions of what it changed, so no cached page keeps the drift."""
    from django.test import Client

    comment = post(article, "Counted")
    Article.objects.filter(pk=article.pk).update(comment_count=7)
    Comment.objects.filter(pk=comment.pk).update(like_count=3)
    thread = f"/api/v1/articles/{article.key}/comments/"
    drifted = Client().get(thread).json()
    assert (drifted["count"], drifted["results"][0]["like_count"]) == (7, 3)
    assert Client().get("/api/v1/counts/", {"article": article.key}).json()["counts"] == {article.key: 7}

    services.recount_comments()
    services.recount_likes_and_flags()

    repaired = Client().get(thread).json()
    assert (repaired["count"], repaired["results"][0]["like_count"]) == (1, 0)
    assert Client().get("/api/v1/counts/", {"article": article.key}).json()["counts"] == {article.key: 1}
