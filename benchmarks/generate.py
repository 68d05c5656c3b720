"""Generated data for the HTTP benchmark: a hot article with a 1,000-comment thread among many.

    python -m benchmarks.generate [--comments 100000] [--articles 1000] [--readers 500] [--reset]
    python -m benchmarks.generate --clean      # forget what a benchmark run posted

Builds, deterministically (a fixed random seed):

- ``hot``: exactly 1,000 visible comments (200 top-level, replies nested up to the deepest level
  the product allows, replies to the deepest level attached beside it as posting does), plus a
  few hidden leaves (pending, rejected, deleted) and the benchmark reader's own pending reply;
- ``post-target``: an open, empty article the posting workload writes to (so posting never
  grows the thread that the read workloads measure);
- ``article-0001`` ...: the other articles sharing the remaining comments, with tombstones,
  pending and rejected comments, likes and a few open flags;
- a few hundred readers sharing one password hash, ``bench@example.com`` among them (password
  ``BENCH_PASSWORD``), and a short list of banned words, so posting pays for its checks.

Rows go in with ``bulk_create`` in batches with their ids chosen here, so parents, roots and
counters (``comment_count``, ``reply_count``, ``like_count``, ``open_flag_count``) are known
before the insert and exact by construction; a check at the end compares them with the rows
(what ``recount_comments`` would repair: it must find nothing).

The database is the one the settings name: ``SQLITE_PATH`` (default ``var/bench.sqlite3``) or
``DATABASE_URL``. Running again with the same parameters and the same schema does nothing; a
stale database (other parameters, new migrations, a newer generator) is rebuilt. A database that
holds comments but was not built here is only wiped with ``--reset``.
"""

import argparse
import hashlib
import json
import os
import random
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.settings")

import django  # noqa: E402

django.setup()

from allauth.account.models import EmailAddress  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.hashers import make_password  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.core.management.color import no_style  # noqa: E402
from django.db import connection, connections, transaction  # noqa: E402
from django.db.migrations.loader import MigrationLoader  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.utils import timezone  # noqa: E402
from tqdm import tqdm  # noqa: E402

from comments import conf, versions  # noqa: E402
from comments.models import Article, BannedWord, Comment, Flag, Like, ReaderProfile  # noqa: E402
from comments.sanitize import clean_comment_html, normalize_text  # noqa: E402

Reader = get_user_model()  # the stand-alone service's: plain auth.User
HOT = "hot"
POST_TARGET = "post-target"
HOT_COMMENTS = 1000
HOT_ROOTS = 200
BENCH_EMAIL = "bench@example.com"
BENCH_PASSWORD = "bench password 42"
SEED = 17
BATCH = 5000
META_TABLE = "bench_meta"

APPROVED, PENDING, REJECTED, SPAM = (Comment.Status.APPROVED.value, Comment.Status.PENDING.value,
                                    Comment.Status.REJECTED.value, Comment.Status.SPAM.value)


def article_keys(count: int) -> list[str]:
    """The other articles' keys; the counts workload asks for the first 50."""
    return [f"article-{n:04d}" for n in range(1, count + 1)]


# --- Bodies -------------------------------------------------------------------------------------

SENTENCES = [
    "This is exactly what I was worried about when the council first proposed it.",
    "Does anyone have the actual figures? The article only quotes percentages.",
    "I live two streets from there and nobody asked us anything.",
    "Good reporting, thank you for following up on this story.",
    "The headline is misleading, the second paragraph says the opposite.",
    "We had the same problem in 2019 and it took three years to fix.",
    "Not sure why everyone is surprised, this was announced months ago.",
    "My grandmother remembers when the old bridge was built; it lasted sixty years.",
    "Can the author clarify whether the budget includes maintenance?",
    "I disagree, but I appreciate that both sides were interviewed.",
    "The map in the print edition was much clearer than the online one.",
    "Prices at our local market went up by a third since spring.",
    "Has the ministry responded to the report yet?",
    "That's a fair point, although the comparison with last year isn't quite right.",
    "Our school had the same issue; the parents' committee solved it in a week.",
    "Trains were late again this morning, twenty minutes on the northern line.",
    "It would help to link the original study instead of a summary of it.",
    "Ереван летом очень жаркий, но вечера прекрасны.",
    "Très bon article, merci pour les détails sur le financement.",
    "Naïve question: who actually owns the land now?",
    "I've been following this since the first hearing 👍",
    "Respectfully, the numbers in the chart don't add up to 100%.",
    "The interview with the engineer was the most useful part.",
    "So the plan is to spend more and deliver less? Brilliant.",
    "Finally some good news for the neighbourhood 🎉",
    "Where can I read the full decision? The court's website is down.",
    "Two years of roadworks and the junction is as dangerous as before.",
    "Thanks to the volunteers who cleaned up the riverbank last weekend!",
]
MARKUP = [
    lambda s: f"<em>{s}</em>",
    lambda s: f"<strong>{s}</strong>",
    lambda s: f"{s} See https://example.com/news/2026/11/{random.randrange(1000, 9999)}",
    lambda s: f'<a href="https://example.org/report.pdf" title="report">the report</a>: {s}',
    lambda s: f"<blockquote>{s}</blockquote>",
    lambda s: f"{s} <code>rate = 0.4 * base</code>",
    lambda s: f"{s}<script>alert('x')</script>",  # stripped by the sanitizer, as in real life
    lambda s: f"{s} & more <3",
]
BANNED_WORDS = [
    ("viagra", BannedWord.Action.REJECT), ("casino-bonus", BannedWord.Action.REJECT),
    ("cheap-pills", BannedWord.Action.REJECT), ("crypto-doubler", BannedWord.Action.REJECT),
    ("idiot", BannedWord.Action.HOLD), ("moron", BannedWord.Action.HOLD), ("scumbag", BannedWord.Action.HOLD),
    ("loser", BannedWord.Action.HOLD), ("clickbait-farm", BannedWord.Action.HOLD),
    ("buy-followers", BannedWord.Action.REJECT), ("free-money", BannedWord.Action.REJECT),
    ("traitor", BannedWord.Action.HOLD),
]


def make_body(rng: random.Random) -> str:
    """What a reader might type: one to four paragraphs, sometimes with markup, now and then long."""
    paragraphs = rng.choices([1, 1, 1, 2, 2, 3, 4], k=1)[0] + (6 if rng.random() < 0.03 else 0)
    out = []
    for _ in range(paragraphs):
        sentences = [rng.choice(SENTENCES) for _ in range(rng.randint(1, 3))]
        if rng.random() < 0.15:
            sentences[0] = rng.choice(MARKUP)(sentences[0])
        out.append(("\n" if rng.random() < 0.1 else " ").join(sentences))
    return "\n\n".join(out)


def body_pair(text: str) -> tuple[str, str]:
    """The body as stored and its sanitized HTML, as posting makes them."""
    text = normalize_text(text)
    return text, clean_comment_html(text)


# --- Threads ------------------------------------------------------------------------------------


class Node:
    __slots__ = ("id", "parent", "root", "in_reply_to", "depth", "children", "status", "deleted", "author",
                 "created_at", "edited_at", "body", "body_html", "likes", "flags")

    def __init__(self, id, parent, root, in_reply_to, depth):
        self.id, self.parent, self.root, self.in_reply_to, self.depth = id, parent, root, in_reply_to, depth
        self.children = 0
        self.status, self.deleted, self.author = APPROVED, False, None
        self.likes, self.flags = 0, 0

    @property
    def visible(self) -> bool:
        return self.status == APPROVED and not self.deleted


def build_thread(rng: random.Random, *, size: int, roots: int, first_id: int, max_depth: int) -> list[Node]:
    """``size`` comments in posting order, ``roots`` of them top-level (the first one is).

    A reply goes to a top-level comment picked in proportion to the replies it already has (a
    popular comment attracts more), or to one of the last few comments (a conversation going
    on); a reply to the deepest level is attached beside it, as ``services._placement`` does.
    """
    kinds = [True] + rng.sample([True] * (roots - 1) + [False] * (size - roots), size - 1)
    nodes: list[Node] = []
    popular: list[Node] = []  # a root once per reply it has, and once for itself
    for n, is_root in enumerate(kinds):
        if is_root:
            node = Node(first_id + n, None, None, None, 0)
            popular.append(node)
        else:
            target = rng.choice(popular) if rng.random() < 0.45 else nodes[rng.randrange(max(0, n - 12), n)]
            root = target.root or target
            if target.depth >= max_depth:
                node = Node(first_id + n, target.parent, root, target, target.depth)
            else:
                node = Node(first_id + n, target, root, target, target.depth + 1)
            node.parent.children += 1
            popular.append(root)
        nodes.append(node)
    return nodes


def hide_some(rng: random.Random, nodes: list[Node], *, leaves: int, tombstones: int) -> list[Node]:
    """Make ``leaves`` childless replies hidden (pending, rejected, spam, deleted) and
    ``tombstones`` roots with replies deleted by their authors (shown as "deleted")."""
    childless = [n for n in nodes if n.parent is not None and n.children == 0]
    hidden = rng.sample(childless, min(leaves, len(childless)))
    for node in hidden:
        kind = rng.choice(["pending", "pending", "rejected", "spam", "deleted", "deleted"])
        if kind == "deleted":
            node.deleted = True
        else:
            node.status = {"pending": PENDING, "rejected": REJECTED, "spam": SPAM}[kind]
    parents = [n for n in nodes if n.parent is None and n.children]
    for node in rng.sample(parents, min(tombstones, len(parents))):
        node.deleted = True
        hidden.append(node)
    return hidden


# --- The database -------------------------------------------------------------------------------


def data_key(params: dict) -> str:
    """Names what a database holds: the generator's source, the schema and the parameters."""
    graph = MigrationLoader(None, ignore_no_migrations=True).graph
    leaves = sorted(f"{app}.{name}" for app, name in graph.leaf_nodes())
    source = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()
    raw = json.dumps({"source": source, "schema": leaves, **params}, sort_keys=True)
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def stored_key() -> str | None:
    if META_TABLE not in connection.introspection.table_names():
        return None
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT data_key FROM {META_TABLE}")
        row = cursor.fetchone()
    return row[0] if row else None


def store_key(key: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {META_TABLE} (data_key varchar(64) NOT NULL)")
        cursor.execute(f"DELETE FROM {META_TABLE}")
        cursor.execute(f"INSERT INTO {META_TABLE} (data_key) VALUES (%s)", [key])


def wipe() -> None:
    """An empty database at the current schema: a new SQLite file, or PostgreSQL flushed."""
    if connection.vendor == "sqlite":
        path = Path(connection.settings_dict["NAME"])
        connections.close_all()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        call_command("migrate", interactive=False, verbosity=0)
    else:
        call_command("migrate", interactive=False, verbosity=0)
        call_command("flush", interactive=False, verbosity=0)
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {META_TABLE}")


def flush(comments: list, likes: list, flags: list) -> None:
    with transaction.atomic():
        Comment.objects.bulk_create(comments, batch_size=BATCH)
        Like.objects.bulk_create(likes, batch_size=BATCH)
        Flag.objects.bulk_create(flags, batch_size=BATCH)
    comments.clear()
    likes.clear()
    flags.clear()


def generate(*, comments: int = 100_000, articles: int = 1000, readers: int = 500, progress: bool = True) -> None:
    """Fill an empty database (see the module's docstring); ``comments`` counts every comment."""
    rng = random.Random(SEED)
    random.seed(SEED)  # MARKUP's links
    now = timezone.now().replace(microsecond=0)
    max_depth = conf.max_depth()
    hot_hidden = 12
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            # A big page cache: the indexes on created_at take rows in no useful order.
            cursor.execute("PRAGMA cache_size=-524288")
    others_total = comments - HOT_COMMENTS - hot_hidden
    if others_total < articles:
        raise SystemExit(f"--comments must be at least {HOT_COMMENTS + hot_hidden + articles}.")

    # Readers: one password hash for all (hashing is slow on purpose), the benchmark reader first.
    password = make_password(BENCH_PASSWORD)
    # Each reader has a profile (posting creates one); some left their display name empty.
    people = [Reader(id=1, username="bench", email=BENCH_EMAIL, password=password)]
    profiles = [ReaderProfile(user_id=1, display_name="Bench Reader")]
    for n in range(2, readers + 1):
        name = rng.choice(["", f"Reader {n}", f"{rng.choice(SENTENCES).split()[0]} {n}"])
        people.append(Reader(id=n, username=f"reader{n}", email=f"reader{n}@example.com", password=password,
                             date_joined=now - timedelta(days=rng.randrange(1, 2000))))
        profiles.append(ReaderProfile(user_id=n, display_name=name))
    Reader.objects.bulk_create(people, batch_size=BATCH)
    ReaderProfile.objects.bulk_create(profiles, batch_size=BATCH)
    EmailAddress.objects.bulk_create(
        [EmailAddress(user_id=p.id, email=p.email, verified=True, primary=True) for p in people], batch_size=BATCH
    )
    BannedWord.objects.bulk_create([BannedWord(word=w, action=a) for w, a in BANNED_WORDS])

    # Articles: the hot one, the posting target, and the rest (older, one per ~day).
    keys = article_keys(articles)
    shelf = [
        Article(id=1, key=HOT, title="Breaking: the story everyone is talking about",
                published_at=now - timedelta(hours=6), url="https://news.example.com/hot",
                body="A developing story.\n\nMore soon."),
        Article(id=2, key=POST_TARGET, title="Open thread", published_at=now - timedelta(hours=1),
                url="https://news.example.com/open-thread", body="Say what you think."),
    ]
    shelf += [
        Article(id=n + 3, key=key, title=f"Story number {n + 1}", url=f"https://news.example.com/{key}",
                published_at=now - timedelta(days=n, hours=rng.randrange(24)), body="Text.\n\nMore text.")
        for n, key in enumerate(keys)
    ]
    Article.objects.bulk_create(shelf, batch_size=BATCH)

    # How many comments each article gets: the hot one exactly, the others around the mean.
    sizes = [max(1, int(rng.gauss(1, 0.5) * others_total / articles)) for _ in keys]
    scale = others_total / sum(sizes)
    sizes = [max(1, int(s * scale)) for s in sizes]
    sizes[-1] += others_total - sum(sizes)
    if sizes[-1] < 1:  # rounding took too much from the last one: take it from the largest
        largest = sizes.index(max(sizes))
        sizes[largest] += sizes[-1] - 1
        sizes[-1] = 1

    plan = [(shelf[0], HOT_COMMENTS + hot_hidden, HOT_ROOTS, hot_hidden)]
    plan += [(article, size, max(1, int(size * rng.uniform(0.15, 0.4))), None)
             for article, size in zip(shelf[2:], sizes, strict=True)]

    pool = [body_pair(make_body(rng)) for _ in range(3000)]
    pending_comments, pending_likes, pending_flags = [], [], []
    next_id = like_id = flag_id = 1
    counts = {}
    bar = tqdm(total=comments, unit=" comments", disable=not progress, mininterval=0.5)
    reader_ids = range(1, readers + 1)
    for article, size, roots, hidden in plan:
        hot = article.key == HOT
        nodes = build_thread(rng, size=size, roots=roots, first_id=next_id, max_depth=max_depth)
        next_id += size
        if hot:
            hidden_nodes = hide_some(rng, nodes, leaves=hidden, tombstones=0)
            hidden_nodes[0].status, hidden_nodes[0].deleted = PENDING, False
            hidden_nodes[0].author = 1  # the benchmark reader sees their own pending reply
        else:
            hidden_nodes = hide_some(rng, nodes, leaves=int(size * 0.03), tombstones=int(size * 0.005))
        span = (now - timedelta(minutes=20) - article.published_at).total_seconds()
        offsets = sorted(rng.uniform(60, span) for _ in nodes)
        for node, offset in zip(nodes, offsets, strict=True):
            if node.author is None:
                node.author = 1 if hot and rng.random() < 0.01 else rng.choice(reader_ids)
            node.created_at = article.published_at + timedelta(seconds=offset)
            node.edited_at = node.created_at + timedelta(minutes=rng.randint(1, 14)) if rng.random() < 0.03 else None
            node.body, node.body_html = body_pair(make_body(rng)) if hot else rng.choice(pool)
        visible_children = Counter(n.parent.id for n in nodes if n.parent is not None and n.visible)
        for node in nodes:
            if node.visible:
                liked = int(rng.paretovariate(1.3)) * (3 if hot else 1)
                node.likes = 0 if rng.random() < 0.55 else min(readers - 1, liked)
                likers = rng.sample(reader_ids, node.likes)
                if hot and 1 not in likers and rng.random() < 0.1:
                    likers.append(1)  # the signed-in reader's likes show in their overlay
                node.likes = len(likers)
                when = node.created_at + timedelta(minutes=5)
                for reader in likers:
                    pending_likes.append(Like(id=like_id, comment_id=node.id, reader_id=reader, created_at=when))
                    like_id += 1
                if rng.random() < 0.004:
                    for reader in rng.sample(reader_ids, rng.randint(1, 2)):
                        pending_flags.append(Flag(id=flag_id, comment_id=node.id, reader_id=reader,
                                                  reason=rng.choice(Flag.Reason.values), created_at=when))
                        flag_id += 1
                        node.flags += 1
            pending_comments.append(Comment(
                id=node.id, article_id=article.id, author_id=node.author,
                parent_id=node.parent.id if node.parent else None, root_id=node.root.id if node.root else None,
                in_reply_to_id=node.in_reply_to.id if node.in_reply_to else None, depth=node.depth,
                body=node.body, body_html=node.body_html, status=node.status, is_deleted=node.deleted,
                deleted_at=node.created_at + timedelta(hours=1) if node.deleted else None,
                created_at=node.created_at, edited_at=node.edited_at, like_count=node.likes,
                reply_count=visible_children[node.id], open_flag_count=node.flags,
            ))
        counts[article.id] = sum(n.visible for n in nodes)
        if len(pending_comments) >= BATCH:
            bar.update(len(pending_comments))
            flush(pending_comments, pending_likes, pending_flags)
    bar.update(len(pending_comments))
    flush(pending_comments, pending_likes, pending_flags)
    bar.close()
    for article in shelf:
        article.comment_count = counts.get(article.id, 0)
    Article.objects.bulk_update(shelf, ["comment_count"], batch_size=BATCH)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for sql in connection.ops.sequence_reset_sql(no_style(), [Reader, EmailAddress, BannedWord, Article,
                                                                      Comment, Like, Flag]):
                cursor.execute(sql)
            cursor.execute("ANALYZE")


def counter_drift() -> dict[str, int]:
    """Counters that differ from their rows (what ``recount_comments`` would repair), by kind.

    Grouped queries, one per counter: fast at any size, unlike the repair command's subqueries.
    """
    visible = Comment.objects.visible().order_by()
    per_article = dict(visible.values_list("article").annotate(n=Count("id")))
    per_parent = dict(visible.filter(parent__isnull=False).values_list("parent").annotate(n=Count("id")))
    per_comment_likes = dict(Like.objects.order_by().values_list("comment").annotate(n=Count("id")))
    per_comment_flags = dict(Flag.objects.open().order_by().values_list("comment").annotate(n=Count("id")))
    drift = Counter()
    for pk, stored in Article.objects.values_list("pk", "comment_count").iterator():
        drift["comment_count"] += stored != per_article.get(pk, 0)
    rows = Comment.objects.order_by().values_list("pk", "reply_count", "like_count", "open_flag_count")
    for pk, replies, likes, flags in rows.iterator(chunk_size=BATCH):
        drift["reply_count"] += replies != per_parent.get(pk, 0)
        drift["like_count"] += likes != per_comment_likes.get(pk, 0)
        drift["open_flag_count"] += flags != per_comment_flags.get(pk, 0)
    return {name: n for name, n in drift.items() if n}


def clean_post_target() -> int:
    """Remove what the posting workload wrote, so every run starts from the generated data."""
    article = Article.objects.get(key=POST_TARGET)
    with transaction.atomic():
        deleted = Comment.objects.filter(article=article).delete()[1].get("comments.Comment", 0)
        Article.objects.filter(pk=article.pk).update(comment_count=0)
    versions.bump([POST_TARGET], counts=True)
    return deleted


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.generate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--comments", type=int, default=100_000, help="all comments (default 100,000)")
    parser.add_argument("--articles", type=int, default=1000, help="articles besides hot and post-target")
    parser.add_argument("--readers", type=int, default=500)
    parser.add_argument("--reset", action="store_true", help="rebuild even if up to date; wipe foreign data")
    parser.add_argument("--clean", action="store_true", help="only remove the comments a benchmark posted")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    where = connection.settings_dict["NAME"]

    if args.clean:
        print(f"{clean_post_target()} posted comment(s) removed from {POST_TARGET} ({where}).")
        return 0
    key = data_key({"comments": args.comments, "articles": args.articles, "readers": args.readers, "seed": SEED})
    if connection.vendor == "sqlite":
        Path(where).parent.mkdir(parents=True, exist_ok=True)
    call_command("migrate", interactive=False, verbosity=0)
    current = stored_key()
    if current == key and not args.reset:
        print(f"Benchmark data in {where} is up to date ({key}).")
        return 0
    if current is None and Comment.objects.exists() and not args.reset:
        print(f"{where} holds comments the generator did not make; pass --reset to wipe it.", file=sys.stderr)
        return 2
    print(f"Generating {args.comments:,} comments into {where} ...")
    wipe()
    generate(comments=args.comments, articles=args.articles, readers=args.readers, progress=not args.quiet)
    drift = counter_drift()
    if drift:
        print(f"Counters drifted from the rows: {drift}", file=sys.stderr)
        return 1
    versions.bump([HOT, POST_TARGET, *article_keys(args.articles)], counts=True)
    store_key(key)
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    print(f"Done: {Comment.objects.count():,} comments, {Like.objects.count():,} likes; counters exact.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
