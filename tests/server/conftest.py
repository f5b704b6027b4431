"""The server under test, over HTTP, on each backend: SQLite with in-process stores, and
PostgreSQL with Redis (the running services)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from jwtauth.config import Settings
from tests.server.support import Api, serve

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["sqlite", "postgres+redis"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def server_settings(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, clean_env: None
) -> Settings:
    # The flow tests log in and refresh far faster than a person does; the rate limits have
    # their own tests (test_rate_limits.py), which turn them back on with the defaults.
    overrides: dict[str, object] = {"state_dir": tmp_path / "state", "rate_limits": False}
    if backend == "postgres+redis":
        overrides["database_url"] = request.getfixturevalue("postgres_url")
        overrides["redis_url"] = request.getfixturevalue("redis_url")
    return Settings.load(**overrides)


@pytest.fixture
async def client(server_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with serve(server_settings) as http:
        yield http


@pytest.fixture
def api(client: httpx.AsyncClient) -> Api:
    return Api(client)
