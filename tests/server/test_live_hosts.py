"""Host applications embedding the auth API under real servers (FastAPI under uvicorn, Flask
and Django/DRF under gunicorn), each in two worker processes whatever the backend: the host's
own routes beside the auth API and the refresh race across processes (exactly one winner, then
the family revoked). The whole contract against the same live hosts is test_auth_flow.py."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.hosts.launch import BACKENDS, LIVE_HOSTS, live_host
from tests.server.support import PASSWORD

pytestmark = pytest.mark.anyio

RACERS = 50


@pytest.fixture(params=LIVE_HOSTS)
def host(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def base_url(host: str, backend: str, tmp_path: Path) -> Iterator[str]:
    # Two workers on SQLite too: the race is across processes on every backend.
    with live_host(host, backend, tmp_path, workers=2) as live:
        yield live.url


async def test_the_embedded_auth_api_across_two_worker_processes(
    base_url: str, backend: str
) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        credentials = {"email": "alice@example.com", "password": PASSWORD}
        assert (await http.post("/auth/register", json=credentials)).status_code == 201
        login = await http.post("/auth/login", json=credentials)
        assert login.status_code == 200, login.text
        tokens = login.json()
        access = {"Authorization": f"Bearer {tokens['access_token']}"}
        assert (await http.get("/orders", headers=access)).json() == ["o-1"]
        problem = await http.get("/auth/nowhere")
        assert problem.status_code == 404
        assert problem.headers["content-type"].startswith("application/problem+json")

        responses = await asyncio.gather(
            *(
                http.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
                for _ in range(RACERS)
            )
        )
        statuses = sorted(r.status_code for r in responses)
        assert statuses.count(200) == 1, statuses
        assert statuses.count(401) == RACERS - 1, statuses
        winner = next(r.json() for r in responses if r.status_code == 200)
        # The losers presented a rotated token: reuse, so the whole family is revoked.
        again = await http.post("/auth/refresh", json={"refresh_token": winner["refresh_token"]})
        assert again.status_code == 401
        if backend == "postgres+redis":
            # Revocations reach every process through Redis: whichever worker answers refuses.
            stolen = {"Authorization": f"Bearer {winner['access_token']}"}
            for _ in range(10):
                assert (await http.get("/orders", headers=stolen)).status_code == 401
