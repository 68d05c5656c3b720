"""The admin's sign-in is rate-limited like the readers': guessing a password stops after a few tries."""

from unittest import mock

import pytest
from django.contrib.auth import SESSION_KEY
from django.test import Client

from comments.admin import login as admin_login

LOGIN = "/admin/login/?next=/admin/"
PASSWORD = "correct horse battery"


@pytest.fixture
def clock():
    """Admin sign-in windows on a clock the test moves: ``clock.advance(seconds)``."""

    class Clock:
        t = 1_000_000_200.0  # where the 1- and 5-minute windows start

        def advance(self, seconds: float) -> None:
            self.t += seconds

    c = Clock()
    with mock.patch.object(admin_login, "now", lambda: c.t):
        yield c


def sign_in(client, username: str, password: str, address: str = "203.0.113.7"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address)


def signed_in(client) -> bool:
    return SESSION_KEY in client.session


def test_the_right_password_signs_in(client, moderator, clock):
    response = sign_in(client, "mod", PASSWORD)
    assert response.status_code == 302
    assert signed_in(client)


def test_fifteen_wrong_passwords_then_the_right_one_does_not_sign_in(client, moderator, clock):
    answers = [sign_in(client, "mod", f"guess {n}").status_code for n in range(15)]
    assert answers[:5] == [200] * 5  # the usual "please enter the correct username and password"
    assert set(answers[5:]) == {429}

    response = sign_in(client, "mod", PASSWORD)
    assert response.status_code == 429
    assert not signed_in(client)
    assert response["Retry-After"] == "300"  # the account's window: 5 minutes
    assert "Too many failed sign-in attempts. Try again in 5 minutes." in response.content.decode()

    clock.advance(int(response["Retry-After"]))
    response = sign_in(client, "mod", PASSWORD)
    assert response.status_code == 302
    assert signed_in(client)


def test_refused_attempts_never_check_the_password(client, moderator, clock):
    for n in range(5):
        sign_in(client, "mod", f"guess {n}")
    with mock.patch("django.contrib.auth.forms.authenticate") as authenticate:
        assert sign_in(client, "mod", PASSWORD).status_code == 429
    authenticate.assert_not_called()


def test_the_account_limit_holds_across_addresses(client, moderator, clock):
    for n in range(5):
        sign_in(client, "mod", f"guess {n}", address=f"198.51.100.{n}")
    assert sign_in(client, "MOD ", PASSWORD, address="198.51.100.99").status_code == 429


def test_the_address_limit_holds_across_accounts(client, moderator, make_reader, clock):
    for n in range(10):
        sign_in(client, f"someone{n}", "guess")
    assert sign_in(client, "mod", PASSWORD).status_code == 429
    assert sign_in(client, "mod", PASSWORD, address="192.0.2.1").status_code == 302  # another client


def test_successful_sign_ins_are_not_counted(moderator, clock):
    for _ in range(8):
        client = Client()
        assert sign_in(client, "mod", PASSWORD).status_code == 302
    assert sign_in(Client(), "mod", "one typo").status_code == 200  # still a plain failure


def test_the_limits_are_settings(client, moderator, clock, settings):
    settings.COMMENTS_ADMIN_LOGIN_LIMITS = {"account": (2, 60)}
    sign_in(client, "mod", "guess 1")
    sign_in(client, "mod", "guess 2")
    response = sign_in(client, "mod", PASSWORD)
    assert response.status_code == 429
    assert "Try again in 1 minute." in response.content.decode()


def test_a_cache_outage_does_not_stop_sign_in(client, moderator, clock):
    with mock.patch.object(admin_login.cache, "incr", side_effect=ConnectionError("Redis is away")):
        assert sign_in(client, "mod", PASSWORD).status_code == 302
