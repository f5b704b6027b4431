"""Account lockout over HTTP, on each backend: ten failed logins on one account name lock it for
the period, whatever the password, and an unknown email locks exactly like a real one."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import httpx
import pytest
from typer.testing import CliRunner

from jwtauth.cli import app as cli
from jwtauth.config import Settings
from tests.server.support import PASSWORD, Api, serve

pytestmark = pytest.mark.anyio

THRESHOLD = 10


def attempt(email: str, password: str = PASSWORD + "-wrong") -> dict[str, str]:
    return {"email": email, "password": password}


async def fail(client: httpx.AsyncClient, email: str, times: int) -> None:
    for _ in range(times):
        answer = await client.post("/auth/login", json=attempt(email))
        assert answer.status_code == 401, answer.text


def assert_locked(answer: httpx.Response, period: int = 900) -> None:
    assert answer.status_code == 429
    assert answer.headers["content-type"] == "application/problem+json"
    body = answer.json()
    assert body["type"] == "urn:jwtauth:problem:account_locked"
    assert body["status"] == 429
    assert 1 <= int(answer.headers["retry-after"]) <= period


async def test_the_tenth_failure_locks_even_the_right_password_out(api: Api) -> None:
    await api.register()
    await fail(api.client, "alice@example.com", THRESHOLD)
    locked = await api.client.post("/auth/login", json=attempt("alice@example.com", PASSWORD))
    assert_locked(locked)
    assert "alice" not in locked.text
    # Another account is untouched.
    await api.register("bob@example.com")
    await api.login("bob@example.com")


async def test_nine_failures_do_not_lock(api: Api) -> None:
    await api.register()
    await fail(api.client, "alice@example.com", THRESHOLD - 1)
    await api.login()


async def test_a_good_login_clears_the_count(api: Api) -> None:
    await api.register()
    await fail(api.client, "alice@example.com", THRESHOLD - 1)
    await api.login()
    await fail(api.client, "alice@example.com", THRESHOLD - 1)
    await api.login()  # 18 failures in all, never 10 in a row: not locked


async def test_a_burst_of_guesses_gets_only_the_threshold_evaluated(api: Api) -> None:
    # Rate limits are off here (as behind a gateway that limits by address): the lockout alone
    # bounds the guesses. Counted before the password check, forty concurrent wrong passwords
    # get exactly ten evaluations; a check-then-count lockout let all forty through.
    await api.register()
    answers = await asyncio.gather(
        *(api.client.post("/auth/login", json=attempt("alice@example.com")) for _ in range(40))
    )
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [401] * THRESHOLD + [429] * (40 - THRESHOLD)
    assert_locked(await api.client.post("/auth/login", json=attempt("alice@example.com", PASSWORD)))


async def test_an_unknown_email_locks_exactly_like_a_real_one(api: Api) -> None:
    await api.register()
    answers: dict[str, list[tuple[int, str]]] = {}
    for email in ("alice@example.com", "nobody@example.com"):
        seen = []
        for _ in range(THRESHOLD + 2):
            answer = await api.client.post("/auth/login", json=attempt(email))
            seen.append((answer.status_code, answer.json()["type"]))
        answers[email] = seen
    assert answers["alice@example.com"] == answers["nobody@example.com"]
    assert answers["nobody@example.com"][-1] == (429, "urn:jwtauth:problem:account_locked")


async def test_the_account_name_is_normalised(api: Api) -> None:
    await api.register()
    await fail(api.client, "Alice@Example.com", THRESHOLD // 2)
    await fail(api.client, " alice@example.com", THRESHOLD - THRESHOLD // 2)
    assert_locked(await api.client.post("/auth/login", json=attempt("alice@example.com")))


async def test_the_admin_unlocks_with_the_cli(
    api: Api, server_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    await api.register()
    await fail(api.client, "alice@example.com", THRESHOLD)
    assert_locked(await api.client.post("/auth/login", json=attempt("alice@example.com", PASSWORD)))
    monkeypatch.setenv("JWTAUTH_STATE_DIR", str(server_settings.state_dir))
    if server_settings.database_url is not None:
        monkeypatch.setenv("JWTAUTH_DATABASE_URL", server_settings.database_url.get_secret_value())
    # The CLI runs its own event loop, as it does from a shell: in a thread of its own here.
    result = await asyncio.to_thread(
        CliRunner().invoke, cli, ["users", "unlock", "ALICE@example.com"]
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith("ok: unlocked")
    await api.login()
    again = await asyncio.to_thread(
        CliRunner().invoke, cli, ["users", "unlock", "alice@example.com"]
    )
    assert "nothing to unlock" in again.output


async def test_a_lockout_is_a_security_event_without_the_email(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    await api.register()
    with caplog.at_level(logging.INFO, logger="jwtauth.security"):
        await fail(api.client, "alice@example.com", THRESHOLD)
    events = [r for r in caplog.records if getattr(r, "event", None) == "account_locked"]
    assert len(events) == 1
    logged = " ".join(r.getMessage() + str(r.__dict__) for r in caplog.records)
    assert "alice" not in logged
    assert PASSWORD not in logged


@pytest.fixture
async def unlocked(server_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with serve(server_settings.model_copy(update={"lockout": False})) as client:
        yield client


async def test_lockout_can_be_switched_off(unlocked: httpx.AsyncClient) -> None:
    api = Api(unlocked)
    await api.register()
    await fail(unlocked, "alice@example.com", THRESHOLD + 5)
    await api.login()


async def test_the_rate_limit_answers_before_the_lockout_counts(
    server_settings: Settings,
) -> None:
    # With the default limits, 5 attempts a minute per account: the limit refuses the sixth
    # before it reaches the password check, so the lockout counts only the five that ran.
    settings = server_settings.model_copy(update={"rate_limits": True})
    async with serve(settings) as client:
        api = Api(client)
        await api.register()
        await fail(client, "alice@example.com", 5)
        refused = await client.post("/auth/login", json=attempt("alice@example.com"))
        assert refused.status_code == 429
        assert refused.json()["type"] == "urn:jwtauth:problem:rate_limited"


# A remembered device is not locked out (issue 13, item 6) -----------------------------------


async def remembered_login(api: Api, email: str = "alice@example.com") -> str:
    answer = await api.client.post(
        "/auth/login", json={**attempt(email, PASSWORD), "remember_device": True}
    )
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["device_token"]
    return token


async def test_a_remembered_device_still_logs_in_while_the_account_is_locked(api: Api) -> None:
    await api.register()
    assert "device_token" not in await api.login()  # the contract's shape unless asked
    device = await remembered_login(api)
    await fail(api.client, "alice@example.com", THRESHOLD)  # an attacker, elsewhere
    assert_locked(await api.client.post("/auth/login", json=attempt("alice@example.com", PASSWORD)))
    mine = await api.client.post(
        "/auth/login", json={**attempt("alice@example.com", PASSWORD), "device_token": device}
    )
    assert mine.status_code == 200, mine.text
    assert (await api.me(mine.json()["access_token"])).status_code == 200


async def test_a_device_token_proves_nothing_for_another_account_or_when_forged(
    api: Api,
) -> None:
    await api.register()
    await api.register("bob@example.com")
    bobs = await remembered_login(api, "bob@example.com")
    await fail(api.client, "alice@example.com", THRESHOLD)
    forged = bobs[:-4] + ("AAAA" if not bobs.endswith("AAAA") else "BBBB")
    for device in (bobs, forged, "not-a-token"):
        answer = await api.client.post(
            "/auth/login", json={**attempt("alice@example.com", PASSWORD), "device_token": device}
        )
        assert_locked(answer)


async def test_guesses_with_a_device_token_lock_that_device_only(api: Api) -> None:
    await api.register()
    stolen = await remembered_login(api)
    for _ in range(THRESHOLD):
        answer = await api.client.post(
            "/auth/login", json={**attempt("alice@example.com"), "device_token": stolen}
        )
        assert answer.status_code == 401
    locked = await api.client.post(
        "/auth/login", json={**attempt("alice@example.com", PASSWORD), "device_token": stolen}
    )
    assert_locked(locked)
    await api.login()  # the account name itself was not locked by the stolen device's guesses


async def test_a_device_token_is_not_an_access_token(api: Api) -> None:
    await api.register()
    device = await remembered_login(api)
    assert (await api.me(device)).status_code == 401


async def test_logout_all_forgets_remembered_devices(api: Api) -> None:
    await api.register()
    device = await remembered_login(api)
    session = await api.login()
    everywhere = await api.client.post(
        "/auth/logout-all", headers={"Authorization": f"Bearer {session['access_token']}"}
    )
    assert everywhere.status_code == 204
    await fail(api.client, "alice@example.com", THRESHOLD)
    answer = await api.client.post(
        "/auth/login", json={**attempt("alice@example.com", PASSWORD), "device_token": device}
    )
    assert_locked(answer)
