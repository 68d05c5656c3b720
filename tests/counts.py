"""The one helper that says the denormalized counters are exact (every test that moves one uses it)."""

from django.db.models import Count, F, Q

from comments.models import Article, Comment
from comments.querysets import visible_q


def assert_counts_exact(*articles: Article) -> None:
    """Each article's ``comment_count`` is its visible comments, and each of its comments'
    ``reply_count``, ``like_count`` and ``open_flag_count`` are its visible direct replies, its
    likes and its open flags. With no article: every article and comment in the database."""
    stored = Article.objects.all()
    comments = Comment.objects.all()
    if articles:
        stored = stored.filter(pk__in=[a.pk for a in articles])
        comments = comments.filter(article__in=[a.pk for a in articles])
    visible = dict(
        Comment.objects.filter(visible_q(), article__in=stored.values("pk")).order_by().values("article")
        .annotate(n=Count("pk")).values_list("article", "n")
    )
    assert {a.pk: a.comment_count for a in stored} == {a.pk: visible.get(a.pk, 0) for a in stored}
    for counter, actual in {
        "reply_count": Count("children", filter=Q(children__status="approved", children__is_deleted=False),
                             distinct=True),
        "like_count": Count("likes", distinct=True),
        "open_flag_count": Count("flags", filter=Q(flags__resolved_at__isnull=True), distinct=True),
    }.items():
        drifted = comments.annotate(actual=actual).exclude(**{counter: F("actual")})
        assert list(drifted.values_list("pk", counter, "actual")) == [], counter
