"""Host applications embedding the auth API under real servers (FastAPI under uvicorn, Flask
and Django/DRF under gunicorn), each in two worker processes: the contract's core flows over a
real socket and the refresh race across processes (exactly one winner, then the family
revoked)."""

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

from jwtauth.stores.sql_database import upgrade
from tests.live import free_port, wait_ready
from tests.server.support import PASSWORD

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
RACERS = 50
DJANGO_WSGI = "tests.hosts.django_host.wsgi:application"


def command(host: str, port: int) -> list[str]:
    if host == "fastapi":
        return [
            str(BIN / "uvicorn"), "tests.hosts.fastapi_host:app", "--app-dir", str(ROOT),
            "--port", str(port), "--workers", "2", "--log-level", "warning",
        ]  # fmt: skip
    module = "tests.hosts.flask_host:app" if host == "flask" else DJANGO_WSGI
    return [
        str(BIN / "gunicorn"), "--chdir", str(ROOT), "-b", f"127.0.0.1:{port}", "--workers", "2",
        "--threads", "8", module,
    ]  # fmt: skip


@pytest.fixture(params=["fastapi", "flask", "django"])
def host(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=["sqlite", "postgres+redis"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def base_url(
    host: str, backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JWTAUTH_")}
    env.update(
        JWTAUTH_STATE_DIR=str(tmp_path / "state"),
        JWTAUTH_ALGORITHM="HS256",
        JWTAUTH_SECRET=secrets.token_urlsafe(48),  # one static key for both workers
        JWTAUTH_RATE_LIMITS="false",
    )
    if backend == "postgres+redis":
        database = request.getfixturevalue("postgres_url")
        env["JWTAUTH_REDIS_URL"] = request.getfixturevalue("redis_url")
    else:
        database = f"sqlite+aiosqlite:///{tmp_path / 'auth.db'}"
    env["JWTAUTH_DATABASE_URL"] = database
    if host == "django":
        # The project's own settings: its database (the auth tables in it), key and Redis.
        env["HOST_DATABASE"] = (
            database.replace("postgresql+asyncpg", "postgres", 1)
            if backend == "postgres+redis"
            else str(tmp_path / "auth.db")
        )
        env["HOST_SECRET_KEY"] = secrets.token_urlsafe(48)
        env["HOST_SIGNING_KEY"] = secrets.token_urlsafe(48)
        if backend == "postgres+redis":
            env["HOST_REDIS_URL"] = env["JWTAUTH_REDIS_URL"]
        migrate = subprocess.run(
            [sys.executable, "-m", "django", "migrate", "--verbosity=0"],
            cwd=ROOT,
            env={**env, "DJANGO_SETTINGS_MODULE": "tests.hosts.django_host.settings"},
            capture_output=True,
            text=True,
            check=False,
        )
        assert migrate.returncode == 0, migrate.stderr  # the auth tables come with migrate
    else:
        upgrade(database)  # as `jwtauth db upgrade` before a deployment: not raced by workers
    port = free_port()
    process = subprocess.Popen(  # noqa: S603 - our own environment's servers, fixed arguments
        command(host, port), cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(process, f"{url}/ready", f"{host} host")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
        if process.stdout is not None:
            process.stdout.close()


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
