"""Two browsers on one article: a comment posted in one shows up live in the other.

The reader's page updates every count and offers "1 new comment — show" without moving the
thread; clicking it brings the comment in. The front page follows all its counts in one stream
and polls them in one request when the stream is refused.
"""

import json
import os
import time
import uuid
from pathlib import Path

import pytest
from django.test import override_settings

from benchmarks.production import start_uvicorn
from tests.conftest import require, set_server_password
from tests.live_support import delete_keys, redis_url

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

BASE_DIR = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
DEAD_REDIS = "redis://127.0.0.1:8199/0"  # nothing listens there: the stream answers 503


@pytest.fixture
def server(request):
    """One uvicorn process on the test database, with the database broker (or, parametrized
    indirectly, the given REDIS_URL; "redis" for the local Redis, whose keys get a prefix of their own)."""
    from django.db import connection

    name = connection.settings_dict["NAME"]
    db_env = ({"SQLITE_PATH": str(name)} if connection.vendor == "sqlite"
              else {"DATABASE_URL": os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/" + name})
    redis, prefix = getattr(request, "param", ""), f"test-pages-{uuid.uuid4().hex[:12]}"
    if redis == "redis":
        redis = redis_url()
        require(redis is not None, "Redis at REDIS_URL or 127.0.0.1:6379")
    env = {**os.environ, **db_env, "REDIS_URL": redis, "LOG_LEVEL": "WARNING",
           "COMMENTS_LIVE_PREFIX": prefix, "CACHE_KEY_PREFIX": prefix}
    process, base = start_uvicorn(env)
    try:
        yield base
    finally:
        process.terminate()
        process.wait(10)
        if redis and redis != DEAD_REDIS:
            delete_keys(redis, prefix)


@pytest.fixture
def launch_browser():
    """Starts Chromium when called: after the test's own database work, since Playwright's sync
    API keeps an event loop in this thread and Django refuses ORM calls beside a running loop."""
    require(os.path.exists(CHROMIUM), "Debian's chromium at /usr/bin/chromium")
    from playwright.sync_api import sync_playwright

    started = []

    def launch():
        playwright = sync_playwright().start()
        started.append(playwright)
        return playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])

    yield launch
    for playwright in started:
        playwright.stop()


@pytest.mark.parametrize("server", ["", "redis"], indirect=True, ids=["database-broker", "redis-broker"])
def test_second_browser_sees_the_new_comment_live(server, launch_browser, article, make_reader, post):
    from playwright.sync_api import expect

    post(article, "The first word.")
    writer = make_reader("Writer")
    set_server_password(writer)
    browser = launch_browser()
    reading = browser.new_page()
    streams = []
    reading.on("request", lambda r: streams.append(r.url) if "/events/" in r.url else None)
    reading.goto(f"{server}/articles/{article.key}/")
    expect(reading.locator("h2 [data-comment-count]")).to_have_text("1")
    expect(reading.locator("[data-comments-article]")).to_have_attribute("data-live", "connected")

    posting = browser.new_context().new_page()
    posting.goto(f"{server}/accounts/login/?next=/articles/{article.key}/")
    posting.fill("input[name=login]", writer.email)
    posting.fill("input[name=password]", "correct horse battery")
    posting.click("form [type=submit]")
    posting.fill("#id_body", "Live from the second browser.")
    posted_at = time.monotonic()
    posting.click("#comment-form button[type=submit]")

    for count in reading.locator("[data-comment-count]").all():
        expect(count).to_have_text("2", timeout=5000)
    button = reading.locator("button.new-comments")
    expect(button).to_have_text("1 new comment — show")
    print(f"count updated in the reading browser {1000 * (time.monotonic() - posted_at):.0f} ms after submit")
    assert reading.locator(".thread").inner_text().count("Live from the second browser.") == 0  # not moved

    assert len(streams) == 1  # the widget and the count script share one stream per page

    button.click()
    expect(reading.locator(".thread")).to_contain_text("Live from the second browser.")
    expect(button).to_be_hidden()


def _in_thread(function, *args, **kwargs):
    """Django refuses ORM calls beside Playwright's event loop: run them in a thread of their own."""
    import threading

    from django.db import connection

    def run():
        try:
            function(*args, **kwargs)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)


def test_front_page_counts_come_from_one_stream(server, launch_browser, make_article, post):
    """Three articles on the front page, one stream for all of them and no polling: a comment
    posted by another process moves its article's count and noun on the open page."""
    from playwright.sync_api import expect

    articles = [make_article(f"front-{i}") for i in range(3)]
    post(articles[1], "Only here.")
    page = launch_browser().new_page()
    streams, polls = [], []
    page.on("request", lambda r: (streams if "/api/v1/counts/events/" in r.url else
                                  polls if "/api/v1/counts/" in r.url else []).append(r.url))
    page.goto(server + "/")
    expect(page.locator(f'[data-comment-count="{articles[1].key}"]')).to_have_text("1")
    page.wait_for_timeout(500)  # the stream's first counts are in

    with override_settings(REDIS_URL=""):  # the server's broker: the database (the fixture gives it no Redis)
        _in_thread(post, articles[0], "Breaking.")
    expect(page.locator(f'[data-comment-count="{articles[0].key}"]')).to_have_text("1", timeout=5000)
    expect(page.locator(f'[data-comment-noun="{articles[0].key}"]')).to_have_text("comment")
    assert len(streams) == 1
    assert all(f"article={a.key}" in streams[0] for a in articles)
    assert polls == []


def test_front_page_polls_in_one_request_when_the_stream_is_refused(server, launch_browser, make_article, post):
    """The stream answers 503; the counts endpoint (stubbed here) answers 7, 0, 1: what the page
    shows must be the endpoint's numbers, nouns included, all from one request."""
    from playwright.sync_api import expect

    articles = [make_article(f"front-{i}") for i in range(3)]
    post(articles[1], "Only here.")
    page = launch_browser().new_page()
    count_requests = []
    answer = {"counts": {articles[0].key: 7, articles[1].key: 0, articles[2].key: 1}}

    def counts(route):
        count_requests.append(route.request.url)
        route.fulfill(status=200, content_type="application/json", body=json.dumps(answer))

    page.route("**/api/v1/counts/events/?*", lambda route: route.fulfill(
        status=503, content_type="application/json", body='{"detail": "off", "code": "live_unavailable"}'))
    page.route("**/api/v1/counts/?*", counts)
    page.goto(server + "/")
    for key, (number, noun) in zip(
        [a.key for a in articles], [("7", "comments"), ("0", "comments"), ("1", "comment")], strict=True
    ):
        expect(page.locator(f'[data-comment-count="{key}"]')).to_have_text(number)
        expect(page.locator(f'[data-comment-noun="{key}"]')).to_have_text(noun)
    # the one answer is shown: every key went into that request, so no other is on its way
    assert len(count_requests) == 1
    assert all(f"article={a.key}" in count_requests[0] for a in articles)


@pytest.mark.parametrize("server", [DEAD_REDIS], indirect=True)
def test_article_page_polls_the_counts_when_the_stream_is_refused(server, launch_browser, article):
    """The stream answers 503, so the page polls /api/v1/counts/. The poll is held until the
    widget has drawn the thread (count 0), then answers 5: the page must show 5."""
    from playwright.sync_api import expect

    page = launch_browser().new_page()
    polls = []
    page.route("**/api/v1/counts/?*", lambda route: polls.append(route))
    page.goto(f"{server}/articles/{article.key}/")
    expect(page.locator(".cw .cw-thread")).to_be_attached()
    expect(page.locator("[data-comments-article]")).to_have_attribute("data-live", "off")
    for _ in range(100):
        if polls:
            break
        page.wait_for_timeout(100)
    assert polls, "no poll of /api/v1/counts/ within 10 s"
    real = polls[0].fetch()
    assert real.status == 200
    assert real.json() == {"counts": {article.key: 0}}
    polls[0].fulfill(response=real, json={"counts": {article.key: 5}})
    for count in page.locator("[data-comment-count]").all():
        expect(count).to_have_text("5")
