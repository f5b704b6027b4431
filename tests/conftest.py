"""Fixtures shared across the suite."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest


@pytest.fixture
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run in an empty working directory (no stray `.env`) with no JWTAUTH_* variable set."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.upper().startswith("JWTAUTH_"):
            monkeypatch.delenv(name)


# Real services ---------------------------------------------------------------------------------
# Tests that need PostgreSQL or Redis talk to the running servers, never to a mock. Where one is
# absent (a laptop) they skip with the reason; under JWTAUTH_REQUIRE_SERVICES=1 (CI) they fail.

POSTGRES_ADMIN_URL = os.environ.get(
    "JWTAUTH_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test"
)
REDIS_TEST_URL = os.environ.get("JWTAUTH_TEST_REDIS", "redis://127.0.0.1:6379/15")


def service_unavailable(name: str, reason: str) -> NoReturn:
    """Skip, or fail when JWTAUTH_REQUIRE_SERVICES=1, because ``name`` cannot be reached."""
    if os.environ.get("JWTAUTH_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{name} is required (JWTAUTH_REQUIRE_SERVICES=1) but {reason}")
    pytest.skip(f"{name} is not available: {reason}")


def _reachable(host: str, port: int) -> str | None:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return None
    except OSError as exc:
        return f"{host}:{port} refused the connection ({exc.strerror or exc})"


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, as an asyncpg SQLAlchemy URL."""
    problem = _reachable("127.0.0.1", 5432)
    if problem:
        service_unavailable("PostgreSQL", problem)
    import asyncpg

    name = f"jwtauth_test_{uuid.uuid4().hex[:12]}"

    async def admin(statement: str) -> None:
        connection = await asyncpg.connect(POSTGRES_ADMIN_URL)  # type: ignore[no-untyped-call]
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def redis_url() -> Iterator[str]:
    """The test Redis database (15), flushed before and after the test."""
    problem = _reachable("127.0.0.1", 6379)
    if problem:
        service_unavailable("Redis", problem)
    import redis

    client = redis.Redis.from_url(REDIS_TEST_URL)
    client.flushdb()
    try:
        yield REDIS_TEST_URL
    finally:
        client.flushdb()
        client.close()
