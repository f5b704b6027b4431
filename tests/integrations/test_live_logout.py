"""The revocation bound end to end: a logout at a live `jwtauth serve` is honoured by the example
services (FastAPI under uvicorn, Flask under a gunicorn sync worker), which verify through the
server's JWKS and hear revocations over Redis."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integrations.contract import LOGOUT_ALL_BOUND
from tests.live import free_port, live_server, wait_ready
from tests.server.support import PASSWORD

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
BIN = Path(sys.executable).parent


def command(example: str, port: int) -> list[str]:
    if example == "fastapi":
        app_dir = str(EXAMPLES / "fastapi_app")
        return [str(BIN / "uvicorn"), "example_app:app", "--app-dir", app_dir, "--port", str(port)]
    app_dir = str(EXAMPLES / "flask_app")
    return [str(BIN / "gunicorn"), "--chdir", app_dir, "-b", f"127.0.0.1:{port}", "example_app:app"]


@pytest.fixture(params=["fastapi", "flask"])
def services(
    request: pytest.FixtureRequest, tmp_path: Path, redis_url: str
) -> Iterator[tuple[str, str]]:
    """The auth server and an example service, sharing one Redis."""
    with live_server(tmp_path, {"JWTAUTH_REDIS_URL": redis_url}) as server:
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("JWTAUTH_", "EXAMPLE_"))}
        env |= {
            "EXAMPLE_JWKS_URL": f"{server}/.well-known/jwks.json",
            "EXAMPLE_ISSUER": server,
            "EXAMPLE_REDIS_URL": redis_url,
        }
        example = subprocess.Popen(  # noqa: S603 - a server from our venv, fixed arguments
            command(request.param, port),
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_ready(example, f"http://127.0.0.1:{port}/health", "the example")
            yield server, f"http://127.0.0.1:{port}"
        finally:
            example.terminate()
            example.wait(timeout=10)
            if example.stdout is not None:
                example.stdout.close()


@pytest.mark.parametrize("endpoint", ["/auth/logout", "/auth/logout-all"])
def test_a_logout_at_the_server_reaches_the_example_within_the_bound(
    services: tuple[str, str], endpoint: str
) -> None:
    server, example = services
    account = {"email": "alice@example.com", "password": PASSWORD}
    assert httpx.post(f"{server}/auth/register", json=account, timeout=10).status_code == 201
    tokens = httpx.post(f"{server}/auth/login", json=account, timeout=10).json()
    auth = {"Authorization": f"Bearer {tokens['access_token']}"}
    before = httpx.get(f"{example}/whoami", headers=auth, timeout=10)
    assert before.status_code == 200, before.text
    assert httpx.post(f"{server}{endpoint}", headers=auth, timeout=10).status_code == 204
    logged_out = time.monotonic()
    while True:  # polled until refused; the bound is the assertion
        answer = httpx.get(f"{example}/whoami", headers=auth, timeout=10)
        elapsed = time.monotonic() - logged_out
        if answer.status_code == 401:
            break
        assert answer.status_code == 200
        assert elapsed < LOGOUT_ALL_BOUND, f"still accepted {elapsed:.3f} s after {endpoint}"
    assert elapsed < LOGOUT_ALL_BOUND
    assert 'error="invalid_token"' in answer.headers["www-authenticate"]
