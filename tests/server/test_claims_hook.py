"""The claims hook: scopes, roles and custom claims in the server's access tokens, at login and
after every refresh (issue 12: claims were lost on refresh)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest

from jwtauth.config import Settings
from jwtauth.errors import ConfigurationError
from jwtauth.server import create_app
from jwtauth.types import UserRecord
from tests.server.support import FAST_HASHER, PASSWORD, Api, bearer, serve

pytestmark = pytest.mark.anyio


def hook(user: UserRecord) -> Mapping[str, Any]:
    """Referenced by name (JWTAUTH_CLAIMS_HOOK) below."""
    return {"scope": "orders:read orders:write", "roles": ["admin"], "email": user.email}


async def async_hook(user: UserRecord) -> Mapping[str, Any]:
    return {"scope": "reports:read"}


def reserved_hook(user: UserRecord) -> Mapping[str, Any]:
    return {"sub": "someone-else"}


def session_hook(user: UserRecord) -> Mapping[str, Any]:
    return {"sid": "forged"}


@pytest.fixture
def settings_for(tmp_path: Path, clean_env: None) -> Any:
    def make(reference: str) -> Settings:
        return Settings.load(state_dir=tmp_path / "state", rate_limits=False, claims_hook=reference)

    return make


@pytest.fixture
async def hooked(settings_for: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with serve(settings_for(f"{__name__}:hook")) as http:
        yield http


async def _claims(client: httpx.AsyncClient, access_token: str) -> dict[str, Any]:
    response = await client.get("/auth/claims", headers=bearer(access_token))
    assert response.status_code == 200, response.text
    claims: dict[str, Any] = response.json()
    return claims


async def test_hook_claims_are_in_the_token_at_login_and_after_each_refresh(
    hooked: httpx.AsyncClient,
) -> None:
    api = Api(hooked)
    tokens = await api.register_and_login()
    first = await _claims(hooked, tokens["access_token"])
    assert first["scope"] == "orders:read orders:write"
    assert first["roles"] == ["admin"]
    assert first["email"] == "alice@example.com"
    refresh_token = tokens["refresh_token"]
    for _ in range(2):
        refreshed = await api.refresh(refresh_token)
        assert refreshed.status_code == 200
        claims = await _claims(hooked, refreshed.json()["access_token"])
        assert claims["scope"] == first["scope"]
        assert claims["roles"] == ["admin"]
        assert claims["sid"] == first["sid"]
        refresh_token = refreshed.json()["refresh_token"]


async def test_an_async_hook_is_awaited(settings_for: Any) -> None:
    async with serve(settings_for(f"{__name__}:async_hook")) as http:
        tokens = await Api(http).register_and_login()
        assert (await _claims(http, tokens["access_token"]))["scope"] == "reports:read"


@pytest.mark.parametrize("name", ["reserved_hook", "session_hook"])
async def test_a_hook_cannot_replace_registered_or_session_claims(
    settings_for: Any, name: str
) -> None:
    app = create_app(settings_for(f"{__name__}:{name}"), hasher=FAST_HASHER)
    # The app answers 500 and re-raises for the server's log; take the answer.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as http,
    ):
        await Api(http).register()
        response = await http.post(
            "/auth/login", json={"email": "alice@example.com", "password": PASSWORD}
        )
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "hook" not in response.text  # the reason is for the operator's log only
    assert "someone-else" not in response.text


@pytest.mark.parametrize(
    "reference", ["tests.server.no_such_module:hook", f"{__name__}:no_such_function"]
)
def test_a_wrong_hook_name_stops_the_start(settings_for: Any, reference: str) -> None:
    with pytest.raises(ConfigurationError, match="claims hook"):
        create_app(settings_for(reference))


def test_a_malformed_hook_reference_is_a_settings_error(tmp_path: Path, clean_env: None) -> None:
    with pytest.raises(ConfigurationError, match="JWTAUTH_CLAIMS_HOOK"):
        Settings.load(state_dir=tmp_path, claims_hook="not a reference")
