"""A store that cannot answer is a 503 problem+json with Retry-After, never a 500 (issue 14):
Redis killed, PostgreSQL crashed, each a private server of the test's own (tests/faults.py),
and the same requests succeed once the store is back."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
from sqlalchemy.exc import IntegrityError, OperationalError

from jwtauth.config import Settings
from jwtauth.stores.failures import is_unavailable
from tests.faults import PrivatePostgres, PrivateRedis, private_postgres, private_redis
from tests.server.support import PASSWORD, Api, bearer, serve

pytestmark = pytest.mark.anyio


def assert_unavailable(answer: httpx.Response) -> None:
    assert answer.status_code == 503, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["type"] == "urn:jwtauth:problem:store_unavailable"
    assert int(answer.headers["retry-after"]) >= 1
    assert "127.0.0.1" not in answer.text  # no connection detail reaches the client


@pytest.fixture
def fault_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    with private_redis(tmp_path) as server:
        yield server


@pytest.fixture
def fault_postgres() -> Iterator[PrivatePostgres]:
    with private_postgres() as server:
        yield server


async def test_redis_down_is_503_and_back_to_normal_after(
    tmp_path: Path, clean_env: None, fault_redis: PrivateRedis
) -> None:
    settings = Settings.load(
        state_dir=tmp_path / "state", redis_url=fault_redis.url, rate_limits=True
    )
    async with serve(settings) as client:
        api = Api(client)
        tokens = await api.register_and_login()
        fault_redis.kill()
        # Logout records the revocation in the database first, so it succeeds without Redis
        # (issue 14); login counts against the Redis limiter.
        logout = await client.post("/auth/logout", headers=bearer(tokens["access_token"]))
        assert logout.status_code == 204, logout.text
        assert (await api.me(tokens["access_token"])).status_code == 401
        assert_unavailable(
            await client.post(
                "/auth/login", json={"email": "alice@example.com", "password": PASSWORD}
            )
        )
        fault_redis.start()
        again = await api.login()
        logout = await client.post("/auth/logout", headers=bearer(again["access_token"]))
        assert logout.status_code == 204, logout.text


async def test_postgres_down_is_503_and_back_to_normal_after(
    tmp_path: Path, clean_env: None, fault_postgres: PrivatePostgres
) -> None:
    settings = Settings.load(state_dir=tmp_path / "state", database_url=fault_postgres.url)
    async with serve(settings) as client:
        api = Api(client)
        tokens = await api.register_and_login()
        fault_postgres.stop()  # a crash: every pooled connection is cut
        assert_unavailable(await api.me(tokens["access_token"]))
        assert_unavailable(
            await client.post(
                "/auth/login", json={"email": "alice@example.com", "password": PASSWORD}
            )
        )
        assert_unavailable(await api.refresh(tokens["refresh_token"]))
        fault_postgres.start()
        # Until the first poll after the restart succeeds, the revocation view may be stale:
        # a protected request answers 503 revocations_unavailable then, never 200 or 500.
        deadline = time.monotonic() + 15.0
        while (answer := await api.me(tokens["access_token"])).status_code != 200:
            assert answer.status_code == 503, answer.text
            assert answer.json()["type"] in (
                "urn:jwtauth:problem:revocations_unavailable",
                "urn:jwtauth:problem:store_unavailable",
            )
            assert time.monotonic() < deadline, "not back within 15 s of the restart"
            await asyncio.sleep(0.05)
        await api.login()


def test_only_outages_are_unavailable() -> None:
    refused = redis.Redis(port=1, socket_connect_timeout=1)
    with pytest.raises(redis.ConnectionError) as caught:
        refused.ping()
    assert is_unavailable(caught.value)
    assert is_unavailable(OperationalError("SELECT 1", {}, Exception("database is locked")))
    assert is_unavailable(ConnectionRefusedError())
    # A bug stays a bug: a 500 with a request id, not a retry loop.
    assert not is_unavailable(IntegrityError("INSERT", {}, Exception("duplicate key")))
    assert not is_unavailable(ValueError("x"))
    assert not is_unavailable(FileNotFoundError())


async def test_a_hung_redis_is_503_within_the_timeouts_not_a_hang(
    tmp_path: Path, clean_env: None, fault_redis: PrivateRedis
) -> None:
    settings = Settings.load(
        state_dir=tmp_path / "state", redis_url=fault_redis.url, rate_limits=True
    )
    async with serve(settings) as client:
        api = Api(client)
        tokens = await api.register_and_login()
        fault_redis.freeze()  # SIGSTOP: connections stay open, nothing answers
        try:
            # The bound is the test's own guard against a hang (the timeouts are 2 and 5 s,
            # one retry): without client timeouts these requests never return.
            login = await asyncio.wait_for(
                client.post(
                    "/auth/login", json={"email": "alice@example.com", "password": PASSWORD}
                ),
                timeout=30,
            )
            assert_unavailable(login)
            logout = await asyncio.wait_for(
                client.post("/auth/logout", headers=bearer(tokens["access_token"])), timeout=30
            )
            # Recorded in the database: Redis timing out afterwards does not fail it (issue 14).
            assert logout.status_code == 204, logout.text
        finally:
            fault_redis.thaw()
        assert (await api.login())["access_token"]
