"""The readers and articles the browser tests meet; run once in ``manage.py shell`` by conftest.

Everything is written through the services, as the site itself would. Each test has its own
article, so tests never see each other's comments.
"""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone

from comments import services
from comments.models import ReaderProfile

Reader = get_user_model()

PASSWORD = "correct horse battery"
HOSTILE_BODIES = [
    "<script>window.__pwned = 'script'; alert('script')</script>Hello",
    '<img src=x onerror="window.__pwned=\'img\'; alert(\'img\')"> picture',
    '<a href="javascript:window.__pwned=\'link\';alert(\'link\')">click me</a>',
    '<p onmouseover="window.__pwned=\'handler\'" onclick="alert(\'handler\')">hover me</p>',
    '<svg><script>alert("svg")</script></svg><iframe src="javascript:alert(1)"></iframe>text',
]


def reader(name: str, display_name: str, *, moderation: str | None = None, **extra) -> Reader:
    user = Reader.objects.create_user(username=name, email=f"{name}@example.com", password=PASSWORD, **extra)
    services.set_reader_display_name(reader=user, display_name=display_name)
    if moderation is not None:
        services.set_reader_moderation(reader=user, moderator=None, moderation=moderation)
    return user


def article(key: str, title: str, **fields):
    body = (
        "Ministers met on Monday to discuss regional stability and security.\n\n"
        "The talks began privately and continued in an expanded format."
    )
    return services.upsert_article(key=key, title=title, body=body, **fields)[0]


ani = reader("ani", "Ani Petrosyan")
boris = reader("boris", "Boris")
cleo = reader("cleo", "Cleo", moderation=ReaderProfile.Moderation.ALWAYS)
dan = reader("dan", "Dan")
eve = reader("eve", "Eve")
hostile = reader("mallory", "<img src=x onerror=\"window.__pwned='name'\">Mallory")
moderator = reader("mod", "Moderator", is_staff=True)
services.ban_reader(reader=dan, moderator=moderator, reason="Repeated abuse")

for key in ["post", "live", "edit", "pending", "nojs", "errors"]:
    article(f"browser-{key}", f"Browser test: {key}")
services.post_comment(article=article("browser-reply", "Browser test: reply"), author=boris, body="What do you think?")
services.post_comment(article=article("browser-like", "Browser test: like"), author=boris, body="Like or report me.")
article("browser-closed", "Browser test: closed", comments_open=False)

# A conversation for the screenshots, sorting and load-more.
look = article("browser-look", "Foreign ministers discuss regional stability and security in Moscow")
now = timezone.now()
first = services.post_comment(
    article=look, author=boris,
    body="A useful summary. Does anyone know whether a joint statement was published afterwards?",
)
reply = services.post_comment(
    article=look, author=ani, parent=first,
    body='Not yet: the ministry said one would follow "in the coming days". See https://www.mfa.am for updates.',
)
services.post_comment(article=look, author=boris, parent=reply, body="Thanks, that is helpful.")
popular = services.post_comment(
    article=look, author=eve,
    body="The expanded format part is the interesting one.\n\n"
    "That usually means the delegations agreed on more than they say in public.",
)
for fan in (ani, boris, cleo):
    services.like_comment(comment=popular, reader=fan)
services.post_comment(article=look, author=ani, body="Short and to the point. More coverage like this, please.")

sort = article("browser-sort", "Browser test: sort")
for n, likes in enumerate([0, 2, 1]):
    comment = services.post_comment(article=sort, author=boris, body=f"Sort comment {n}")
    for fan in (ani, eve)[:likes]:
        services.like_comment(comment=comment, reader=fan)

more = article("browser-more", "Browser test: load more")
for n in range(25):
    services.post_comment(article=more, author=boris, body=f"Page comment {n}")

hostile_article = article("browser-hostile", "Browser test: hostile")
for body in HOSTILE_BODIES:
    services.post_comment(article=hostile_article, author=hostile, body=body)

# Posted well before the edit window of the API, so the widget must not offer to edit it.
old = services.post_comment(article=article("browser-old", "Browser test: old"), author=ani, body="An old comment.")
type(old).objects.filter(pk=old.pk).update(created_at=now - timedelta(days=1))
