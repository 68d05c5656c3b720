"""The benchmark's data generator builds the thread the issue describes, with exact counters."""

import pytest
from django.db.models import Count

from benchmarks import generate
from comments import conf, services
from comments.models import Article, Comment, Like


@pytest.fixture
def generated(db):
    generate.generate(comments=2000, articles=6, readers=60, progress=False)


def test_hot_article_has_exactly_1000_visible_comments_200_of_them_top_level(generated):
    hot = Article.objects.get(key=generate.HOT)
    visible = Comment.objects.filter(article=hot).visible()
    assert hot.comment_count == visible.count() == 1000
    assert visible.filter(parent__isnull=True).count() == 200
    assert Comment.objects.filter(article=hot).exclude(status="approved").exists()  # hidden ones, too


def test_the_total_is_the_number_asked_for_and_the_post_target_is_empty(generated):
    assert Comment.objects.count() == 2000
    assert Article.objects.get(key=generate.POST_TARGET).comment_count == 0
    assert Article.objects.filter(key__in=generate.article_keys(6)).count() == 6


def test_threads_nest_as_posting_places_them(generated):
    max_depth = conf.max_depth()
    rows = {c.pk: c for c in Comment.objects.all()}
    assert max(c.depth for c in rows.values()) == max_depth
    for comment in rows.values():
        if comment.parent_id is None:
            assert comment.depth == 0 and comment.root_id is None and comment.in_reply_to_id is None
            continue
        parent = rows[comment.parent_id]
        assert comment.depth == parent.depth + 1 <= max_depth
        assert comment.root_id == (parent.root_id or parent.pk)
        assert comment.article_id == parent.article_id
        assert comment.created_at > parent.created_at
        answered = rows[comment.in_reply_to_id]
        # A reply to the deepest level sits beside the comment it answers.
        assert answered.pk == parent.pk or (answered.parent_id == parent.pk and answered.depth == max_depth)


def test_counters_match_the_rows_so_the_repair_command_finds_nothing(generated):
    assert generate.counter_drift() == {}
    assert services.recount_comments() == []
    assert services.recount_likes_and_flags() == {"like_count": 0, "open_flag_count": 0}
    assert Comment.objects.filter(like_count__gt=0).exists()
    assert not Like.objects.values("comment", "reader").annotate(n=Count("id")).filter(n__gt=1).exists()


def test_the_benchmark_reader_has_likes_and_a_pending_reply_in_the_hot_thread(generated, django_user_model):
    reader = django_user_model.objects.get(email=generate.BENCH_EMAIL)
    assert reader.check_password(generate.BENCH_PASSWORD)
    hot = Comment.objects.filter(article__key=generate.HOT)
    assert hot.filter(author=reader, status="pending").count() == 1
    assert Like.objects.filter(reader=reader, comment__in=hot).exists()


def test_counter_drift_names_a_counter_that_is_wrong(generated):
    Comment.objects.filter(pk=Comment.objects.filter(reply_count__gt=0).first().pk).update(reply_count=99)
    assert generate.counter_drift() == {"reply_count": 1}


def test_clean_removes_what_a_benchmark_posted_and_resets_the_count(generated, django_user_model):
    target = Article.objects.get(key=generate.POST_TARGET)
    services.post_comment(article=target, author=django_user_model.objects.get(pk=1), body="Posted by a benchmark.")
    assert generate.clean_post_target() == 1
    target.refresh_from_db()
    assert target.comment_count == 0 and not Comment.objects.filter(article=target).exists()
    assert generate.counter_drift() == {}
