"""The client's address behind proxies (issue 16.5): one setting, NUM_PROXIES, for DRF's throttles,
allauth's rate limits and the admin's sign-in; a forged X-Forwarded-For gains nothing; allauth's
refusals say when to retry."""

import pytest
from django.test import Client

from comments.middleware import client_address

LOGIN = "/_allauth/app/v1/auth/login"


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, None, "10.0.0.9"),
        (0, "6.6.6.6", "10.0.0.9"),  # no proxy of ours: nothing in the header is believed
        (1, None, "10.0.0.9"),
        (1, "203.0.113.5", "203.0.113.5"),
        (1, "6.6.6.6, 203.0.113.5", "203.0.113.5"),  # the client wrote 6.6.6.6 itself
        (1, "6.6.6.6,7.7.7.7,  203.0.113.5", "203.0.113.5"),
        (2, "6.6.6.6, 203.0.113.5, 198.51.100.1", "203.0.113.5"),
        (2, "203.0.113.5", "203.0.113.5"),  # fewer entries than proxies: the leftmost
        (1, "2001:db8::1", "2001:db8::1"),
        (1, "6.6.6.6, not-an-address", "10.0.0.9"),
        (1, "", "10.0.0.9"),
    ],
)
def test_the_client_is_the_entry_our_outermost_proxy_wrote(proxies, forwarded, expected):
    meta = {"REMOTE_ADDR": "10.0.0.9"}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    assert client_address(meta, proxies) == expected


def get_article(client, article, forwarded):
    return client.get(f"/api/v1/articles/{article.key}/", headers={"x-forwarded-for": forwarded})


def test_without_proxies_a_forged_forwarded_for_does_not_escape_the_api_throttle(settings, article):
    settings.COMMENTS_THROTTLE_RATES = {"anon": "2/min"}
    client = Client(REMOTE_ADDR="10.0.0.9")
    answers = [get_article(client, article, f"6.6.6.{i}").status_code for i in range(3)]
    assert answers == [200, 200, 429]


def test_behind_a_proxy_each_client_has_its_own_api_throttle(settings, article):
    settings.NUM_PROXIES = 1
    settings.COMMENTS_THROTTLE_RATES = {"anon": "2/min"}
    nginx = Client(REMOTE_ADDR="127.0.0.1")
    one = [get_article(nginx, article, f"6.6.6.{i}, 203.0.113.5").status_code for i in range(3)]
    other = get_article(nginx, article, "198.51.100.7")
    assert one == [200, 200, 429]
    assert other.status_code == 200


def fail_sign_in(client, n: int, forwarded: str | None = None):
    headers = {"x-forwarded-for": forwarded} if forwarded else {}
    return client.post(LOGIN, {"email": f"nobody{n}@example.com", "password": "wrong wrong"},
                       content_type="application/json", headers=headers)


def too_many(response) -> bool:
    """allauth refused the sign-in for too many failed attempts (a 400 with its own code)."""
    assert response.status_code == 400, response.content
    return [e["code"] for e in response.json()["errors"]] == ["too_many_login_attempts"]


@pytest.mark.django_db
def test_without_proxies_a_forged_forwarded_for_does_not_escape_allauths_limit():
    client = Client(REMOTE_ADDR="10.0.0.9")
    answers = [fail_sign_in(client, i, f"6.6.6.{i}") for i in range(11)]
    assert [too_many(a) for a in answers] == [False] * 10 + [True]


@pytest.mark.django_db
def test_behind_a_proxy_one_clients_failed_sign_ins_do_not_lock_out_another(settings):
    settings.NUM_PROXIES = 1
    nginx = Client(REMOTE_ADDR="127.0.0.1")
    answers = [fail_sign_in(nginx, i, f"6.6.6.{i}, 203.0.113.5") for i in range(11)]
    assert [too_many(a) for a in answers] == [False] * 10 + [True]
    assert not too_many(fail_sign_in(nginx, 99, "198.51.100.7"))


@pytest.mark.django_db
def test_allauths_refusal_of_sign_in_says_when_to_retry():
    client = Client(REMOTE_ADDR="10.0.0.9")
    for i in range(10):
        assert "Retry-After" not in fail_sign_in(client, i)
    refused = fail_sign_in(client, 10)
    assert too_many(refused)
    assert 1 <= int(refused["Retry-After"]) <= 60  # the 10/m/ip window


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/_allauth/app/v1/auth/signup", "/_allauth/browser/v1/auth/signup",
                                  "/accounts/signup/"])
def test_allauths_429_says_when_to_retry(settings, path):
    settings.ACCOUNT_RATE_LIMITS = {"signup": "2/m/ip"}
    client = Client(REMOTE_ADDR="10.0.0.9", enforce_csrf_checks=False)
    for _ in range(3):
        if path.startswith("/_allauth/"):
            refused = client.post(path, {"email": "x"}, content_type="application/json")
        else:
            refused = client.post(path, {"email": "x"})
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
