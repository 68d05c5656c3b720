"""The app on a site whose user model is email-only (no ``username``): it checks, migrates, and a
reader posts and is shown by their public name, never their email.

Runs in a subprocess with its own settings (``tests/email_user/settings.py``), because the user
model of a process cannot change once Django is set up.
"""

import os
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

SCENARIO = """
from django.contrib.auth import get_user_model
from django.test import Client
from comments import readers, services

User = get_user_model()
assert User._meta.label == "email_user.EmailUser" and not hasattr(User, "username")
article, _ = services.upsert_article(key="email-only", title="An article")
reader = User.objects.create_user(email="reader@example.com", password="x")
client = Client()
client.force_login(reader)
posted = client.post("/api/v1/articles/email-only/comments/", {"body": "Hello from an email-only site."},
                     content_type="application/json")
assert posted.status_code == 201, posted.content
assert posted.json()["author"] == {"id": reader.pk, "display_name": f"Reader {reader.pk}"}, posted.json()
services.set_reader_display_name(reader=reader, display_name="Ani")
for url in ("/api/v1/articles/email-only/comments/", "/articles/email-only/"):
    text = Client().get(url).content.decode()
    assert "Ani" in text and "reader@example.com" not in text, url
admin = User.objects.create_superuser(email="admin@example.com", password="x")
client.force_login(admin)
for url in ("/admin/comments/readerprofile/", "/admin/comments/comment/",
            f"/admin/comments/readerprofile/{reader.pk}/change/"):
    assert client.get(url).status_code == 200, url
reader.delete()
article.refresh_from_db()
assert article.comment_count == 0
print("EMAIL-ONLY OK")
"""


def manage(*args: str, db: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.email_user.settings", "EMAIL_USER_DB": str(db)}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    return subprocess.run([sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, capture_output=True,
                          text=True, timeout=300)


def test_an_email_only_user_model_checks_migrates_and_takes_comments(tmp_path):
    db = tmp_path / "email-only.sqlite3"
    for args in (("check", "--fail-level", "WARNING"), ("makemigrations", "--check", "--dry-run"),
                 ("migrate", "--noinput"), ("shell", "-c", SCENARIO)):
        done = manage(*args, db=db)
        assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"
    assert "EMAIL-ONLY OK" in done.stdout
