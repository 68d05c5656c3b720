"""The docs page is enough to use the API: in Chromium, with no internet, a frontend developer
signs up on /api/docs/, authorizes with the session token, and posts, replies, edits, likes,
flags, pages and deletes, all through Swagger UI's "Try it out"."""

import json
import os
import re

import pytest

from comments import services
from tests.conftest import require

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
CHROMIUM = "/usr/bin/chromium"


class Docs:
    """Drives one operation of Swagger UI at a time, the way a person would."""

    def __init__(self, page):
        self.page = page

    def run(self, operation_id: str, params: dict | None = None, body: dict | None = None) -> tuple[int, object]:
        block = self.page.locator(f'[id="operations-{operation_id}"]')
        block.locator(".opblock-summary-path").first.click()
        if block.locator("button.try-out__btn.cancel").count() == 0:
            block.locator("button.try-out__btn").click()
        if block.locator("button.btn-clear").count():
            # Running an operation again: drop the last answer so we never read it as the new one.
            block.locator("button.btn-clear").click()
            block.locator(".live-responses-table").wait_for(state="detached")
        for name, value in (params or {}).items():
            row = block.locator(f'tr[data-param-name="{name}"]')
            if row.locator("select").count():
                row.locator("select").select_option(value)
            else:
                row.locator("input").fill(str(value))
        if body is not None:
            block.locator("textarea.body-param__text").fill(json.dumps(body))
        block.locator("button.execute").click()
        status_cell = block.locator(".live-responses-table .response .response-col_status").first
        status_cell.wait_for()
        status = int(status_cell.inner_text().strip())
        code = block.locator(".live-responses-table .highlight-code")
        text = code.first.inner_text() if code.count() else ""
        block.locator(".opblock-summary-path").first.click()
        start = min((i for i in (text.find("{"), text.find("[")) if i >= 0), default=None)
        return status, json.loads(text[start:]) if start is not None else None

    def authorize(self, scheme: str, value: str) -> None:
        self.page.locator(".auth-wrapper .authorize").first.click()
        dialog = self.page.locator(".modal-ux")
        names = dialog.locator("h4").all_inner_texts()
        index = next(i for i, name in enumerate(names) if name.startswith(scheme))
        container = dialog.locator(".auth-container").nth(index)
        container.locator("input").fill(value)
        container.locator("button.authorize").click()
        dialog.locator("button.btn-done").first.click()


def test_a_frontend_developer_can_do_everything_from_the_docs_page(live_server, make_article, make_reader):
    require(os.path.exists(CHROMIUM), "Debian's chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    article = make_article("742163")
    someone_else = services.post_comment(article=article, author=make_reader(), body="Already here")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page()
        outside = []
        page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(live_server.url) else None)
        page.goto(f"{live_server.url}/api/docs/")
        page.wait_for_selector(".opblock")
        docs = Docs(page)

        status, signed_up = docs.run("sign-in-allauth_auth_signup_post", {"client": "app"},
                                     {"email": "dev@example.com", "password": "a long pass phrase",
                                      "display_name": "Frontend Dev"})
        assert status == 200, signed_up
        docs.authorize("sessionToken", signed_up["meta"]["session_token"])

        status, comment = docs.run("comments-v1_articles_comments_create", {"key": "742163"}, {"body": "From the docs"})
        assert (status, comment["author"]["display_name"]) == (201, "Frontend Dev")
        status, reply = docs.run("comments-v1_articles_comments_create", {"key": "742163"},
                                 {"body": "A reply", "parent": comment["id"]})
        assert (status, reply["parent"]) == (201, comment["id"])
        status, edited = docs.run("comments-v1_comments_partial_update", {"id": comment["id"]}, {"body": "Edited"})
        assert (status, edited["body_html"]) == (200, "<p>Edited</p>")
        status, liked = docs.run("comments-v1_comments_like_create", {"id": someone_else.pk})
        assert (status, liked["liked"]) == (200, True)
        status, flag = docs.run("comments-v1_comments_flag_create", {"id": someone_else.pk}, {"reason": "off_topic"})
        assert status == 201, flag
        status, page_one = docs.run("comments-v1_articles_comments_retrieve", {"key": "742163", "page_size": 1})
        assert (status, page_one["count"], len(page_one["results"])) == (200, 3, 1)
        cursor = re.search(r"cursor=([^&]+)", page_one["next"]).group(1)
        status, page_two = docs.run("comments-v1_articles_comments_retrieve",
                                    {"key": "742163", "page_size": 1, "cursor": cursor})
        assert page_two["results"][0]["id"] == someone_else.pk
        status, _ = docs.run("comments-v1_comments_destroy", {"id": reply["id"]})
        assert status == 204
        browser.close()

    assert outside == [], "the docs page must work without internet"
