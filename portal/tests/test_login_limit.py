"""The login page stops checking passwords for a user name or an address after too many failures."""

import time

import pytest
from django.contrib.auth import forms as auth_forms

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"


@pytest.fixture(autouse=True)
def quick_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def vera(django_user_model):
    return django_user_model.objects.create_user("vera", password="pw-vera-123")


@pytest.fixture
def password_checks(monkeypatch):
    """Counts every time the login form asks the auth backends to check a password."""
    checks = []
    original = auth_forms.authenticate

    def counting(*args, **kwargs):
        checks.append(kwargs.get("username"))
        return original(*args, **kwargs)

    monkeypatch.setattr(auth_forms, "authenticate", counting)
    return checks


def log_in(client, username, password, address="192.0.2.10", **headers):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address, **headers)


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_after_ten_failures_for_a_user_the_right_password_is_not_even_checked(client, vera, password_checks):
    for attempt in range(10):
        response = log_in(client, "vera", f"wrong-{attempt}", address=f"192.0.2.{attempt}")
        assert response.status_code == 200
        assert "didn't match" in response.content.decode()

    blocked = log_in(client, "vera", "pw-vera-123", address="198.51.100.7")

    assert blocked.status_code == 429
    assert "Too many failed log-ins" in blocked.content.decode()
    assert "Try again in 15 minutes" in blocked.content.decode()
    assert blocked["Retry-After"] == "900"
    assert not signed_in(client)
    assert len(password_checks) == 10


def test_after_ten_failures_from_an_address_every_user_name_is_refused_there(client, vera, password_checks):
    for attempt in range(10):
        log_in(client, f"guess-{attempt}", "wrong", address="203.0.113.9")

    assert log_in(client, "vera", "pw-vera-123", address="203.0.113.9").status_code == 429
    assert len(password_checks) == 10

    assert log_in(client, "vera", "pw-vera-123", address="198.51.100.7").status_code == 302
    assert signed_in(client)


def test_behind_a_proxy_the_address_is_the_one_the_proxy_saw(client, vera, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    for attempt in range(10):
        # A client cannot dodge the limit by sending its own X-Forwarded-For: the proxy appends the real one.
        log_in(
            client,
            f"guess-{attempt}",
            "wrong",
            address="10.0.0.2",
            HTTP_X_FORWARDED_FOR=f"1.2.3.{attempt}, 203.0.113.9",
        )

    assert (
        log_in(client, "vera", "pw-vera-123", address="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.9").status_code == 429
    )
    assert (
        log_in(client, "vera", "pw-vera-123", address="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.7").status_code
        == 302
    )


def test_the_block_ends_with_its_window(client, vera, settings):
    settings.OKAMI_LOGIN_FAILURE_LIMIT = 2
    settings.OKAMI_LOGIN_FAILURE_WINDOW_SECONDS = 1
    log_in(client, "vera", "wrong")
    log_in(client, "vera", "wrong")
    assert log_in(client, "vera", "pw-vera-123").status_code == 429

    time.sleep(1.2)

    assert log_in(client, "vera", "pw-vera-123").status_code == 302


def test_a_correct_password_clears_the_count_of_its_user_name(client, vera, settings):
    settings.OKAMI_LOGIN_FAILURE_LIMIT = 3
    for attempt in range(2):
        log_in(client, "vera", "wrong", address=f"192.0.2.{attempt}")
    assert log_in(client, "vera", "pw-vera-123", address="192.0.2.50").status_code == 302
    client.logout()

    for attempt in range(2):
        log_in(client, "vera", "wrong", address=f"198.51.100.{attempt}")

    assert log_in(client, "vera", "pw-vera-123", address="192.0.2.51").status_code == 302
