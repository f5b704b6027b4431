"""Deployments sharing one Redis server stay apart: every channel and key carries a namespace.

Pub/Sub ignores the database number, and the revoke-all entry names no issuer: before the
namespace, one deployment's `jwtauth revoke-all` reached every other one on the server (issue 13
item 9). Real Redis, two deployments each time, on one database and on two.

"Not reached" is proven without sleeping: after the revoke-all, a marker is revoked through the
other deployment's namespace, and Redis delivers one connection's messages in the order it
executed the PUBLISHes. Once the marker is in, a revoke-all that had reached the same connection
would already have been applied.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import pytest
from redis.asyncio import Redis

from jwtauth.ratelimit import RatePolicy
from jwtauth.ratelimit.redis import RedisRateLimiter
from jwtauth.redis_namespace import check_namespace, namespace_for_issuer, redis_namespace
from jwtauth.stores.redis import LEGACY_KEY_PREFIX, RedisRevocationStore

pytestmark = pytest.mark.anyio

ISS = "https://auth.test/a"
EXP = time.time() + 3600
BOUND = 2.0  # seconds within which a store must see what was published


async def wait_until(condition: Callable[[], bool], timeout: float = BOUND) -> None:
    """Poll ``condition`` (no sleep stands in for an event: each turn re-checks it)."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.002)


def fresh() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


def other_db(url: str) -> str:
    """The same server, another database number (the test's own is flushed by the fixture;
    this one is only ever written under namespaces of this test, deleted afterwards)."""
    parts = urlsplit(url)
    db = int(parts.path.strip("/") or 0)
    return urlunsplit(parts._replace(path=f"/{(db + 8) % 16}"))


@pytest.fixture(params=["same db", "different db"])
def urls(request: pytest.FixtureRequest, redis_url: str) -> Iterator[tuple[str, str]]:
    second = redis_url if request.param == "same db" else other_db(redis_url)
    yield redis_url, second
    if second != redis_url:
        import redis

        client = redis.Redis.from_url(second)
        try:
            for key in client.scan_iter(match="jwtauth:test-*"):
                client.delete(key)
        finally:
            client.close()


@pytest.fixture
async def stores() -> AsyncIterator[Callable[..., Any]]:
    async with AsyncExitStack() as stack:

        async def make(url: str, namespace: str | None, **options: Any) -> RedisRevocationStore:
            store = RedisRevocationStore(url, namespace=namespace, **options)
            return await stack.enter_async_context(store)

        yield make


async def prove_not_reached(
    make: Callable[..., Any], url: str, namespace: str | None, reader: RedisRevocationStore
) -> None:
    """Revoke a marker through ``namespace`` and wait until ``reader`` has it: whatever was
    published to ``reader`` before has been applied by then."""
    marker = uuid.uuid4().hex
    writer: RedisRevocationStore = await make(url, namespace)
    await writer.revoke_token(ISS, marker, EXP)
    await wait_until(lambda: reader.view.is_revoked({"iss": ISS, "jti": marker, "iat": 0}))


async def test_revoke_all_reaches_its_own_namespace_only(
    urls: tuple[str, str], stores: Callable[..., Any]
) -> None:
    first, second = urls
    ours, theirs = fresh(), fresh()
    writer = await stores(first, ours)
    peer = await stores(second, ours)  # another process of the same deployment
    other = await stores(second, theirs)  # another deployment on the same Redis server
    before = time.time()
    await writer.revoke_all(before)
    old_token = {"iss": ISS, "jti": "j", "iat": before - 1}
    await wait_until(lambda: peer.view.is_revoked(old_token))
    await prove_not_reached(stores, first, theirs, other)
    assert not other.view.is_revoked(old_token)
    # Started later, each loads by SCAN only what its namespace holds in its own database.
    late_other = await stores(first, theirs)
    assert not late_other.view.is_revoked(old_token)
    late_peer = await stores(first, ours)
    assert late_peer.view.is_revoked(old_token)


async def test_the_old_shared_names_bridge_logouts_but_never_a_revoke_all(
    redis_url: str, stores: Callable[..., Any]
) -> None:
    """Upgrading: an old process (the un-namespaced names) still hears the new ones' logouts and
    they its; an old revoke-all, which may come from any deployment, is ignored.

    The old revoke-alls here cut off at 1.0 (1970): other sessions' tests on this Redis server
    hear the shared channel too, and no token of theirs is that old."""
    admin = Redis.from_url(redis_url)
    ancient = {"iss": ISS, "jti": "other", "iat": 0.5}
    try:
        # Written before the upgrade: a logout is loaded, a revoke-all is not.
        jti = uuid.uuid4().hex
        legacy_key = f"{LEGACY_KEY_PREFIX}jti:{quote(ISS, safe='')}:{jti}"
        await admin.set(legacy_key, repr(EXP), px=60_000)
        await admin.set(f"{LEGACY_KEY_PREFIX}all::", "1.0", px=60_000)
        ours = fresh()
        new = await stores(redis_url, ours)
        assert new.view.is_revoked({"iss": ISS, "jti": jti, "iat": 0})
        assert not new.view.is_revoked(ancient)

        old = await stores(redis_url, None)  # as before the namespace: the shared names
        assert old.view.is_revoked(ancient)  # what the new store refused to load
        await old.revoke_all(1.0)
        from_old = uuid.uuid4().hex
        await old.revoke_token(ISS, from_old, EXP)
        await wait_until(lambda: new.view.is_revoked({"iss": ISS, "jti": from_old, "iat": 0}))
        assert not new.view.is_revoked(ancient)  # the revoke-all published before it: ignored

        from_new = uuid.uuid4().hex
        await new.revoke_token(ISS, from_new, EXP)
        await wait_until(lambda: old.view.is_revoked({"iss": ISS, "jti": from_new, "iat": 0}))
        await new.revoke_all(time.time())
        assert await admin.get(f"jwtauth:{ours}:rev:all::") is not None
        assert await admin.get(f"{LEGACY_KEY_PREFIX}all::") == b"1.0"  # never the new one's
    finally:
        await admin.aclose()


async def test_without_legacy_names_the_old_channel_is_not_followed(
    redis_url: str, stores: Callable[..., Any]
) -> None:
    ours = fresh()
    new = await stores(redis_url, ours, legacy_names=False)
    old = await stores(redis_url, None)
    from_old = uuid.uuid4().hex
    await old.revoke_token(ISS, from_old, EXP)
    await prove_not_reached(stores, redis_url, ours, new)
    assert not new.view.is_revoked({"iss": ISS, "jti": from_old, "iat": 0})


async def test_rate_limits_are_per_namespace(urls: tuple[str, str]) -> None:
    first, _ = urls
    policy = RatePolicy("login-ip", 1, 60, penalty=None)
    ours, theirs = fresh(), fresh()
    async with (
        RedisRateLimiter(first, namespace=ours) as a,
        RedisRateLimiter(first, namespace=ours) as a_peer,
        RedisRateLimiter(first, namespace=theirs) as b,
    ):
        assert (await a.hit(policy, "203.0.113.7")).allowed
        assert not (await a_peer.hit(policy, "203.0.113.7")).allowed  # one deployment, one limit
        assert (await b.hit(policy, "203.0.113.7")).allowed  # another deployment's is its own
        assert a.storage_key(policy, "x").startswith(f"jwtauth:{ours}:rl:login-ip:")


# The namespace and its setting ----------------------------------------------------------------


def test_the_default_namespace_follows_the_issuer() -> None:
    a, b = namespace_for_issuer("https://a.example"), namespace_for_issuer("https://b.example")
    assert a != b
    assert a == namespace_for_issuer("https://a.example")  # every process of one deployment
    assert redis_namespace(None, "https://a.example") == a
    assert redis_namespace("shop-eu", "https://a.example") == "shop-eu"
    check_namespace(a)


@pytest.mark.parametrize("bad", ["", "a:b", "a*", "x" * 65, "a b", "ns[1]"])
def test_a_namespace_that_would_blur_the_key_layout_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="Redis namespace"):
        check_namespace(bad)
    with pytest.raises(ValueError, match="Redis namespace"):
        RedisRevocationStore("redis://127.0.0.1:6379/0", namespace=bad)
