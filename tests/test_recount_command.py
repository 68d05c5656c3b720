"""recount_comments: finds drifted counters, reports them, and repairs them."""

from io import StringIO

from django.core.management import call_command

from comments.models import Article, Comment


def test_recount_reports_and_repairs_drift(article, make_article, post):
    other = make_article("untouched")
    root = post(article, "Root.")
    post(article, "Reply.", parent=root)
    Article.objects.filter(pk=article.pk).update(comment_count=7)  # drift, as a bad manual edit would leave
    Comment.objects.filter(pk=root.pk).update(reply_count=0)

    out = StringIO()
    call_command("recount_comments", stdout=out)

    assert f"article {article.key}: stored 7, actual 2 (repaired)" in out.getvalue()
    assert "1 article count(s) repaired" in out.getvalue()
    assert other.key not in out.getvalue()
    article.refresh_from_db()
    root.refresh_from_db()
    assert (article.comment_count, root.reply_count) == (2, 1)


def test_recount_without_drift_changes_nothing(article, post):
    post(article)
    out = StringIO()
    call_command("recount_comments", stdout=out)
    assert "0 article count(s) repaired" in out.getvalue()
    article.refresh_from_db()
    assert article.comment_count == 1
