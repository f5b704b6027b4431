"""Helpers of the revocation store tests: claims to ask a view about, and a bounded wait."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

__all__ = ["ISS", "claims", "wait_until"]

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
