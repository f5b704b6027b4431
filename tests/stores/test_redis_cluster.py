"""The Redis stores on a Redis Cluster (three primaries, a replica each), a private one of the
test's own (tests/faults.py), issue 14: revocations travel by sharded Pub/Sub under a hash tag,
a store started later loads them, rate limits are shared, and a failover of the primary that
owns the deployment's slot loses nothing and keeps revocations flowing.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator

import pytest

from jwtauth.stores.redis import RedisRevocationStore
from jwtauth.stores.redis_client import is_cluster
from tests.faults import PrivateCluster, private_cluster
from tests.stores.support import (
    ISS,
    claims,
    hits_allowed_across_two,
    revoke_once_accepted,
    wait_until,
)

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateCluster]:
    with private_cluster(tmp_path_factory.mktemp("cluster")) as running:
        yield running


def store(cluster: PrivateCluster, namespace: str) -> RedisRevocationStore:
    return RedisRevocationStore(cluster.url, namespace=namespace, heartbeat_interval=0.2)


async def test_names_carry_the_namespace_as_one_hash_tag(cluster: PrivateCluster) -> None:
    assert is_cluster(cluster.url)
    shared = store(cluster, "shop")
    try:
        assert shared._prefix == "jwtauth:{shop}:rev:"
        assert shared._channel == "jwtauth:{shop}:revocations"
    finally:
        await shared.close()
    with pytest.raises(ValueError, match="namespace"):
        RedisRevocationStore(cluster.url)


async def test_a_revocation_reaches_every_store_and_a_later_one_loads_it(
    cluster: PrivateCluster,
) -> None:
    namespace = uuid.uuid4().hex[:12]
    async with store(cluster, namespace) as first, store(cluster, namespace) as second:
        for index in range(20):  # keys of many names, all under the one tag
            await first.revoke_token(ISS, f"j{index}", time.time() + 300)
        took = await wait_until(lambda: second.view.is_revoked(claims("j19")), timeout=5.0)
        assert took < 5.0
        assert all(second.view.is_revoked(claims(f"j{i}")) for i in range(20))
        await second.revoke_subject(ISS, "bob", time.time())
        await wait_until(
            lambda: first.view.is_revoked({**claims("other"), "sub": "bob"}), timeout=5.0
        )
    async with store(cluster, namespace) as later:  # SCAN over the primaries, one MGET
        assert all(later.view.is_revoked(claims(f"j{i}")) for i in range(20))
        assert not later.view.is_revoked(claims("never"))
    async with store(cluster, uuid.uuid4().hex[:12]) as elsewhere:  # another deployment
        assert not elsewhere.view.is_revoked(claims("j1"))


async def test_rate_limits_are_shared_by_every_instance(cluster: PrivateCluster) -> None:
    assert await hits_allowed_across_two(cluster.url, "203.0.113.7") == 5


async def test_a_failover_of_the_slots_primary_loses_no_revocation(
    cluster: PrivateCluster,
) -> None:
    namespace = uuid.uuid4().hex[:12]
    async with store(cluster, namespace) as writer, store(cluster, namespace) as follower:
        await writer.revoke_token(ISS, "before", time.time() + 300)
        await wait_until(lambda: follower.view.is_revoked(claims("before")), timeout=5.0)
        owner = cluster.primary_for(f"jwtauth:{{{namespace}}}:rev:x")
        owner.kill()  # the replica takes over after the node timeout (1 s)
        await asyncio.to_thread(cluster.wait_healthy)
        # Writes go to the new primary (the client follows the move) and the follower,
        # subscribed again at the slot's new owner, hears them.
        await revoke_once_accepted(writer, "after", timeout=20.0)
        await wait_until(lambda: follower.view.is_revoked(claims("after")), timeout=15.0)
        assert follower.view.is_revoked(claims("before"))  # kept, and on the replica too
        await wait_until(lambda: follower.live, timeout=15.0)
    async with store(cluster, namespace) as later:  # the promoted replica had the keys
        assert later.view.is_revoked(claims("before"))
        assert later.view.is_revoked(claims("after"))
