# mypy: disable-error-code="import-untyped,misc,untyped-decorator"
# (Django and DRF ship no type information.)
"""One lockout count per account in a Django project, whichever login route and name is used:
the token view (``/token/obtain/``, the username) and the auth API (``/auth/login``, the email)
share it, and an unknown name is counted and answered as a known one (issue 13)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integrations.django_project import configure

configure()  # before DRF is imported: its views read the settings at import

from django.apps import apps  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connections  # noqa: E402
from django.test import override_settings  # noqa: E402
from django.urls import include, path  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from jwtauth.integrations.django_app.apps import JWTAuthConfig  # noqa: E402
from jwtauth.integrations.django_app.auth_api import jwtauth_urls  # noqa: E402
from jwtauth.integrations.drf import token_urls  # noqa: E402

PASSWORD = "correct horse battery staple"  # pragma: allowlist secret
WRONG = "not the password"  # pragma: allowlist secret
THRESHOLD = 4

# This module is the URLconf of its tests: both login routes of an embedded project.
urlpatterns = [path("token/", include(token_urls())), path("", include(jwtauth_urls))]


def config() -> JWTAuthConfig:
    found: JWTAuthConfig = apps.get_app_config("jwtauth")
    return found


@pytest.fixture(autouse=True)
def project(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Lockout at :data:`THRESHOLD`, rate limits off (the lockout alone is under test), read
    when the state is rebuilt; this module's URLconf."""
    monkeypatch.setenv("JWTAUTH_RATE_LIMITS", "false")
    monkeypatch.setenv("JWTAUTH_LOCKOUT_THRESHOLD", str(THRESHOLD))
    config().reset()
    with override_settings(ROOT_URLCONF=__name__):
        yield
    config().reset()


@pytest.fixture
def account() -> Iterator[tuple[str, str]]:
    """A user's (username, email): names of its own, as the failures stay in the database."""
    name = f"lock-{uuid.uuid4().hex[:12]}"
    email = f"{name}@example.com"
    user = get_user_model().objects.create_user(name, email=email, password=PASSWORD)
    try:
        yield name, email
    finally:
        user.delete()


def obtain(client: APIClient, username: str, password: str) -> Any:
    return client.post("/token/obtain/", {"username": username, "password": password})


def login(client: APIClient, email: str, password: str) -> Any:
    # The auth API refuses plain HTTP in production (DEBUG is off): the request is HTTPS.
    body = {"email": email, "password": password}
    return client.post("/auth/login", body, format="json", secure=True)


def assert_locked(answer: Any) -> None:
    assert answer.status_code == 429, answer.content
    assert answer["Content-Type"] == "application/problem+json"
    assert answer.json()["type"] == "urn:jwtauth:problem:account_locked"
    assert int(answer["Retry-After"]) >= 1


def test_failures_on_both_routes_lock_the_account_at_the_threshold(
    account: tuple[str, str],
) -> None:
    username, email = account
    client = APIClient()
    wrong = [
        obtain(client, username, WRONG) if i % 2 == 0 else login(client, email, WRONG)
        for i in range(THRESHOLD)
    ]
    # Every failure up to the threshold is evaluated (no double count locks it earlier) ...
    assert [a.status_code for a in wrong] == [401] * THRESHOLD, [a.content for a in wrong]
    # ... and the threshold counted over both routes locks the account on both, the right
    # password included (two counts would let it through: two failures each).
    assert_locked(obtain(client, username, PASSWORD))
    assert_locked(login(client, email, PASSWORD))
    assert_locked(obtain(client, username.upper(), PASSWORD))  # any spelling of the name


def test_a_success_on_one_route_clears_the_count_of_the_other(account: tuple[str, str]) -> None:
    username, email = account
    client = APIClient()
    for _ in range(THRESHOLD - 1):
        assert login(client, email, WRONG).status_code == 401
    assert obtain(client, username, PASSWORD).status_code == 200
    for _ in range(THRESHOLD - 1):  # a fresh count: the success cleared the account's
        assert login(client, email, WRONG).status_code == 401
    assert login(client, email, PASSWORD).status_code == 200


def answers(send: Any, name: str) -> list[tuple[int, str, str]]:
    """Status, problem type and detail of ``THRESHOLD + 2`` wrong passwords for ``name``."""
    found = [send(APIClient(), name, WRONG) for _ in range(THRESHOLD + 2)]
    return [(a.status_code, a.json()["type"], a.json()["detail"]) for a in found]


@pytest.mark.parametrize("route", ["obtain", "login"])
def test_an_unknown_name_is_counted_and_answered_as_a_known_one(
    account: tuple[str, str], route: str
) -> None:
    send, known = (obtain, account[0]) if route == "obtain" else (login, account[1])
    unknown = f"nobody-{uuid.uuid4().hex[:12]}" + ("" if route == "obtain" else "@example.com")
    expected = answers(send, known)
    assert [status for status, *_ in expected] == [401] * THRESHOLD + [429, 429]
    assert answers(send, unknown) == expected


RACERS = 40


def test_a_burst_over_both_routes_gets_only_the_threshold_evaluated(
    account: tuple[str, str],
) -> None:
    """Decision 024 across routes: the attempt is reserved on the account's one count before
    the password is checked, so of 40 concurrent guesses exactly the threshold are evaluated."""
    username, email = account
    barrier = threading.Barrier(RACERS)
    statuses: list[int] = [0] * RACERS

    def run(index: int) -> None:
        client = APIClient()
        try:
            barrier.wait()
            send = obtain(client, username, WRONG) if index % 2 else login(client, email, WRONG)
            statuses[index] = send.status_code
        finally:
            connections.close_all()  # this thread's own database connection

    threads = [threading.Thread(target=run, args=(i,)) for i in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [401] * THRESHOLD + [429] * (RACERS - THRESHOLD), statuses
    assert_locked(login(APIClient(), email, PASSWORD))
