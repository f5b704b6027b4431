"""A user disabled or deleted loses every token at once (issue 13, item 17): the account state
is checked by `/auth/me` and at refresh, but `/auth/claims` and resource servers check only the
token, so removal must revoke like logout-all does (AuthService.end_user)."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from typer.testing import CliRunner

from jwtauth.cli import app as cli
from jwtauth.config import Settings
from jwtauth.stores.sql import SQLStore
from tests.server.support import PASSWORD, Api, bearer, on_auth_loop, state_of

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("change", ["disable", "delete"])
async def test_a_removed_user_loses_every_token(
    api: Api, client: httpx.AsyncClient, change: str
) -> None:
    tokens = await api.register_and_login()
    other = await api.login()
    user_id = (await api.me(tokens["access_token"])).json()["id"]
    service = state_of(client).service
    store = service.users
    assert isinstance(store, SQLStore)
    if change == "disable":
        await on_auth_loop(client, store.set_active(user_id, False))
    else:
        await on_auth_loop(client, store.delete_user(user_id))
    # The store alone: a verifier that reads only the token still accepts it.
    claims = await client.get("/auth/claims", headers=bearer(tokens["access_token"]))
    assert claims.status_code == 200
    await on_auth_loop(client, service.end_user(user_id))
    for access in (tokens["access_token"], other["access_token"]):
        refused = await client.get("/auth/claims", headers=bearer(access))
        assert refused.status_code == 401
        assert refused.headers["content-type"] == "application/problem+json"
    assert (await api.refresh(tokens["refresh_token"])).status_code == 401
    assert (await api.refresh(other["refresh_token"])).status_code == 401


async def eventually_refused(client: httpx.AsyncClient, access_token: str) -> httpx.Response:
    """``/auth/claims`` with ``access_token`` until it is refused, for at most 5 s: the CLI is
    another process's change, which reaches this one through the revocation store's channel
    (Redis pub/sub, or the database record the server polls); we wait on that condition."""
    deadline = asyncio.get_running_loop().time() + 5
    while True:
        answer = await client.get("/auth/claims", headers=bearer(access_token))
        if answer.status_code != 200 or asyncio.get_running_loop().time() > deadline:
            return answer
        await asyncio.sleep(0.05)


@pytest.mark.parametrize("command", ["disable", "delete"])
async def test_the_cli_disables_or_deletes_with_every_token(
    api: Api,
    client: httpx.AsyncClient,
    server_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    command: str,
) -> None:
    tokens = await api.register_and_login()
    monkeypatch.setenv("JWTAUTH_STATE_DIR", str(server_settings.state_dir))
    for name, value in (
        ("DATABASE_URL", server_settings.database_url),
        ("REDIS_URL", server_settings.redis_url),
    ):
        if value is not None:
            monkeypatch.setenv(f"JWTAUTH_{name}", value.get_secret_value())
    arguments = ["users", command, "ALICE@example.com"] + (["--yes"] if command == "delete" else [])
    # The CLI runs its own event loop, as from a shell: in a thread of its own here.
    result = await asyncio.to_thread(CliRunner().invoke, cli, arguments)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("ok: ")
    refused = await eventually_refused(client, tokens["access_token"])
    assert refused.status_code == 401, refused.text
    assert (await api.refresh(tokens["refresh_token"])).status_code == 401
    login = await client.post(
        "/auth/login", json={"email": "alice@example.com", "password": PASSWORD}
    )
    assert login.status_code == 401
    missing = await asyncio.to_thread(
        CliRunner().invoke, cli, ["users", "disable", "nobody@example.com"]
    )
    assert missing.exit_code == 1
    assert "no account has that email" in missing.output


async def test_the_cli_enables_a_disabled_account(
    api: Api, server_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    await api.register()
    monkeypatch.setenv("JWTAUTH_STATE_DIR", str(server_settings.state_dir))
    for name, value in (
        ("DATABASE_URL", server_settings.database_url),
        ("REDIS_URL", server_settings.redis_url),
    ):
        if value is not None:
            monkeypatch.setenv(f"JWTAUTH_{name}", value.get_secret_value())
    for command in ("disable", "enable"):
        result = await asyncio.to_thread(
            CliRunner().invoke, cli, ["users", command, "alice@example.com"]
        )
        assert result.exit_code == 0, result.output
    await api.login()
