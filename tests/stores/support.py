"""Helpers of the revocation store tests: claims to ask a view about, and a bounded wait."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from typing import Any

from jwtauth.ratelimit import DEFAULT_POLICIES
from jwtauth.ratelimit.redis import RedisRateLimiter
from jwtauth.stores.redis import RedisRevocationStore

__all__ = ["ISS", "claims", "hits_allowed_across_two", "revoke_once_accepted", "wait_until"]

ISS = "https://auth.test/tenant:a"


def claims(jti: str = "j1", sub: str = "alice", sid: str | None = None) -> dict[str, Any]:
    """Verified claims of a token issued 10 s ago by :data:`ISS`."""
    token: dict[str, Any] = {"iss": ISS, "sub": sub, "jti": jti, "iat": time.time() - 10}
    if sid is not None:
        token["sid"] = sid
    return token


async def wait_until(condition: Callable[[], bool], timeout: float) -> float:
    """Wait for ``condition`` (checked every few milliseconds) with a deadline: the wait ends
    when the state is reached, and the deadline is only the bound under test; the seconds it
    took."""
    start = time.perf_counter()
    while not condition():
        assert time.perf_counter() - start < timeout, f"not seen within {timeout} s"
        await asyncio.sleep(0.005)
    return time.perf_counter() - start


async def hits_allowed_across_two(url: str, address: str) -> int:
    """Eight hits of ``login-ip`` (5 a minute) on ``address``, alternating between two limiters
    of one namespace on ``url``; how many were allowed (5 when the limit is shared)."""
    namespace = uuid.uuid4().hex[:12]
    first = RedisRateLimiter(url, namespace=namespace)
    second = RedisRateLimiter(url, namespace=namespace)
    try:
        policy = DEFAULT_POLICIES["login-ip"]
        decisions = [await (first if i % 2 else second).hit(policy, address) for i in range(8)]
        assert await first.ping()
        return [d.allowed for d in decisions].count(True)
    finally:
        await first.close()
        await second.close()


async def revoke_once_accepted(store: RedisRevocationStore, jti: str, timeout: float) -> None:
    """Revoke ``jti``, retrying while the client is still finding a failed-over primary; the
    deadline is the bound of the failover under test."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            await store.revoke_token(ISS, jti, time.time() + 300)
        except Exception:
            assert time.monotonic() < deadline, "no write accepted after the failover"
            await asyncio.sleep(0.1)
        else:
            return
