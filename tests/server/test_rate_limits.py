"""Rate limits over HTTP with the default policies (API.md), on each backend: 429 with
Retry-After and the IETF RateLimit headers, keyed by address and by account."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from jwtauth.config import Settings
from tests.server.support import PASSWORD, Api, serve

pytestmark = pytest.mark.anyio

WRONG = {"email": "alice@example.com", "password": PASSWORD + "-wrong"}


@pytest.fixture
async def limited(server_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The server with the default limits, reached through a trusted proxy (127.0.0.1), so a
    test can speak for several client addresses with X-Forwarded-For."""
    settings = server_settings.model_copy(update={"rate_limits": True})
    async with serve(settings, peer="127.0.0.1") as client:
        yield client


def source(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}


def assert_throttled(response: httpx.Response, policy: str) -> int:
    assert response.status_code == 429
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "urn:jwtauth:problem:rate_limited"
    assert f'"{policy}";' in response.headers["ratelimit-policy"]
    assert f'"{policy}";r=0;' in response.headers["ratelimit"]
    retry = int(response.headers["retry-after"])
    assert retry >= 1
    assert "alice" not in response.text
    return retry


async def test_the_sixth_login_a_minute_from_one_address_is_429(
    limited: httpx.AsyncClient,
) -> None:
    for attempt in range(5):
        email = f"user{attempt}@example.com"  # five accounts: only the address repeats
        answer = await limited.post(
            "/auth/login", json={**WRONG, "email": email}, headers=source("198.51.100.1")
        )
        assert answer.status_code == 401
        assert answer.headers["ratelimit-policy"] == '"login-ip";q=5;w=60, "login-account";q=5;w=60'
    refused = await limited.post("/auth/login", json=WRONG, headers=source("198.51.100.1"))
    # A penalty, not only the rate: the first strike blocks for a minute (GCRA alone: 12 s).
    assert assert_throttled(refused, "login-ip") == 60
    other = await limited.post("/auth/login", json=WRONG, headers=source("198.51.100.2"))
    assert other.status_code == 401


async def test_one_account_is_limited_across_addresses(limited: httpx.AsyncClient) -> None:
    for attempt in range(5):
        answer = await limited.post(
            "/auth/login", json=WRONG, headers=source(f"198.51.100.{attempt + 10}")
        )
        assert answer.status_code == 401
    refused = await limited.post("/auth/login", json=WRONG, headers=source("198.51.100.99"))
    assert_throttled(refused, "login-account")
    # The same account however it is spelled.
    shouted = {**WRONG, "email": " ALICE@example.com "}
    again = await limited.post("/auth/login", json=shouted, headers=source("198.51.100.98"))
    assert_throttled(again, "login-account")


async def test_a_client_cannot_pick_its_address_without_a_trusted_proxy(
    server_settings: Settings,
) -> None:
    settings = server_settings.model_copy(update={"rate_limits": True})
    async with serve(settings) as client:  # peer 203.0.113.7: not a trusted proxy
        statuses = [
            (
                await client.post(
                    "/auth/register",
                    json={"email": f"u{attempt}@example.com", "password": PASSWORD},
                    headers=source(f"192.0.2.{attempt}"),  # a new address each time, ignored
                )
            ).status_code
            for attempt in range(4)
        ]
        refused = await client.post(
            "/auth/register",
            json={"email": "last@example.com", "password": PASSWORD},
            headers=source("192.0.2.200"),
        )
    assert statuses == [201, 201, 201, 429]
    assert_throttled(refused, "register-ip")


async def test_the_fourth_registration_a_minute_from_one_address_is_429(
    limited: httpx.AsyncClient,
) -> None:
    for attempt in range(3):
        created = await limited.post(
            "/auth/register",
            json={"email": f"new{attempt}@example.com", "password": PASSWORD},
            headers=source("198.51.100.5"),
        )
        assert created.status_code == 201
        assert created.headers["ratelimit"].startswith(f'"register-ip";r={2 - attempt};t=')
    refused = await limited.post(
        "/auth/register",
        json={"email": "new9@example.com", "password": PASSWORD},
        headers=source("198.51.100.5"),
    )
    assert_throttled(refused, "register-ip")


async def test_a_good_login_clears_the_account_but_not_the_address(
    limited: httpx.AsyncClient,
) -> None:
    created = await limited.post(
        "/auth/register",
        json={"email": "alice@example.com", "password": PASSWORD},
        headers=source("198.51.100.50"),
    )
    assert created.status_code == 201
    for _ in range(4):
        answer = await limited.post("/auth/login", json=WRONG, headers=source("198.51.100.7"))
        assert answer.status_code == 401
    good = {"email": "alice@example.com", "password": PASSWORD}
    ok = await limited.post("/auth/login", json=good, headers=source("198.51.100.7"))
    assert ok.status_code == 200
    # The address has used its five; the refused attempt still counts for the account.
    refused = await limited.post("/auth/login", json=WRONG, headers=source("198.51.100.7"))
    assert_throttled(refused, "login-ip")
    # The account started over at the good login: 1 + 4 attempts fit, the next does not.
    for _ in range(4):
        answer = await limited.post("/auth/login", json=WRONG, headers=source("198.51.100.8"))
        assert answer.status_code == 401
    last = await limited.post("/auth/login", json=WRONG, headers=source("198.51.100.8"))
    assert_throttled(last, "login-account")


async def test_the_eleventh_refresh_a_minute_of_one_user_is_429(
    limited: httpx.AsyncClient,
) -> None:
    api = Api(limited)
    tokens = await api.register_and_login()
    refresh = tokens["refresh_token"]
    for _ in range(10):
        answer = await api.refresh(refresh)
        assert answer.status_code == 200
        assert answer.headers["ratelimit-policy"] == '"refresh-user";q=10;w=60'
        refresh = answer.json()["refresh_token"]
    refused = await api.refresh(refresh)
    assert_throttled(refused, "refresh-user")
    unknown = await api.refresh("x" * 43)
    assert unknown.status_code == 401
    # A token that cannot refresh counts against the sender's address, not any user.
    assert unknown.headers["ratelimit-policy"] == '"refresh-ip";q=10;w=60'


async def test_a_dead_token_replayed_does_not_spend_its_owners_quota(
    limited: httpx.AsyncClient,
) -> None:
    # The victim's first refresh token, rotated (as a thief holding a stolen copy sees it once
    # reuse detection revoked the family, or once the victim rotated it): posted twelve times
    # from the attacker's address, it must not make the victim's live token 429.
    api = Api(limited)
    tokens = await api.register_and_login()
    assert (await api.refresh(tokens["refresh_token"])).status_code == 200
    dead = tokens["refresh_token"]
    answers = [
        await limited.post(
            "/auth/refresh", json={"refresh_token": dead}, headers=source("203.0.113.9")
        )
        for _ in range(12)
    ]
    assert [a.status_code for a in answers[:10]] == [401] * 10
    assert_throttled(answers[-1], "refresh-ip")  # the sender is limited
    # The first replay revoked the family (reuse detection), so log in again: the twelve
    # replays spent nothing of the user's quota (one refresh of ten so far, this the second).
    fresh = await api.login()
    again = await limited.post(
        "/auth/refresh",
        json={"refresh_token": fresh["refresh_token"]},
        headers=source("198.51.100.3"),
    )
    assert again.status_code == 200, again.text
    assert again.headers["ratelimit"].startswith('"refresh-user";r=8;')


async def test_random_refresh_tokens_are_limited_per_address(limited: httpx.AsyncClient) -> None:
    answers = [
        await limited.post(
            "/auth/refresh", json={"refresh_token": f"{n:043d}"}, headers=source("203.0.113.10")
        )
        for n in range(11)
    ]
    assert [a.status_code for a in answers[:10]] == [401] * 10
    assert_throttled(answers[-1], "refresh-ip")
    other = await limited.post(
        "/auth/refresh", json={"refresh_token": "y" * 43}, headers=source("203.0.113.11")
    )
    assert other.status_code == 401


async def test_limits_can_be_switched_off(server_settings: Settings) -> None:
    async with serve(server_settings) as client:  # the fixture's rate_limits=False
        for _ in range(8):
            answer = await client.post("/auth/login", json=WRONG)
            assert answer.status_code == 401
            assert "ratelimit" not in answer.headers


async def test_guessing_the_current_password_with_a_stolen_token_is_limited(
    limited: httpx.AsyncClient,
) -> None:
    tokens = await Api(limited).register_and_login()
    change = {"current_password": PASSWORD + "-guess", "new_password": PASSWORD + " anew"}
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    for _ in range(4):
        answer = await limited.post("/auth/password", json=change, headers=headers)
        assert answer.status_code == 401
    good = {"current_password": PASSWORD, "new_password": PASSWORD + " anew"}
    changed = await limited.post("/auth/password", json=good, headers=headers)
    assert changed.status_code == 204
    assert changed.headers["ratelimit"].startswith('"password-user";r=0;')
    assert "content-length" not in changed.headers or changed.headers["content-length"] == "0"
    assert_throttled(
        await limited.post("/auth/password", json=change, headers=headers), "password-user"
    )


async def test_the_openapi_schema_names_the_429s(limited: httpx.AsyncClient) -> None:
    paths = (await limited.get("/openapi.json")).json()["paths"]
    for path in ("/auth/register", "/auth/login", "/auth/refresh", "/auth/password"):
        assert "429" in paths[path]["post"]["responses"]
