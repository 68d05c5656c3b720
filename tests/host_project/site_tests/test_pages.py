"""A reader comments on the site's own story page, rendered by the site's templates with the tags."""

import re

from comments.models import Article, Comment


def test_story_page_shows_the_comment_section_in_the_sites_own_layout(client, story, reader):
    client.force_login(reader)
    html = client.get(story.get_absolute_url()).content.decode()
    assert '<header class="masthead">' in html  # the site's base template
    assert f'data-comments-article="news.story.{story.pk}"' in html
    assert 'id="comment-form"' in html and "/static/comments/widget.js" in html
    article = Article.objects.get(key=f"news.story.{story.pk}")
    assert (article.title, article.url) == ("Rates rise again", "/news/rates-rise-again/")


def test_reader_posts_and_replies_through_the_page(client, story, reader, other_reader):
    client.force_login(reader)
    html = client.get(story.get_absolute_url()).content.decode()
    action = re.search(r'<form method="post" action="([^"]+)" class="comment-form" id="comment-form">', html)[1]
    response = client.post(action, {"body": "The bank had no choice."}, follow=True)
    comment = Comment.objects.get(body="The bank had no choice.")
    assert response.redirect_chain[-1][0] == f"{story.get_absolute_url()}#comment-{comment.pk}"
    assert "The bank had no choice." in response.content.decode()

    client.force_login(other_reader)
    response = client.post(action, {"body": "It had one.", "parent": comment.pk}, follow=True)
    reply = Comment.objects.get(body="It had one.")
    assert reply.parent_id == comment.pk
    page = response.content.decode()
    assert f'id="comment-{reply.pk}"' in page and "It had one." in page


def test_anonymous_readers_are_asked_to_sign_in_and_come_back(client, story):
    html = client.get(story.get_absolute_url()).content.decode()
    assert f"/accounts/login/?next={story.get_absolute_url()}%23comments" in html
