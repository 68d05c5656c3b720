"""The seed article: loaded from seeds/, idempotently, as the first article a newcomer sees."""

from io import StringIO

from django.core.management import call_command

from comments.models import Article


def load() -> str:
    out = StringIO()
    call_command("load_seeds", stdout=out)
    return out.getvalue()


def test_seed_article_is_loaded_with_title_time_and_paragraphs(db):
    assert "1 created" in load()
    article = Article.objects.get(key="8dd8c1dd39dbf15b")
    assert article.title.startswith("The Foreign Ministers of Armenia and Russia")
    assert article.published_at.isoformat() == "2023-03-20T17:26:00+00:00"  # 21:26 Yerevan (UTC+4)
    assert article.paragraphs[0].startswith("On March 20, RA Foreign Minister Ararat Mirzoyan")
    assert len(article.paragraphs) == 9
    # The news site's page furniture is UI, not article text.
    assert "read more" not in article.body and "comment.count" not in article.body
    assert "CTRL + Enter" not in article.body


def test_loading_twice_changes_nothing(db):
    load()
    before = Article.objects.values().get(key="8dd8c1dd39dbf15b")
    assert "0 created, 1 already present" in load()
    assert Article.objects.count() == 1
    assert Article.objects.values().get(key="8dd8c1dd39dbf15b") == before


def test_seed_page_is_what_a_newcomer_sees(client, db):
    load()
    html = client.get("/").content.decode()
    assert "The Foreign Ministers of Armenia and Russia" in html
    page = client.get("/articles/8dd8c1dd39dbf15b/").content.decode()
    assert "21:26 - 20 March, 2023" in page and "Sign in to comment" in page


def test_ensure_admin_creates_one_superuser_once(db):
    out = StringIO()
    call_command("ensure_admin", stdout=out)
    assert "password:" in out.getvalue()
    again = StringIO()
    call_command("ensure_admin", stdout=again)
    assert again.getvalue() == ""
