"""Big sub-threads stay light: a top-level comment carries at most COMMENTS_REPLIES_SHOWN nodes of
its subtree, and ``more_replies.next`` / ``next`` deliver the rest, in thread order, each once."""

import pytest
from django.test import Client

from comments import payloads, services
from comments.models import ReaderProfile

from .test_api_comments import thread_url

SHOWN = 3


@pytest.fixture(autouse=True)
def _few_replies_shown(settings):
    settings.COMMENTS_REPLIES_SHOWN = SHOWN


def ids(nodes) -> list[int]:
    return [node["id"] for node in payloads._walk(nodes)]


def thread_order(comment) -> list[int]:
    """The ids of a comment's visible subtree, depth first, oldest first among siblings."""
    order = []
    for child in comment.children.order_by("created_at", "id"):
        order.append(child.pk)
        order.extend(thread_order(child))
    return order


def follow(client, url: str) -> tuple[list[dict], list[dict]]:
    """Every batch from ``url`` until ``next`` is null: (batches, every node depth first)."""
    batches, nodes = [], []
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.content
        batch = response.json()
        batches.append(batch)
        nodes.extend(payloads._walk(batch["results"]))
        url = batch["next"]
    return batches, nodes


def attach(top: dict, batches: list[dict]) -> dict:
    """What a client does: put each result under the node its ``parent`` names."""
    by_id = {node["id"]: node for node in payloads._walk([top])}
    for batch in batches:
        for node in batch["results"]:
            by_id[node["parent"]]["replies"].append(node)
            by_id.update({n["id"]: n for n in payloads._walk([node])})
    return top


@pytest.fixture
def big_thread(article, post, other_reader):
    """A top-level comment with 9 replies at several depths:
    root > [a > [a1 > [a1x], a2], b, c > [c1], d, e]."""
    root = post(article, "root")
    a = post(article, "a", parent=root, author=other_reader)
    a1 = post(article, "a1", parent=a)
    post(article, "a1x", parent=a1, author=other_reader)
    post(article, "a2", parent=a)
    post(article, "b", parent=root)
    c = post(article, "c", parent=root, author=other_reader)
    post(article, "c1", parent=c)
    post(article, "d", parent=root)
    post(article, "e", parent=root)
    return root


def test_a_top_level_comment_is_cut_after_the_setting_with_the_count_left(article, big_thread):
    page = Client().get(thread_url(article)).json()
    [top] = page["results"]
    order = thread_order(big_thread)
    assert ids(top["replies"]) == order[:SHOWN]
    assert top["more_replies"]["count"] == len(order) - SHOWN == 6
    assert top["more_replies"]["next"].startswith(f"/api/v1/comments/{big_thread.pk}/replies/?cursor=")
    # Only the top-level comment's budget is cut: nested nodes never carry the key's value.
    assert all(node["more_replies"] is None for node in payloads._walk(top["replies"]))


def test_a_small_thread_is_not_cut(article, post):
    root = post(article, "root")
    for n in range(SHOWN):
        post(article, f"reply {n}", parent=root)
    [top] = Client().get(thread_url(article)).json()["results"]
    assert len(top["replies"]) == SHOWN and top["more_replies"] is None


def test_following_next_yields_every_reply_once_in_order_under_its_parent(article, big_thread):
    client = Client()
    [top] = client.get(thread_url(article)).json()["results"]
    batches, nodes = follow(client, top["more_replies"]["next"])
    order = thread_order(big_thread)
    assert [n["id"] for n in nodes] == order[SHOWN:]  # each once, in thread order
    assert [len(list(payloads._walk(b["results"]))) for b in batches] == [3, 3]
    assert [b["remaining"] for b in batches] == [3, 0]
    # Attached by parent, the batches rebuild exactly the uncut thread.
    whole = payloads.comment(big_thread.pk, viewer=None)
    assert attach(top, batches) == whole | {"more_replies": top["more_replies"]}


def test_a_batch_nests_replies_whose_parent_it_holds(article, big_thread):
    batch = Client().get(f"/api/v1/comments/{big_thread.pk}/replies/").json()
    # The first batch from no cursor: a > a1 > a1x, as one tree.
    [a] = batch["results"]
    assert [a["body_html"], a["replies"][0]["body_html"], a["replies"][0]["replies"][0]["body_html"]] == [
        "<p>a</p>", "<p>a1</p>", "<p>a1x</p>"]
    second = Client().get(batch["next"]).json()["results"]
    # a2's parent (a) came earlier: a2 is a root of this batch and names it.
    assert [(n["body_html"], n["parent"]) for n in second] == [
        ("<p>a2</p>", a["id"]), ("<p>b</p>", big_thread.pk), ("<p>c</p>", big_thread.pk)]


def test_a_pending_reply_shows_only_to_its_author_in_the_thread_and_in_the_batches(
    article, big_thread, post, make_reader, api_client, moderator
):
    held = make_reader("Held")
    services.set_reader_moderation(reader=held, moderator=moderator, moderation=ReaderProfile.Moderation.ALWAYS)
    pending = post(article, "mine, pending", parent=big_thread, author=held)

    def every_id(client) -> list[int]:
        [top] = client.get(thread_url(article)).json()["results"]
        return ids(top["replies"]) + [n["id"] for n in follow(client, top["more_replies"]["next"])[1]]

    assert pending.pk in every_id(api_client(held))
    assert pending.pk not in every_id(api_client())
    assert pending.pk not in every_id(api_client(make_reader("Someone else")))


def test_a_tombstone_kept_only_for_a_cut_reply_waits_for_that_reply(article, post, reader, other_reader):
    root = post(article, "root")
    post(article, "one", parent=root)
    post(article, "two", parent=root)
    gone = post(article, "gone", parent=root, author=other_reader)
    below = post(article, "below the gone one", parent=gone)
    services.delete_comment(comment=gone, actor=other_reader)

    client = Client()
    [top] = client.get(thread_url(article)).json()["results"]
    # Three fit, but the third would be a tombstone whose reply is cut: it is left for later.
    assert [n["body_html"] for n in payloads._walk(top["replies"])] == ["<p>one</p>", "<p>two</p>"]
    assert top["more_replies"]["count"] == 2
    [batch] = follow(client, top["more_replies"]["next"])[0]
    [tombstone] = batch["results"]
    assert (tombstone["id"], tombstone["status"], tombstone["author"]) == (gone.pk, "deleted", None)
    assert tombstone["replies"][0]["id"] == below.pk


def test_a_cursor_outlives_the_reply_it_names(article, big_thread, other_reader):
    client = Client()
    [top] = client.get(thread_url(article)).json()["results"]
    last_shown = big_thread.children.order_by("created_at", "id").first()  # a: its whole subtree is shown
    a1x = last_shown.children.first().children.first()
    services.delete_comment(comment=a1x, actor=other_reader)  # the node the cursor names is gone
    batches, nodes = follow(client, top["more_replies"]["next"])
    assert [n["id"] for n in nodes] == thread_order(big_thread)[SHOWN:]
    assert a1x.pk not in [n["id"] for n in nodes]


def test_the_comment_itself_is_cut_too(article, big_thread, api_client):
    body = api_client().get(f"/api/v1/comments/{big_thread.pk}/").json()
    assert len(list(payloads._walk(body["replies"]))) == SHOWN
    assert body["more_replies"]["count"] == 6


@pytest.mark.parametrize("cursor", ["nonsense", "", "!!!", "MjAyNi0wMS0wMVQwMDowMDowMC8x", "eA", "A" * 3000])
def test_a_bad_cursor_is_a_400_json(big_thread, cursor):
    response = Client().get(f"/api/v1/comments/{big_thread.pk}/replies/", {"cursor": cursor})
    if cursor == "":  # an empty cursor is no cursor (as on thread pages)
        assert response.status_code in (200, 400)
        return
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "invalid_cursor" or "cursor" in response.json().get("fields", {})


@pytest.mark.parametrize("make_hidden", ["unknown", "removed", "pending"])
def test_replies_of_a_comment_you_cannot_see_are_a_404(article, post, make_reader, moderator, make_hidden):
    if make_hidden == "unknown":
        comment_id = 999_999
    else:
        held = make_reader("Held")
        if make_hidden == "pending":
            services.set_reader_moderation(reader=held, moderator=moderator, moderation=ReaderProfile.Moderation.ALWAYS)
        comment = post(article, "hidden", author=held)
        if make_hidden == "removed":
            services.reject_comment(comment=comment, moderator=moderator)
        comment_id = comment.pk
    response = Client().get(f"/api/v1/comments/{comment_id}/replies/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_a_nested_comment_s_replies_work_too(article, big_thread):
    a = big_thread.children.order_by("created_at", "id").first()
    batches, nodes = follow(Client(), f"/api/v1/comments/{a.pk}/replies/")
    assert [n["id"] for n in nodes] == thread_order(a)


@pytest.mark.parametrize("signed_in", [False, True])
def test_a_batch_costs_the_same_queries_for_10_and_100_replies(
    article, post, reader, api_client, django_assert_num_queries, signed_in
):
    client = api_client(reader if signed_in else None)
    for size in (10, 100):
        root = post(article, f"root {size}")
        parent = root
        for n in range(size):
            reply = post(article, f"reply {n}", parent=parent)
            parent = reply if n % 3 == 0 else root
        url = client.get(f"/api/v1/comments/{root.pk}/replies/").json()["next"]
        # The comment, its thread (one query on the root index), and the reader's likes when
        # signed in; anonymous: the comment's article (for the cache version) instead of likes...
        with django_assert_num_queries(3):
            assert client.get(url).status_code == 200
        if not signed_in:  # ... and then the cached bytes
            with django_assert_num_queries(1):
                assert client.get(url).status_code == 200


def test_an_anonymous_batch_is_cached_until_the_thread_changes(big_thread, other_reader):
    url = f"/api/v1/comments/{big_thread.pk}/replies/"
    first = Client().get(url)
    assert first["Cache-Control"].startswith("public")
    assert Client().get(url, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    a = big_thread.children.order_by("created_at", "id").first()
    services.edit_comment(comment=a, editor=other_reader, body="a, edited")
    again = Client().get(url)
    assert again.status_code == 200 and again["ETag"] != first["ETag"]
    assert again.json()["results"][0]["body_html"] == "<p>a, edited</p>"


def test_the_cursor_is_the_position_after_a_node(big_thread):
    head = payloads._subtree(big_thread.pk, viewer=None)
    path = list(payloads._flat(head["replies"]))[2][1]
    assert len(path) == 3  # a > a1 > a1x
    assert payloads.decode_cursor(payloads.encode_cursor(path)) == path


def test_cut_at_never_ends_a_batch_on_a_tombstone():
    tomb, shown = True, False
    assert payloads.cut_at([shown, shown, shown, shown], 0, 3) == 3
    assert payloads.cut_at([shown, shown, tomb, shown], 0, 3) == 2
    assert payloads.cut_at([shown, tomb, tomb, shown], 0, 3) == 1
    # A batch of tombstones only would be empty: it runs on to the first comment instead.
    assert payloads.cut_at([tomb, tomb, tomb, shown, shown], 0, 2) == 4
    assert payloads.cut_at([shown, shown, shown], 1, 5) == 3
    assert payloads.cut_at([shown, shown, shown], 3, 5) == 3


# --- Links never carry what the client wrote in Host (issue 16.9) -------------------------------------


def every_link(answer: dict) -> list[str]:
    """``next`` / ``previous`` of a page or batch, and ``more_replies.next`` of every node in it."""
    links = [answer.get(name) for name in ("next", "previous")]
    links += [(node.get("more_replies") or {}).get("next") for node in payloads._walk(answer["results"])]
    return [link for link in links if link]


@pytest.mark.parametrize("host", ["testserver:6666", "testserver:1", "testserver:8000", "TESTSERVER:443"])
@pytest.mark.parametrize("signed_in", [False, True])
def test_links_never_carry_the_host_or_port_the_client_sent(article, big_thread, post, reader, host, signed_in):
    for i in range(2):
        post(article, f"another root {i}")
    client = Client()
    if signed_in:
        client.force_login(reader)
    page = client.get(thread_url(article), {"page_size": 1, "sort": "oldest"}, headers={"host": host}).json()
    batch = client.get(page["results"][0]["more_replies"]["next"], headers={"host": host}).json()
    second = client.get(page["next"], headers={"host": host}).json()

    links = every_link(page) + every_link(batch) + every_link(second)
    assert len(links) >= 4
    assert all(link.startswith("/api/v1/") for link in links), links
    # The same page through the shared cache, asked for without the port, is the same bytes.
    plain = Client().get(thread_url(article), {"page_size": 1, "sort": "oldest"}).json()
    assert every_link(plain) == every_link(page)
