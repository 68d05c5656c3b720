"""{% comment_count %} on the site's own pages: exact when rendered, and live through the counts API."""

from comments import hosts, services


def count_on(html: str, story) -> str:
    marker = f'<span data-comment-count="news.story.{story.pk}">'
    start = html.index(marker) + len(marker)
    return html[start:html.index("<", start)]


def test_front_page_shows_the_exact_count_and_loads_the_count_script(client, story, reader, other_reader, moderator):
    assert count_on(client.get("/").content.decode(), story) == "0"
    article = hosts.article_for(story)
    services.post_comment(article=article, author=reader, body="One")
    rejected = services.post_comment(article=article, author=other_reader, body="Two")
    services.reject_comment(comment=rejected, moderator=moderator)
    html = client.get("/").content.decode()
    assert count_on(html, story) == "1"
    assert '<script src="/static/comments/counts.js" defer></script>' in html


def test_the_count_the_script_polls_follows_posting(client, story, reader):
    key = f"news.story.{story.pk}"
    article = hosts.article_for(story)
    assert client.get(f"/api/v1/counts/?article={key}").json()["counts"] == {key: 0}
    services.post_comment(article=article, author=reader, body="Now there is one.")
    assert client.get(f"/api/v1/counts/?article={key}").json()["counts"] == {key: 1}
    assert count_on(client.get(story.get_absolute_url()).content.decode(), story) == "1"
