"""The simplejwt-shaped token views under gunicorn (tests/hosts/django_host): 50 concurrent
refreshes of one refresh token have exactly one winner and revoke the family, in one worker
process and across two, on SQLite and on PostgreSQL (+ Redis)."""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.live import free_port, wait_ready
from tests.server.support import PASSWORD

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).parent / "gunicorn"
RACERS = 50


@pytest.fixture(params=[1, 2], ids=["one-process", "two-processes"])
def workers(request: pytest.FixtureRequest) -> int:
    return int(request.param)


@pytest.fixture(params=["sqlite", "postgres+redis"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def base_url(
    workers: int, backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JWTAUTH_", "HOST_"))}
    env.update(
        JWTAUTH_STATE_DIR=str(tmp_path / "state"),
        JWTAUTH_RATE_LIMITS="false",  # 50 refreshes of one user would meet the per-user limit
        HOST_SECRET_KEY=secrets.token_urlsafe(48),
        HOST_SIGNING_KEY=secrets.token_urlsafe(48),  # one key for both workers
        DJANGO_SETTINGS_MODULE="tests.hosts.django_host.settings",
    )
    if backend == "postgres+redis":
        database = request.getfixturevalue("postgres_url")
        env["HOST_DATABASE"] = database.replace("postgresql+asyncpg", "postgres", 1)
        env["HOST_REDIS_URL"] = request.getfixturevalue("redis_url")
    else:
        env["HOST_DATABASE"] = str(tmp_path / "host.sqlite3")
    migrate = subprocess.run(
        [sys.executable, "-m", "django", "migrate", "--verbosity=0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert migrate.returncode == 0, migrate.stderr
    port = free_port()
    server = [
        str(GUNICORN), "--chdir", str(ROOT), "-b", f"127.0.0.1:{port}",
        "--workers", str(workers), "--threads", str(RACERS // workers),
        "tests.hosts.django_host.wsgi:application",
    ]  # fmt: skip
    process = subprocess.Popen(  # noqa: S603 - our environment's gunicorn, fixed arguments
        server,
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(process, f"{url}/ready", "the Django host")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
        if process.stdout is not None:
            process.stdout.close()


async def test_concurrent_refreshes_through_the_token_views_have_one_winner(
    base_url: str, workers: int, backend: str
) -> None:
    limits = httpx.Limits(max_connections=RACERS)
    async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as http:
        credentials = {"email": "alice@example.com", "password": PASSWORD}
        assert (await http.post("/auth/register", json=credentials)).status_code == 201
        # The project's USERNAME_FIELD (register made the email the username too).
        obtained = await http.post(
            "/api/token/obtain/", json={"username": "alice@example.com", "password": PASSWORD}
        )
        assert obtained.status_code == 200, obtained.text
        pair = obtained.json()
        assert set(pair) == {"access", "refresh"}
        assert (await http.get("/orders", headers=bearer(pair["access"]))).status_code == 200

        answers = await asyncio.gather(
            *(
                http.post("/api/token/refresh/", json={"refresh": pair["refresh"]})
                for _ in range(RACERS)
            )
        )
        statuses = sorted(a.status_code for a in answers)
        assert statuses.count(200) == 1, statuses
        assert statuses.count(401) == RACERS - 1, statuses
        winner = next(a.json() for a in answers if a.status_code == 200)
        # The losers presented a spent token: a reuse, so the whole family is revoked.
        again = await http.post("/api/token/refresh/", json={"refresh": winner["refresh"]})
        assert again.status_code == 401
        assert again.headers["content-type"].startswith("application/problem+json")
        # The same session seen through the auth API's refresh: dead there too.
        contract = await http.post("/auth/refresh", json={"refresh_token": winner["refresh"]})
        assert contract.status_code == 401
        if workers == 1 or backend == "postgres+redis":
            # The session's access tokens are refused by whichever process answers (two
            # processes share revocations through Redis only).
            for _ in range(10):
                refused = await http.get("/orders", headers=bearer(winner["access"]))
                assert refused.status_code == 401


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
