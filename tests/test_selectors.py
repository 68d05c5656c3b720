"""Reading a thread: nesting, tombstones, who sees what, and a query count that does not grow."""

import random

import pytest
from django.contrib.auth import get_user_model

from comments import selectors, services
from comments.models import Comment


def build_thread(article, authors, size: int, seed: int = 7) -> list[Comment]:
    """A thread of ``size`` comments where about a third are top-level, through the services."""
    rng = random.Random(seed)
    comments: list[Comment] = []
    for n in range(size):
        parent = rng.choice(comments) if comments and rng.random() > 0.33 else None
        comments.append(
            services.post_comment(article=article, author=rng.choice(authors), body=f"comment {n}", parent=parent)
        )
    return comments


@pytest.mark.parametrize("size", [10, 1000])
def test_whole_thread_costs_a_fixed_number_of_queries(article, make_reader, django_assert_num_queries, size):
    authors = [make_reader() for _ in range(5)]
    build_thread(article, authors, size)
    viewer = authors[0]
    services.like_comment(comment=Comment.objects.exclude(author=viewer).first(), reader=viewer)
    viewer = get_user_model().objects.get(pk=viewer.pk)  # fresh instance, nothing cached
    with django_assert_num_queries(3):  # roots, descendants, the viewer's likes
        thread = selectors.article_thread(article, viewer=viewer)
        shown = list(selectors.flatten(thread))
        for node in shown:  # what a template or serializer touches per comment
            _ = (node.author_name, node.liked, node.can_edit, node.can_delete)
    assert len(shown) == size
    assert sum(node.liked for node in shown) == 1


def test_page_of_roots_costs_a_fixed_number_of_queries(article, make_reader, django_assert_num_queries):
    authors = [make_reader() for _ in range(3)]
    build_thread(article, authors, 60)
    with django_assert_num_queries(2):  # one page of roots, their descendants (anonymous: no likes)
        roots = list(selectors.shown_roots(article, viewer=None, sort="newest")[:10])
        nodes = list(selectors.flatten(selectors.attach_threads(roots, viewer=None)))
        _ = [n.author_name for n in nodes]


def test_replies_nest_oldest_first_under_newest_roots(article, post, other_reader):
    first = post(article, "first")
    second = post(article, "second")
    reply_a = post(article, "a", parent=first, author=other_reader)
    reply_b = post(article, "b", parent=first)
    thread = selectors.article_thread(article, viewer=None, sort="newest")
    assert [c.pk for c in thread] == [second.pk, first.pk]
    assert [c.pk for c in thread[1].replies] == [reply_a.pk, reply_b.pk]
    assert [c.pk for c in selectors.article_thread(article, viewer=None, sort="oldest")] == [first.pk, second.pk]


def test_top_sort_orders_roots_by_likes(article, post, make_reader):
    quiet, popular = post(article, "quiet"), post(article, "popular")
    for _ in range(2):
        services.like_comment(comment=popular, reader=make_reader())
    assert [c.pk for c in selectors.article_thread(article, viewer=None, sort="top")] == [popular.pk, quiet.pk]


def test_deleted_comment_with_visible_replies_stays_as_tombstone(article, post, reader, other_reader):
    top = post(article, "top")
    post(article, "reply", parent=top, author=other_reader)
    lonely = post(article, "lonely")
    services.delete_comment(comment=top, actor=reader)
    services.delete_comment(comment=lonely, actor=reader)
    thread = selectors.article_thread(article, viewer=None)
    assert [c.pk for c in thread] == [top.pk]
    assert thread[0].is_tombstone and len(thread[0].replies) == 1


def test_tombstone_chain_keeps_a_visible_grandchild(article, post, reader, other_reader):
    top = post(article, "top")
    middle = post(article, "middle", parent=top, author=reader)
    leaf = post(article, "leaf", parent=middle, author=other_reader)
    services.delete_comment(comment=middle, actor=reader)
    services.delete_comment(comment=top, actor=reader)
    thread = selectors.article_thread(article, viewer=None)
    assert thread[0].is_tombstone and thread[0].replies[0].is_tombstone
    assert thread[0].replies[0].replies[0].pk == leaf.pk


def test_pending_comment_is_shown_to_its_author_only(article, reader, other_reader, moderator, post):
    pending = post(article, "held")
    services.moderate_comment(comment=pending, moderator=moderator, status="pending")
    assert [c.pk for c in selectors.article_thread(article, viewer=reader)] == [pending.pk]
    assert selectors.article_thread(article, viewer=other_reader) == []
    assert selectors.article_thread(article, viewer=None) == []


def test_rejected_and_spam_comments_are_shown_to_nobody(article, post, reader, moderator):
    services.reject_comment(comment=post(article, "rude"), moderator=moderator)
    services.mark_spam(comment=post(article, "buy pills"), moderator=moderator)
    for viewer in (None, reader, moderator):
        assert selectors.article_thread(article, viewer=viewer) == []
