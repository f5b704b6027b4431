"""Session policy over HTTP: absolute lifetime, per-user limit, the reuse security event."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from jwtauth.config import Settings
from jwtauth.server import create_app
from tests.server.support import CLIENT_IP, FAST_HASHER, PASSWORD, Api, bearer, serve

pytestmark = pytest.mark.anyio


@pytest.fixture
async def limited(tmp_path: Path, clean_env: None) -> AsyncIterator[Api]:
    settings = Settings.load(state_dir=tmp_path / "state", max_sessions=2)
    async with serve(settings) as http:
        yield Api(http)


@pytest.fixture
async def short_sessions(tmp_path: Path, clean_env: None) -> AsyncIterator[Api]:
    # A session capped at 1 s while refresh tokens would live 14 days: the cap must win.
    settings = Settings.load(state_dir=tmp_path / "state", session_ttl=1)
    async with serve(settings) as http:
        yield Api(http)


async def test_session_limit_revokes_the_oldest(limited: Api) -> None:
    first = await limited.register_and_login()
    second = await limited.login()
    third = await limited.login()
    assert (await limited.me(first["access_token"])).status_code == 401
    assert (await limited.refresh(first["refresh_token"])).status_code == 401
    for tokens in (second, third):
        assert (await limited.me(tokens["access_token"])).status_code == 200
    listing = await limited.client.get("/auth/sessions", headers=bearer(third["access_token"]))
    assert len(listing.json()) == 2


async def test_refresh_expiry_never_exceeds_the_absolute_session_cap(short_sessions: Api) -> None:
    tokens = await short_sessions.register_and_login()
    assert tokens["refresh_expires_in"] <= 1


async def test_refresh_token_reuse_is_a_logged_security_event(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    api = Api(client)
    first = await api.register_and_login()
    await api.refresh(first["refresh_token"])
    with caplog.at_level(logging.WARNING, logger="jwtauth.security"):
        assert (await api.refresh(first["refresh_token"])).status_code == 401
    events = [r for r in caplog.records if getattr(r, "event", None) == "refresh_token_reuse"]
    assert len(events) == 1
    assert events[0].ip == CLIENT_IP  # type: ignore[attr-defined]
    logged = " ".join(r.getMessage() + str(r.__dict__) for r in caplog.records)
    assert first["refresh_token"] not in logged
    assert first["access_token"] not in logged
    assert PASSWORD not in logged


async def test_production_refuses_to_start_on_an_unmigrated_database(
    tmp_path: Path, clean_env: None
) -> None:
    from jwtauth.errors import ConfigurationError
    from jwtauth.stores.sql_database import upgrade

    database = f"sqlite+aiosqlite:///{tmp_path / 'prod.db'}"
    settings = Settings.load(
        env="production",
        issuer="https://auth.example.com",
        algorithm="HS256",
        secret="rhLxsd3g7K-9KVWsNJh_MtbJorFz53o2YRZxJ46_8LiRyReUXCe007RbOLGh_Cqf",
        database_url=database,
    )
    app = create_app(settings, hasher=FAST_HASHER)
    with pytest.raises(ConfigurationError, match="jwtauth db upgrade"):
        async with app.router.lifespan_context(app):
            pass
    await asyncio.to_thread(upgrade, database)  # upgrade runs its own event loop
    async with app.router.lifespan_context(app):
        pass  # starts once migrated
