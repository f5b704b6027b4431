"""Two `jwtauth serve` processes sharing PostgreSQL and Redis enforce one rate limit."""

from __future__ import annotations

import secrets
from pathlib import Path

import httpx

from jwtauth.stores.sql_database import upgrade
from tests.live import live_server


def wrong(n: int) -> dict[str, str]:
    # A new account each time: only the address repeats, so only the address limit can refuse.
    return {"email": f"user{n}@example.com", "password": "not the password at all"}


def test_two_processes_share_one_login_limit(
    tmp_path: Path, postgres_url: str, redis_url: str
) -> None:
    upgrade(postgres_url)  # once, before either process starts
    env = {
        "JWTAUTH_DATABASE_URL": postgres_url,
        "JWTAUTH_REDIS_URL": redis_url,
        "JWTAUTH_ALGORITHM": "HS256",
        "JWTAUTH_SECRET": secrets.token_urlsafe(48),
        # One deployment: one issuer (else each port's default is its own, and so is its Redis
        # namespace, limits included), as behind a load balancer.
        "JWTAUTH_ISSUER": "http://auth.jwtauth.test",
    }
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    # The test reaches both through 127.0.0.1, a trusted proxy by default, so X-Forwarded-For
    # names the client: one address, spread over the two processes.
    client = {"X-Forwarded-For": "198.51.100.77"}
    with live_server(tmp_path / "a", env) as first, live_server(tmp_path / "b", env) as second:
        statuses = [
            httpx.post(f"{base}/auth/login", json=wrong(n), headers=client, timeout=10).status_code
            for n, base in enumerate((first, second, first, second, first))
        ]
        assert statuses == [401] * 5  # the login-ip quota: 5 a minute, spent across both
        for n, base in enumerate((second, first), start=5):
            refused = httpx.post(f"{base}/auth/login", json=wrong(n), headers=client, timeout=10)
            assert refused.status_code == 429
            assert int(refused.headers["retry-after"]) >= 1
            assert '"login-ip";r=0;' in refused.headers["ratelimit"]
        elsewhere = {"X-Forwarded-For": "198.51.100.78"}
        other = httpx.post(f"{second}/auth/login", json=wrong(7), headers=elsewhere, timeout=10)
        assert other.status_code == 401
