"""Timing tells nobody who has an account (issue 16.10): sign-up and sign-in do the same password
hashing whether the email has an account or not. Counted, never timed: the hasher is spied on."""

from unittest import mock

import pytest
from django.contrib.auth.hashers import get_hasher
from django.test import Client

from tests.conftest import Reader

KNOWN = "known@example.com"


@pytest.fixture(autouse=True)
def _production_verification(settings):
    """As in production: with verification optional (development), allauth answers a taken email
    with an error, which tells more than any timing; mandatory, it answers both alike."""
    settings.ACCOUNT_EMAIL_VERIFICATION = "mandatory"


@pytest.fixture
def hashes(db):
    """How many times the password hasher ran during the ``with`` block's requests."""
    hasher = type(get_hasher("default"))
    with mock.patch.object(hasher, "encode", autospec=True, side_effect=hasher.encode) as spy:
        yield spy


@pytest.fixture
def known(db):
    return Reader.objects.create_user(username="known", email=KNOWN, password="the real pass phrase 1")


def hashing_of(hashes, request) -> int:
    before = hashes.call_count
    response = request()
    assert response.status_code < 500, response.content
    return hashes.call_count - before


@pytest.mark.parametrize("client_kind", ["app", "browser"])
@pytest.mark.parametrize("name", ["Ani", "Анна", "Անի"])
def test_sign_up_hashes_alike_for_a_taken_and_a_new_email(hashes, known, client_kind, name):
    def sign_up(email):
        return lambda: Client().post(f"/_allauth/{client_kind}/v1/auth/signup",
                                     {"email": email, "password": "a long pass phrase 1", "display_name": name},
                                     content_type="application/json")

    taken = hashing_of(hashes, sign_up(KNOWN))
    new = hashing_of(hashes, sign_up("new@example.com"))
    assert new >= 1
    assert taken == new
    assert Reader.objects.filter(email__iexact=KNOWN).count() == 1


def test_the_sign_up_page_hashes_alike_for_a_taken_and_a_new_email(hashes, known):
    def sign_up(email):
        return lambda: Client().post("/accounts/signup/", {"email": email, "password1": "a long pass phrase 1",
                                                           "password2": "a long pass phrase 1", "display_name": "Ani"})

    assert hashing_of(hashes, sign_up(KNOWN)) == hashing_of(hashes, sign_up("new@example.com")) >= 1


@pytest.mark.parametrize("client_kind", ["app", "browser"])
def test_sign_in_hashes_alike_for_an_unknown_email_and_a_wrong_password(hashes, known, client_kind):
    def sign_in(email):
        return lambda: Client().post(f"/_allauth/{client_kind}/v1/auth/login",
                                     {"email": email, "password": "not the pass phrase"},
                                     content_type="application/json")

    assert hashing_of(hashes, sign_in("nobody@example.com")) == hashing_of(hashes, sign_in(KNOWN)) >= 1


def test_sign_up_with_a_bad_password_hashes_nothing_either_way(hashes, known):
    def sign_up(email):
        return lambda: Client().post("/_allauth/app/v1/auth/signup",
                                     {"email": email, "password": "123", "display_name": "Ani"},
                                     content_type="application/json")

    assert hashing_of(hashes, sign_up(KNOWN)) == hashing_of(hashes, sign_up("new@example.com"))
