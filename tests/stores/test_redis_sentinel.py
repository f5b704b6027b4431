"""The Redis stores on a Sentinel-managed primary (a private primary, replica and sentinel,
tests/faults.py), issue 14: revocations and limits are shared, and when the primary dies the
sentinel's failover loses no revocation and the subscription follows the new primary.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from jwtauth.stores.redis import RedisRevocationStore
from tests.faults import PrivateSentinel, private_sentinel
from tests.stores.support import (
    ISS,
    claims,
    hits_allowed_across_two,
    revoke_once_accepted,
    wait_until,
)

pytestmark = pytest.mark.anyio


@pytest.fixture
def sentinel(tmp_path: Path) -> Iterator[PrivateSentinel]:
    with private_sentinel(tmp_path / "sentinel") as running:
        yield running


def store(sentinel: PrivateSentinel, namespace: str) -> RedisRevocationStore:
    return RedisRevocationStore(sentinel.url, namespace=namespace, heartbeat_interval=0.2)


async def test_limits_are_shared_through_the_sentinels_primary(sentinel: PrivateSentinel) -> None:
    assert await hits_allowed_across_two(sentinel.url, "198.51.100.9") == 5


async def test_a_failover_loses_no_revocation_and_the_subscription_follows(
    sentinel: PrivateSentinel,
) -> None:
    namespace = uuid.uuid4().hex[:12]
    async with store(sentinel, namespace) as writer, store(sentinel, namespace) as follower:
        await writer.revoke_token(ISS, "before", time.time() + 300)
        await wait_until(lambda: follower.view.is_revoked(claims("before")), timeout=5.0)
        replica = sentinel.replica.port
        sentinel.primary.kill()
        await asyncio.to_thread(sentinel.wait, lambda: sentinel.primary_port() == replica)
        await revoke_once_accepted(writer, "after", timeout=20.0)
        await wait_until(lambda: follower.view.is_revoked(claims("after")), timeout=15.0)
        await wait_until(lambda: follower.live, timeout=15.0)
    async with store(sentinel, namespace) as later:  # the promoted replica had the keys
        assert later.view.is_revoked(claims("before"))
        assert later.view.is_revoked(claims("after"))
