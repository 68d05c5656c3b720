"""The widget on a news page it does not control: the page's CSS, a missing CORS setting, a server
that is down, the page's language.

Each host page is a file the embed origin's static server serves; it is opened either from the
origin the comments server allows (``server.embed_origin``, http://localhost:PORT) or from the
same server under another origin it does not know (http://127.0.0.1:PORT).
"""

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.browser.test_widget import make_article

pytestmark = pytest.mark.browser

HOSTILE_CSS = """
  body { color: navy; background: #111; letter-spacing: 2px; text-transform: uppercase; font-family: fantasy; }
  h2, h3, p, button, a, span, li, ol, div, label, textarea {
    color: navy !important; background: black !important; font-family: fantasy !important;
    text-transform: uppercase !important; letter-spacing: 3px !important; border: 5px dotted red !important;
  }
"""
WIDGET_PARTS = [".cw", ".cw-heading", ".cw-count", ".cw-sort", ".cw-account a", ".cw-author", ".cw-body p", ".cw-likes"]
STYLES = ["color", "backgroundColor", "fontFamily", "fontSize", "textTransform", "letterSpacing", "borderTopStyle"]
POST_AS_ANI = "services.post_comment(article=article, author=by('ani'), body={body!r})"
COULD_NOT_LOAD = "The comments could not be loaded. Please try again later."


def host_page(page, origin: str, server, key: str, *, head: str = "", lang: str = "en", attrs: str = "") -> None:
    """A news page at ``origin`` with the one-tag embed of ``key``'s comments, opened in ``page``."""
    name = f"news-{key}-{lang}-{abs(hash((head, attrs)))}.html"
    html = (f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8"><link rel="icon" href="data:,">'
            f"<title>News</title>{head}</head><body><h3>The news</h3><p>The article.</p>"
            f'<div id="comments" data-comments-article="{key}" {attrs}></div>'
            f'<script src="{server.url}/static/comments/widget.js" defer></script></body></html>')
    (server.embed_dir / name).write_text(html, encoding="utf-8")
    page.goto(f"{origin}/{name}")


def computed(page) -> dict:
    """The computed styles of the widget's parts, read inside its shadow root."""
    return page.evaluate("""([parts, styles]) => {
      const root = document.querySelector('[data-comments-article]').shadowRoot;
      return Object.fromEntries(parts.map(part => {
        const style = getComputedStyle(root.querySelector(part));
        return [part, Object.fromEntries(styles.map(name => [name, style[name]]))];
      }));
    }""", [WIDGET_PARTS, STYLES])


def test_host_page_styles_do_not_reach_the_widget(new_page, server):
    """A news page that styles every heading, paragraph and button navy on black (the embed demo
    made comment headers about 1.3:1): the widget's computed styles are the same as on a plain page."""
    make_article(server, "browser-hostile-host", POST_AS_ANI.format(body="Calm words."))
    styles = {}
    for name, head in (("plain", ""), ("hostile", f"<style>{HOSTILE_CSS}</style>")):
        page = new_page()
        host_page(page, server.embed_origin, server, "browser-hostile-host", head=head)
        expect(page.locator(".cw-body", has_text="Calm words.")).to_be_visible()
        styles[name] = computed(page)
        if name == "hostile":  # the page's stylesheet does apply to the page itself
            assert page.locator("h3").evaluate("el => getComputedStyle(el).color") == "rgb(0, 0, 128)"
    assert styles["hostile"] == styles["plain"]
    assert styles["plain"][".cw-heading"]["color"] != "rgb(0, 0, 128)"


def test_page_whose_origin_is_not_allowed_gets_a_message_and_the_cause_in_the_console(new_page, server):
    """The server's CORS_ALLOWED_ORIGINS does not list this page's origin: the reader sees that the
    comments could not be loaded; the console names the setting to change."""
    make_article(server, "browser-cors-missing")
    other = "http://127.0.0.1:" + str(urlsplit(server.embed_origin).port)  # not the allowed localhost
    new_page.allow_console(r".")  # the browser's own CORS errors, and the widget's
    page = new_page()
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    host_page(page, other, server, "browser-cors-missing")
    expect(page.get_by_role("alert")).to_have_text(COULD_NOT_LOAD)
    widget_errors = [e for e in errors if e.startswith("Comments widget")]
    assert len(widget_errors) == 1, errors
    assert "CORS_ALLOWED_ORIGINS" in widget_errors[0] and other in widget_errors[0]


def test_server_down_shows_a_message_in_the_readers_language(new_page, server):
    """Every request to the comments server fails: a visible message instead of an empty area, in
    the page's language (<html lang>, or the element's data-lang)."""
    make_article(server, "browser-server-down")
    new_page.allow_console(r".")
    for lang, attrs, text in (
        ("en", "", COULD_NOT_LOAD),
        ("hy", "", "Չհաջողվեց բեռնել մեկնաբանությունները։ Խնդրում ենք փորձել ավելի ուշ։"),
        ("en", 'data-lang="ru"', "Не удалось загрузить комментарии. Пожалуйста, попробуйте позже."),
    ):
        page = new_page()
        errors = []
        page.on("console", lambda message, errors=errors: message.type == "error" and errors.append(message.text))
        page.route(re.compile(re.escape(server.url) + r"/(api|widget|_allauth)/.*"), lambda route: route.abort())
        host_page(page, server.embed_origin, server, "browser-server-down", lang=lang, attrs=attrs)
        expect(page.get_by_role("alert")).to_have_text(text)
        expect(page.get_by_role("alert")).to_be_visible()
        assert any("is down" in e for e in errors if e.startswith("Comments widget")), errors


def test_article_page_keeps_its_server_rendered_comments_under_the_message(new_page, server):
    """On the comments site itself, the API failing leaves the page's own thread visible, with
    the message above it."""
    make_article(server, "browser-api-fails", POST_AS_ANI.format(body="Rendered by the server."))
    new_page.allow_console(r".")
    page = new_page()
    page.route(re.compile(re.escape(server.url) + r"/api/v1/articles/browser-api-fails/comments/.*"),
               lambda route: route.fulfill(status=500, content_type="application/json", body='{"detail": "boom"}'))
    page.goto(f"{server.url}/articles/browser-api-fails/")
    expect(page.get_by_role("alert")).to_have_text(COULD_NOT_LOAD)
    expect(page.get_by_text("Rendered by the server.")).to_be_visible()


def test_the_readmes_embed_demo_meets_aa_contrast(new_page, server):
    """docs/embed-demo.html styles its page's <header> navy; that used to paint every comment's
    <header> navy behind near-black names (about 1.3:1)."""
    server.data("from django.contrib.auth import get_user_model\nfrom comments import services\n"
                "from comments.models import Article\n"
                "services.post_comment(article=Article.objects.get(key='8dd8c1dd39dbf15b'),"
                " author=get_user_model().objects.get(username='ani'), body='Seen on the Ledger.')\nresult = {}")
    page = new_page()
    page.goto(f"{server.embed_origin}/embed-demo.html")
    expect(page.locator(".cw .cw-thread .cw-comment").first).to_be_visible()
    assert page.evaluate((Path(__file__).parent / "contrast.js").read_text()) == []
