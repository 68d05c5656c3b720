"""A moderator of the site rejects a comment in the site's own admin."""

from comments import hosts, services
from comments.models import Comment


def test_moderator_rejects_a_comment_in_the_sites_admin(client, story, reader, moderator):
    article = hosts.article_for(story)
    keep = services.post_comment(article=article, author=reader, body="A fair point.")
    reject = services.post_comment(article=article, author=reader, body="Something abusive.")
    client.force_login(moderator)
    listing = client.get("/admin/comments/comment/")
    assert listing.status_code == 200 and "Something abusive." in listing.content.decode()
    response = client.post("/admin/comments/comment/", {
        "action": "reject", "_selected_action": [reject.pk], "index": 0,
    })
    assert response.status_code == 302
    reject.refresh_from_db()
    article.refresh_from_db()
    assert reject.status == Comment.Status.REJECTED
    assert article.comment_count == 1
    html = client.get(story.get_absolute_url()).content.decode()
    assert "A fair point." in html and "Something abusive." not in html
    assert keep.pk


def test_the_sites_admin_keeps_its_own_titles(client, moderator):
    client.force_login(moderator)
    assert "Django administration" in client.get("/admin/").content.decode()
