"""Key rotation and `jwtauth revoke-all` across two live `jwtauth serve` processes sharing one
PostgreSQL database (and one Redis), driven by the CLI as an operator would."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from jwtauth.stores.memory import MemoryRevocationStore
from jwtauth.stores.redis import RedisRevocationStore
from jwtauth.tokens.encoding import b64url_decode
from tests.live import JWTAUTH, live_server
from tests.server.support import PASSWORD

POLL = 0.5  # JWTAUTH_KEYRING_POLL_INTERVAL of the servers: the stated propagation bound
MARGIN = 2.0  # what the assertions allow beyond the bound (a loaded 2-CPU machine)
ISSUER = "http://auth.jwtauth.test"

pytestmark = pytest.mark.anyio


class Cluster:
    """Two server processes on one database, and the CLI with the same configuration."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.env = env
        self.cwd = cwd
        self.urls: list[str] = []
        self._servers = contextlib.ExitStack()

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603 - our own console script, fixed arguments
            [str(JWTAUTH), *args],
            cwd=self.cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def start(self) -> None:
        self.urls.append(self._servers.enter_context(live_server(self.cwd, self.env)))

    def stop(self) -> None:
        self._servers.close()


@pytest.fixture(params=["redis", "database-only"])
def cluster(request: pytest.FixtureRequest, tmp_path: Path, postgres_url: str) -> Iterator[Cluster]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JWTAUTH_")}
    env |= {
        "JWTAUTH_DATABASE_URL": postgres_url,
        "JWTAUTH_STATE_DIR": str(tmp_path / "state"),
        "JWTAUTH_KEYRING": "managed",
        "JWTAUTH_KEYRING_POLL_INTERVAL": str(POLL),
        "JWTAUTH_ISSUER": ISSUER,  # one issuer for both processes, as behind a load balancer
        "JWTAUTH_RATE_LIMITS": "false",
    }
    if request.param == "redis":
        env["JWTAUTH_REDIS_URL"] = request.getfixturevalue("redis_url")
    group = Cluster(env, tmp_path)
    # The schema and the keyring exist before the servers start, as `jwtauth db upgrade` in a
    # deployment; two processes must not race to create the tables.
    for step in (("db", "upgrade"), ("keys", "list")):
        done = group.cli(*step)
        assert done.returncode == 0, done.stderr
    try:
        group.start()
        group.start()
        yield group
    finally:
        group.stop()


def login(url: str, email: str = "alice@example.com") -> dict[str, Any]:
    response = httpx.post(f"{url}/auth/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def me(url: str, token: str) -> int:
    return httpx.get(f"{url}/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code


def kid_of(token: str) -> str:
    header = json.loads(b64url_decode(token.split(".", maxsplit=1)[0]))
    return str(header["kid"])


def published(url: str) -> set[str]:
    return {jwk["kid"] for jwk in httpx.get(f"{url}/.well-known/jwks.json").json()["keys"]}


def within(seconds: float, condition: Callable[[], bool]) -> float:
    """Poll ``condition`` until it holds; fail after ``seconds``. Returns the time it took."""
    started = time.monotonic()
    while not condition():
        elapsed = time.monotonic() - started
        assert elapsed < seconds, f"not within {seconds} s"
        time.sleep(0.02)
    return time.monotonic() - started


def test_revoke_all_refuses_earlier_tokens_on_every_process_and_later_ones_work(
    cluster: Cluster,
) -> None:
    a, b = cluster.urls
    created = httpx.post(
        f"{a}/auth/register", json={"email": "alice@example.com", "password": PASSWORD}
    )
    assert created.status_code == 201, created.text
    on_a, on_b = login(a), login(b)
    earlier = [on_a["access_token"], on_b["access_token"]]
    assert all(me(url, token) == 200 for url in (a, b) for token in earlier)

    done = cluster.cli("revoke-all", "--yes")
    assert done.returncode == 0, done.stderr
    assert "2 sessions ended" in done.stdout

    took = within(POLL + MARGIN, lambda: all(me(url, t) == 401 for url in (a, b) for t in earlier))
    print(f"revoke-all in force on both processes after {took * 1000:.0f} ms")
    for url, pair in ((b, on_a), (a, on_b)):  # refresh tokens issued before it are dead too
        refused = httpx.post(f"{url}/auth/refresh", json={"refresh_token": pair["refresh_token"]})
        assert refused.status_code == 401
    later = login(a)["access_token"]
    assert me(a, later) == 200
    assert me(b, later) == 200
    assert me(b, login(b)["access_token"]) == 200


def test_a_cli_rotation_reaches_both_processes_and_old_tokens_keep_verifying(
    cluster: Cluster,
) -> None:
    a, b = cluster.urls
    created = httpx.post(
        f"{b}/auth/register", json={"email": "bob@example.com", "password": PASSWORD}
    )
    assert created.status_code == 201
    old_token = login(b, "bob@example.com")["access_token"]
    old_kid = kid_of(old_token)
    before = published(a)
    assert published(b) == before
    (waiting,) = before - {old_kid}  # `next` is in JWKS before it ever signs

    refused = cluster.cli("keys", "rotate")
    assert refused.returncode == 1
    assert "JWKS caches may not know it" in refused.stderr
    done = cluster.cli("keys", "rotate", "--force")
    assert done.returncode == 0, done.stderr
    assert "PRIVATE" not in done.stdout + done.stderr

    took = within(
        POLL + MARGIN,
        lambda: all(
            kid_of(login(url, "bob@example.com")["access_token"]) == waiting for url in (a, b)
        ),
    )
    print(f"both processes sign with the new key after {took * 1000:.0f} ms")
    assert me(a, old_token) == 200
    assert me(b, old_token) == 200
    for url in (a, b):
        keys = published(url)
        assert {old_kid, waiting} < keys
        assert len(keys) == 3  # retiring, active and the new next
    listed = cluster.cli("keys", "list")
    assert listed.returncode == 0
    states = {line.split()[0]: line.split()[2] for line in listed.stdout.splitlines()[1:]}
    assert states[old_kid] == "retiring"
    assert states[waiting] == "active"


# The revoke-all cut-off in the revocation stores ---------------------------------------------


async def test_the_memory_store_cut_off_never_moves_back() -> None:
    store = MemoryRevocationStore()
    await store.revoke_all(100.0)
    await store.revoke_all(50.0)
    assert store.view.is_revoked({"iat": 99.9})
    assert not store.view.is_revoked({"iat": 100.0})
    with pytest.raises(ValueError, match="finite"):
        await store.revoke_all(float("nan"))


async def test_a_redis_revoke_all_reaches_another_process_view(redis_url: str) -> None:
    async with (
        RedisRevocationStore(redis_url) as writer,
        RedisRevocationStore(redis_url) as reader,
    ):
        before = time.time()
        await writer.revoke_all(before)
        assert writer.view.is_revoked({"iat": before - 1})
        started = time.monotonic()
        while not reader.view.is_revoked({"iat": before - 1}):
            assert time.monotonic() - started < 1.0
            await asyncio.sleep(0.005)
        assert not reader.view.is_revoked({"iat": before})
    async with RedisRevocationStore(redis_url) as late:  # started after: loads it by SCAN
        assert late.view.is_revoked({"iat": before - 1})
