"""comments.hosts: a host site's own objects become articles by a documented rule."""

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from comments import hosts
from comments.models import Article
from tests.workers import run_at_once


class Story:
    """Stands for a host site's model instance: what hosts reads of one (``_meta``, ``pk``, ...)."""

    _meta = SimpleNamespace(app_label="news", model_name="story")

    def __init__(self, pk=7, title="Rates rise again", slug="rates-rise", **extra):
        self.pk, self.title, self.slug = pk, title, slug
        self.__dict__.update(extra)

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return f"/news/{self.slug}/"


class KeyedStory(Story):
    def get_comments_key(self):
        return f"cms-{self.pk}"

    def get_comments_title(self):
        return f"Story: {self.title}"

    def get_comments_published_at(self):
        return datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def test_key_is_app_label_model_name_and_pk_by_default():
    assert hosts.comments_key(Story(pk=42)) == "news.story.42"


def test_key_comes_from_get_comments_key_when_the_model_has_it():
    assert hosts.comments_key(KeyedStory(pk=42)) == "cms-42"


@pytest.mark.parametrize("story", [Story(pk=None), Story(pk="a b"), Story(pk="x" * 200)])
def test_unsaved_object_or_a_key_outside_the_pattern_is_refused(story):
    with pytest.raises(ValueError):
        hosts.comments_key(story)


def test_first_call_creates_the_article_from_the_object(db):
    article = hosts.article_for(Story(pk=1, published_at=datetime(2026, 1, 2, 3, 4, tzinfo=UTC)))
    assert (article.key, article.title, article.url) == ("news.story.1", "Rates rise again", "/news/rates-rise/")
    assert article.published_at == datetime(2026, 1, 2, 3, 4, tzinfo=UTC)
    assert article.comment_count == 0 and article.comments_open


def test_methods_of_the_model_choose_title_and_publication_time(db):
    article = hosts.article_for(KeyedStory(pk=3))
    assert (article.key, article.title) == ("cms-3", "Story: Rates rise again")
    assert article.published_at == datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def test_later_calls_return_the_same_article_without_writing(db, django_assert_num_queries):
    first = hosts.article_for(Story(pk=5))
    with django_assert_num_queries(1):
        again = hosts.article_for(Story(pk=5))
    assert again.pk == first.pk
    assert Article.objects.filter(key="news.story.5").count() == 1


def test_title_and_url_follow_the_object_when_it_changes(db):
    hosts.article_for(Story(pk=9))
    article = hosts.article_for(Story(pk=9, title="Rates rise, markets fall", slug="rates-markets"))
    stored = Article.objects.get(key="news.story.9")
    assert stored.pk == article.pk
    assert (stored.title, stored.url) == ("Rates rise, markets fall", "/news/rates-markets/")


def test_object_without_a_url_or_with_a_long_title_still_gets_an_article(db):
    story = Story(pk=11, title="x" * 600)
    story.get_absolute_url = lambda: ""
    article = hosts.article_for(story)
    assert article.url == "" and len(article.title) == 500


def test_find_article_never_creates_one(db):
    assert hosts.find_article(Story(pk=12)) is None
    assert not Article.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_first_calls_share_one_article():
    found = []
    errors = run_at_once(lambda _: found.append(hosts.article_for(Story(pk=77)).pk), range(4))
    assert errors == []
    assert Article.objects.filter(key="news.story.77").count() == 1
    assert len(set(found)) == 1
