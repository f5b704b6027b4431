"""Fail closed: while no feed vouches for the revocation view (no live Redis subscription, no
database poll for longer than the bound), a protected request answers 503 problem+json with
Retry-After, not 200 from a view that may miss a logout, nor 401 (issue 14); ``/readyz`` of
``jwtauth serve`` says not ready; the same requests succeed once the database is read again.
On ``jwtauth serve``'s app and on the FastAPI and Flask hosts that embed it.

The database read is broken for real: the revocations table is renamed under the running
server (sqlite3, beside it), so every poll's query fails, and renamed back.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import make_url

from jwtauth.config import Settings
from tests.server.support import HOSTS, Api, bearer, serve

pytestmark = pytest.mark.anyio

POLL = 0.05
BOUND = 0.3


def rename(database: str, old: str, new: str) -> None:
    with sqlite3.connect(database, timeout=10) as connection:
        connection.execute(f"ALTER TABLE {old} RENAME TO {new}")


async def status_becomes(
    client: httpx.AsyncClient, path: str, token: str, status: int, timeout: float = 10.0
) -> httpx.Response:
    """Ask ``path`` until it answers ``status``; the deadline is only the bound of the wait."""
    deadline = time.monotonic() + timeout
    while True:
        answer = await client.get(path, headers=bearer(token))
        if answer.status_code == status:
            return answer
        assert answer.status_code in (200, 503), answer.text
        assert time.monotonic() < deadline, f"{path}: still {answer.status_code}"
        await asyncio.sleep(0.02)


@pytest.mark.parametrize("host", HOSTS)
async def test_a_stale_revocation_view_is_503_with_retry_after_then_recovers(
    host: str, tmp_path: Path, clean_env: None
) -> None:
    settings = Settings.load(
        state_dir=tmp_path / "state",
        revocation_poll_interval=POLL,
        revocation_max_staleness=BOUND,
        rate_limits=False,
    )
    database = make_url(settings.database_url_for_state()).database
    assert database is not None
    async with serve(settings, host=host) as client:
        api = Api(client)
        tokens = await api.register_and_login()
        access = tokens["access_token"]
        assert (await api.me(access)).status_code == 200
        rename(database, "revocations", "revocations_away")
        try:
            refused = await status_becomes(client, "/auth/claims", access, 503)
            assert refused.headers["content-type"] == "application/problem+json"
            assert refused.json()["type"] == "urn:jwtauth:problem:revocations_unavailable"
            assert int(refused.headers["retry-after"]) >= 1
            assert "www-authenticate" not in refused.headers  # the token is not to blame
            assert access not in refused.text
            if host != "server":  # the host's own protected route, through its integration
                own = await client.get("/orders", headers=bearer(access))
                assert own.status_code == 503, own.text
                assert own.headers["content-type"] == "application/problem+json"
                assert own.json()["type"] == "urn:jwtauth:problem:revocations_unavailable"
                assert int(own.headers["retry-after"]) >= 1
            if host == "server":  # a host app keeps its own probes
                assert (await client.get("/readyz")).status_code == 503
        finally:
            rename(database, "revocations_away", "revocations")
        await status_becomes(client, "/auth/claims", access, 200)
        if host != "server":
            assert (await client.get("/orders", headers=bearer(access))).status_code == 200
        if host == "server":
            assert (await client.get("/readyz")).status_code == 200
