"""What the server gives the widget: the session endpoint, the script tag and the embed demo.

The widget itself is tested in Chromium (tests/browser/).
"""

import re
from pathlib import Path

import pytest
from django.test import Client, override_settings

EMBEDDING_SITE = "https://news.example"


def test_session_tells_an_anonymous_reader_apart_and_hands_out_a_csrf_token(client):
    response = client.get("/widget/session/")
    assert response.status_code == 200
    session = response.json()
    assert session["reader"] is None
    assert session["csrf_token"]
    assert session["login_url"].endswith("/accounts/login/")
    assert "csrftoken" in response.cookies
    assert "no-cache" in response["Cache-Control"]


def test_session_names_the_signed_in_reader(client, reader):
    client.force_login(reader)
    assert client.get("/widget/session/").json()["reader"] == {"id": reader.pk, "display_name": "Ani"}


def test_token_from_session_is_accepted_by_a_csrf_checking_form(reader, article):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(reader)
    token = browser.get("/widget/session/").json()["csrf_token"]
    url = f"/articles/{article.key}/comments/"
    assert browser.post(url, {"body": "hello"}).status_code == 403
    assert browser.post(url, {"body": "hello"}, headers={"X-CSRFToken": token}).status_code == 302


@override_settings(CORS_ALLOWED_ORIGINS=[EMBEDDING_SITE])
@pytest.mark.parametrize("origin, allowed", [(EMBEDDING_SITE, True), ("https://evil.example", False)])
def test_only_allowed_embedding_sites_may_read_the_session(client, origin, allowed):
    response = client.get("/widget/session/", headers={"Origin": origin})
    assert (response.get("Access-Control-Allow-Origin") == origin) is allowed
    assert (response.get("Access-Control-Allow-Credentials") == "true") is allowed


def test_article_page_loads_the_widget_script_and_styles(client, article):
    html = client.get(article.get_absolute_url()).content.decode()
    assert '<script src="/static/comments/widget.js" defer></script>' in html
    assert 'href="/static/comments/widget.css"' in html
    assert f'data-comments-article="{article.key}"' in html


def test_embed_demo_shows_the_snippet_and_embeds_the_article(client, article):
    response = client.get("/embed-demo/", {"article": article.key})
    html = response.content.decode()
    assert response.status_code == 200
    assert '&lt;script src="http://testserver/static/comments/widget.js" defer&gt;' in html
    assert f'<div id="comments" data-comments-article="{article.key}">' in html


def test_widget_script_inserts_html_only_from_the_sanitized_body():
    """A guard beside the browser test: any new HTML sink in widget.js must be looked at."""
    script = (Path(__file__).resolve().parents[1] / "comments/static/comments/widget.js").read_text()
    sinks = re.findall(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function", script)
    assert sinks == ["innerHTML"]
    assert "body.innerHTML = comment.body_html;" in script
