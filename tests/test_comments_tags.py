"""The host sites' template tags: {% comment_count %}, {% comment_section %}, {% comment_count_script %}."""

from django.contrib.auth.models import AnonymousUser
from django.template import RequestContext, Template
from django.test import RequestFactory
from django.urls import reverse

from comments import hosts, services
from comments.models import Article, Comment
from tests.test_hosts import Story


def render(source: str, *, user=None, path: str = "/news/rates-rise/", **context) -> str:
    request = RequestFactory().get(path)
    request.user = user or AnonymousUser()
    return Template("{% load comments_tags %}" + source).render(RequestContext(request, context))


def test_count_shows_the_exact_count_in_an_element_the_count_script_updates(db, post, moderator):
    story = Story(pk=1)
    article = hosts.article_for(story)
    post(article, "One")
    rejected = post(article, "Two")
    services.reject_comment(comment=rejected, moderator=moderator)
    assert render("{% comment_count story %}", story=story) == '<span data-comment-count="news.story.1">1</span>'
    post(article, "Three")
    assert render("{% comment_count story %}", story=story) == '<span data-comment-count="news.story.1">2</span>'


def test_count_of_an_object_nobody_commented_on_is_zero_and_writes_nothing(db):
    assert render("{% comment_count story %}", story=Story(pk=2)) == '<span data-comment-count="news.story.2">0</span>'
    assert not Article.objects.exists()


def test_section_shows_the_thread_and_the_forms_to_a_signed_in_reader(db, post, reader, other_reader):
    story = Story(pk=3)
    theirs = post(hosts.article_for(story), "Their view", author=other_reader)
    html = render("{% comment_section story %}", story=story, user=reader)
    article = Article.objects.get(key="news.story.3")
    assert 'data-comments-article="news.story.3"' in html
    assert "Their view" in html and 'data-comment-count="news.story.3"' in html
    assert f'action="{reverse("comments:post_comment", args=[article.key])}"' in html
    assert f'name="parent" value="{theirs.pk}"' in html  # the reply form
    assert 'name="csrfmiddlewaretoken"' in html
    assert "/static/comments/widget.js" in html and "/static/comments/live.js" in html
    assert "<script>" not in html  # no inline script: a Content-Security-Policy may forbid it


def test_section_creates_the_article_and_asks_anonymous_readers_to_sign_in(db):
    html = render("{% comment_section story %}", story=Story(pk=4))
    assert Article.objects.get(key="news.story.4").url == "/news/rates-rise/"
    assert "No comments yet." in html
    assert "Sign in to comment" in html and "next=/news/rates-rise/%23comments" in html


def test_section_follows_the_sort_of_the_page(db, post):
    story = Story(pk=5)
    article = hosts.article_for(story)
    post(article, "Older")
    post(article, "Newer")
    newest = render("{% comment_section story %}", story=story)
    oldest = render("{% comment_section story %}", story=story, path="/news/rates-rise/?sort=oldest")
    assert newest.index("Newer") < newest.index("Older")
    assert oldest.index("Older") < oldest.index("Newer")


def test_posting_from_a_host_page_leads_back_to_that_page(client, db, reader):
    article = hosts.article_for(Story(pk=6))
    client.force_login(reader)
    response = client.post(reverse("comments:post_comment", args=[article.key]), {"body": "From the story page"})
    comment = Comment.objects.get(body="From the story page")
    assert response.status_code == 302
    permalink = client.get(response["Location"])
    assert permalink["Location"] == f"/news/rates-rise/#comment-{comment.pk}"


def test_count_script_loads_the_shared_counts_script():
    assert render("{% comment_count_script %}") == '<script src="/static/comments/counts.js" defer></script>'


def test_articles_of_a_cms_on_another_site_keep_the_apps_own_page(client, make_article, post):
    article = make_article("cms-1", url="https://news.example/cms-1")
    comment = post(article, "On the service's page")
    assert client.get(comment.get_absolute_url())["Location"] == f"/articles/cms-1/#comment-{comment.pk}"
