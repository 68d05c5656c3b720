"""The isso peer of the HTTP benchmark: configured fairly, seeded as documented, compared per goal."""

import configparser
import random

import pytest

from benchmarks import http, peers


def test_isso_runs_without_rate_limits_moderation_or_notifications(tmp_path):
    config = configparser.ConfigParser()
    config.read_string(peers.isso_config(tmp_path / "comments.db"))
    assert config["general"]["dbpath"] == str(tmp_path / "comments.db")
    assert config["general"]["host"] == peers.ISSO_SITE
    assert config["general"]["notify"] == ""
    assert not config.getboolean("general", "reply-notifications")
    assert not config.getboolean("guard", "enabled")
    assert not config.getboolean("moderation", "enabled")


def test_isso_is_pinned_and_runs_on_our_gunicorn():
    requirements = (peers.BASE_DIR / "requirements.txt").read_text().splitlines()
    assert peers.isso_requirements() == [f"isso=={peers.ISSO_VERSION}",
                                         next(line for line in requirements if line.startswith("gunicorn=="))]


def test_isso_is_served_by_sync_gunicorn_workers_with_the_settings_in_the_run_directory(tmp_path):
    peer = peers.IssoPeer(tmp_path / "python", 2)
    command = peer.command(8123, 2)
    assert command[command.index("--workers") + 1] == "2"
    assert command[command.index("--worker-class") + 1] == "sync"
    assert "isso.run:application" in command
    env = peer.environment(8123, 2, str(tmp_path))
    assert peers.ISSO_VERSION in peer.label
    assert "dbpath = " + str(tmp_path / "comments.db") in (tmp_path / "isso.cfg").read_text()
    assert env == {"ISSO_SETTINGS": str(tmp_path / "isso.cfg")}


def test_the_seeded_thread_has_1000_comments_200_of_them_top_level():
    roots, replies = peers.hot_comments(random.Random(peers.SEED))
    assert len(roots) == peers.HOT_ROOTS == 200
    assert len(roots) + len(replies) == peers.HOT_COMMENTS == 1000
    assert "title" in roots[0]  # the first post creates the thread
    assert all(0 <= root < len(roots) for root, _ in replies)


def test_a_thread_that_is_not_the_seeded_one_fails_the_check():
    answer = b'{"total_replies": 3, "replies": [{"id": 1, "replies": [{"id": 2}, {"id": 3}]}]}'
    with pytest.raises(peers.PeerFailed, match="has 3 comments, 1 top-level, 3 shown"):
        peers.check_thread(answer)


def row(deployment, workload, rps, *, peer=None):
    result = http.Result(deployment, workload, 100, 3, rounds=[http.Run(rps, 1.0, 2.0)])
    if not peer:
        result.ceiling.append(http.Run(1000.0, 1.0, 2.0))
    return {**result.as_dict(), **({"peer": peer} if peer else {})}


def test_each_of_our_deployments_is_compared_with_isso_per_goal():
    rows = [row("gunicorn", "W3", 300.0), row("uvicorn", "W3", 100.0), row("gunicorn", "W2", 500.0),
            row("isso", "W3", 200.0, peer="isso")]
    assert http.peer_goals(rows) == [
        "W3: ours 300.0 req/s = 1.50 × isso (200.0 req/s) (goal ≥ 1.5: met) on gunicorn",
        "W3: ours 100.0 req/s = 0.50 × isso (200.0 req/s) (goal ≥ 1.5: NOT met) on uvicorn",
    ]


def test_a_peer_row_has_no_ceiling_and_the_table_says_so(capsys):
    peer_row = row("isso", "W1", 2.0, peer="isso")
    assert peer_row["ceiling_requests_per_s"] is None and peer_row["ratio"] is None
    http.print_table([row("gunicorn", "W1", 20.0), peer_row], duration=3)
    lines = capsys.readouterr().out.splitlines()
    assert lines[2].endswith("| 1,000 | 0.020 |")
    assert lines[3].endswith("| — | — |")
