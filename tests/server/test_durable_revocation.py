"""Real `jwtauth serve` processes: a logout is never lost, whatever Redis does (issue 14).

The database holds every revocation; each process loads the live ones at start and polls for
new ones every ``JWTAUTH_REVOCATION_POLL_INTERVAL`` (1 s here), so another process refuses a
logged-out token within that bound with no Redis at all, through a Redis outage, and after
Redis restarts empty. Redis faults use a private Redis (tests/faults.py), never the shared one.
"""

from __future__ import annotations

import secrets
import time
from pathlib import Path

import httpx

from jwtauth.stores.sql_database import upgrade
from tests.faults import PrivateRedis, private_redis
from tests.live import live_server

POLL = 1.0  # JWTAUTH_REVOCATION_POLL_INTERVAL of every process below
BOUND = POLL + 4.0  # the poll, plus a loaded machine's scheduling and one query
PASSWORD = "correct horse battery staple"  # a test user's  # pragma: allowlist secret


def environment(database_url: str, redis: PrivateRedis | None = None) -> dict[str, str]:
    env = {
        "JWTAUTH_DATABASE_URL": database_url,
        "JWTAUTH_ALGORITHM": "HS256",
        "JWTAUTH_SECRET": secrets.token_urlsafe(48),
        # One deployment behind a load balancer: one issuer, so one Redis namespace.
        "JWTAUTH_ISSUER": "http://auth.jwtauth.test",
        "JWTAUTH_REVOCATION_POLL_INTERVAL": str(POLL),
        "JWTAUTH_RATE_LIMITS": "false",
    }
    if redis is not None:
        env["JWTAUTH_REDIS_URL"] = redis.url
    return env


def login(base: str, email: str) -> dict[str, str]:
    registered = httpx.post(
        f"{base}/auth/register", json={"email": email, "password": PASSWORD}, timeout=10
    )
    assert registered.status_code == 201, registered.text
    answer = httpx.post(
        f"{base}/auth/login", json={"email": email, "password": PASSWORD}, timeout=10
    )
    assert answer.status_code == 200, answer.text
    tokens: dict[str, str] = answer.json()
    return tokens


def me(base: str, access: str) -> int:
    headers = {"Authorization": f"Bearer {access}"}
    return httpx.get(f"{base}/auth/me", headers=headers, timeout=10).status_code


def logout(base: str, access: str) -> int:
    headers = {"Authorization": f"Bearer {access}"}
    return httpx.post(f"{base}/auth/logout", headers=headers, timeout=10).status_code


def refused_within(base: str, access: str, bound: float) -> float:
    """Ask ``base`` until it refuses ``access`` (401); return how long that took. A wait on
    the answer changing, with the bound under test as its deadline, not a sleep: it ends as
    soon as the process has applied the revocation."""
    start = time.monotonic()
    while (status := me(base, access)) != 401:
        assert status == 200, f"unexpected {status}"
        elapsed = time.monotonic() - start
        assert elapsed < bound, f"still accepted after {elapsed:.1f} s"
        time.sleep(0.02)
    return time.monotonic() - start


def ready_within(base: str, bound: float) -> None:
    """Wait for ``/readyz`` to answer 200 again (Redis back, subscription restored)."""
    deadline = time.monotonic() + bound
    while httpx.get(f"{base}/readyz", timeout=10).status_code != 200:
        assert time.monotonic() < deadline, "not ready again"
        time.sleep(0.05)


def test_sqlite_without_redis_a_logout_reaches_the_other_process(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    upgrade(url)
    env = environment(url)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with live_server(tmp_path / "a", env) as first, live_server(tmp_path / "b", env) as second:
        tokens = login(first, "alice@example.com")
        assert me(second, tokens["access_token"]) == 200
        assert logout(first, tokens["access_token"]) == 204
        assert me(first, tokens["access_token"]) == 401
        refused_within(second, tokens["access_token"], BOUND)
        refreshed = httpx.post(
            f"{second}/auth/refresh", json={"refresh_token": tokens["refresh_token"]}, timeout=10
        )
        assert refreshed.status_code == 401


def test_a_process_started_after_redis_came_back_empty_refuses_an_earlier_logout(
    tmp_path: Path, postgres_url: str
) -> None:
    upgrade(postgres_url)
    (tmp_path / "a").mkdir()
    (tmp_path / "c").mkdir()
    with private_redis(tmp_path) as redis:
        env = environment(postgres_url, redis)
        with live_server(tmp_path / "a", env) as first:
            gone = login(first, "alice@example.com")
            kept = login(first, "bob@example.com")
            assert logout(first, gone["access_token"]) == 204
        redis.kill()
        redis.start()  # empty: every key and every message is gone
        with live_server(tmp_path / "c", env) as later:
            assert me(later, kept["access_token"]) == 200  # it serves
            assert me(later, gone["access_token"]) == 401  # and the logout was not forgotten


def test_a_logout_while_redis_is_down_succeeds_and_reaches_the_other_process(
    tmp_path: Path, postgres_url: str
) -> None:
    upgrade(postgres_url)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with private_redis(tmp_path) as redis:
        env = environment(postgres_url, redis)
        with live_server(tmp_path / "a", env) as first, live_server(tmp_path / "b", env) as second:
            tokens = login(first, "alice@example.com")
            access = tokens["access_token"]
            assert me(second, access) == 200
            redis.kill()
            assert logout(first, access) == 204  # the row is written: the logout happened
            assert me(first, access) == 401
            refused_within(second, access, BOUND)  # from the database, Redis still down
            redis.start()
            ready_within(second, 30.0)
            ready_within(first, 30.0)
            assert me(second, access) == 401
            assert me(first, access) == 401
            refreshed = httpx.post(
                f"{second}/auth/refresh",
                json={"refresh_token": tokens["refresh_token"]},
                timeout=10,
            )
            assert refreshed.status_code == 401  # the session ended with the logout
