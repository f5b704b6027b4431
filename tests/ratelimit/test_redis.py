"""What only the Redis limiter does: one limit for many instances and processes, atomically,
with no raw identifier in Redis, and the same decisions as the in-process limiter.

Real Redis (db 15, see conftest), never a mock; every test uses a key prefix of its own.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any, cast

import pytest
from redis.asyncio import Redis

from jwtauth.ratelimit import MemoryRateLimiter, Penalty, RatePolicy
from jwtauth.ratelimit.redis import RedisRateLimiter
from jwtauth.testing import FrozenClock

pytestmark = pytest.mark.anyio

NOW = 1_700_000_000.0
RATE = RatePolicy("rate", 5, 60, penalty=None)
PENALIZED = RatePolicy("strict", 2, 10, Penalty(base=30, factor=2, cap=100, decay=600))

Factory = Callable[..., Awaitable[RedisRateLimiter]]


@pytest.fixture
def prefix() -> str:
    return f"jwtauth:rl:test-{uuid.uuid4().hex[:12]}:"


@pytest.fixture
async def admin(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
async def limiters(redis_url: str, prefix: str) -> AsyncIterator[Factory]:
    """Make limiters on the test Redis and prefix, as separate processes would have them."""
    async with AsyncExitStack() as stack:

        async def make(**options: Any) -> RedisRateLimiter:
            limiter = RedisRateLimiter(redis_url, key_prefix=prefix, **options)
            return await stack.enter_async_context(limiter)

        yield make


async def test_two_instances_share_one_limit(limiters: Factory) -> None:
    clock = FrozenClock(NOW)
    a, b = await limiters(clock=clock), await limiters(clock=clock)
    assert [(await a.hit(RATE, "k")).remaining for _ in range(3)] == [4, 3, 2]
    assert [(await b.hit(RATE, "k")).remaining for _ in range(2)] == [1, 0]
    assert not (await a.hit(RATE, "k")).allowed
    assert not (await b.hit(RATE, "k")).allowed
    await b.reset(RATE, "k")  # an admin unlock on one process frees the key for all
    assert (await a.peek(RATE, "k")).remaining == 5


async def test_server_time_is_the_default_and_shared(limiters: Factory) -> None:
    a, b = await limiters(), await limiters()  # no clock: Redis TIME decides
    decisions = [await (a if i % 2 else b).hit(RATE, "k") for i in range(6)]
    assert [d.allowed for d in decisions] == [True] * 5 + [False]
    assert 1 <= decisions[-1].retry_after <= 12
    assert not (await a.peek(RATE, "k")).allowed


async def test_concurrent_hits_from_many_instances_get_exactly_the_limit(
    limiters: Factory,
) -> None:
    instances = [await limiters() for _ in range(4)]
    decisions = await asyncio.gather(*(instances[i % 4].hit(PENALIZED, "k") for i in range(40)))
    assert sum(d.allowed for d in decisions) == 2
    # One strike, however many refusals raced: the first blocks, the rest find the block.
    assert max(d.strikes for d in decisions) == 1
    assert sum(d.blocked for d in decisions) == 38


async def test_redis_holds_a_hash_of_the_key_never_the_identifier(
    limiters: Factory, admin: Redis, prefix: str
) -> None:
    email = "Alice.Smith@Example.com"
    limiter = await limiters(clock=FrozenClock(NOW))
    await limiter.hit(PENALIZED, email)
    keys = [key async for key in admin.scan_iter(match=prefix + "*")]
    digest = hashlib.sha256(email.encode()).hexdigest()
    assert keys == [f"{prefix}strict:{digest}".encode()]
    assert limiter.storage_key(PENALIZED, email) == keys[0].decode()
    fields = cast("dict[bytes, bytes]", await admin.hgetall(keys[0]))
    assert sorted(fields) == [b"strikes", b"tat", b"until"]
    stored = b" ".join([*keys, *fields.values()]).lower()
    for part in (b"alice", b"smith", b"example"):
        assert part not in stored


async def test_a_key_secret_makes_the_stored_key_an_hmac(limiters: Factory) -> None:
    plain = await limiters()
    keyed = await limiters(key_secret=b"s" * 32)
    assert plain.storage_key(RATE, "k") != keyed.storage_key(RATE, "k")
    assert (await keyed.hit(RATE, "k")).remaining == 4
    assert (await plain.peek(RATE, "k")).remaining == 5  # a different key in Redis


async def test_a_key_expires_when_it_no_longer_matters(limiters: Factory, admin: Redis) -> None:
    limiter = await limiters(clock=FrozenClock(NOW))
    await limiter.hit(RATE, "k")
    assert 11_000 < await admin.pttl(limiter.storage_key(RATE, "k")) <= 12_000  # one interval
    refused = [await limiter.hit(PENALIZED, "k") for _ in range(3)][-1]
    assert refused.retry_after == 30
    # The block, then one quiet period per strike to forget it.
    assert 629_000 < await admin.pttl(limiter.storage_key(PENALIZED, "k")) <= 630_000


async def test_ping_tells_whether_redis_answers(limiters: Factory) -> None:
    assert await (await limiters()).ping()
    async with RedisRateLimiter("redis://127.0.0.1:1/0") as nowhere:
        assert not await nowhere.ping()


async def test_the_lua_twin_decides_exactly_as_the_python_step(limiters: Factory) -> None:
    """One random sequence of hits, peeks, resets and clock steps, on both limiters."""
    clock = FrozenClock(NOW)
    shared = await limiters(clock=clock)
    local = MemoryRateLimiter(clock)
    # Tight quotas, short blocks and long decays, so that the sequence reaches every branch:
    # refusals by rate and by block, strikes up to the cap, decay, peeks while blocked.
    policies = [
        RatePolicy("a", 3, 7, Penalty(base=2.5, factor=1.5, cap=20, decay=60)),
        RatePolicy("b", 2, 5, penalty=None),
        RatePolicy("c", 1, 1, Penalty(base=0.5, factor=3, cap=10, decay=30)),
    ]
    steps = [0] * 8 + [0.001, 0.25, 0.5, 1, 2.5, 3.5, 12, 90]
    rng = random.Random(20240613)  # noqa: S311 - a fixed seed, so a failure reproduces
    seen = set()
    for step in range(1000):
        clock.advance(rng.choice(steps))
        policy, key = rng.choice(policies), rng.choice(["x", "y"])
        action = rng.choices(["hit", "peek", "reset"], weights=[50, 10, 1])[0]
        if action == "reset":
            await shared.reset(policy, key)
            await local.reset(policy, key)
            continue
        expected = await getattr(local, action)(policy, key)
        assert await getattr(shared, action)(policy, key) == expected, (step, action)
        seen.add((action, expected.allowed, expected.blocked, expected.strikes))
    assert {("hit", False, False, 0), ("hit", False, True, 4), ("peek", False, True, 1)} <= seen


# A real second process ----------------------------------------------------------------------

CHILD = """
import asyncio, sys
from jwtauth.ratelimit import RatePolicy
from jwtauth.ratelimit.redis import RedisRateLimiter

async def main() -> None:
    url, prefix = sys.argv[1:3]
    async with RedisRateLimiter(url, key_prefix=prefix) as limiter:
        policy = RatePolicy("rate", 5, 60, penalty=None)
        for _ in range(3):
            print((await limiter.hit(policy, "k")).allowed, flush=True)

asyncio.run(main())
"""


async def test_a_limit_holds_across_processes(
    limiters: Factory, redis_url: str, prefix: str
) -> None:
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CHILD, redis_url, prefix, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await asyncio.wait_for(child.communicate(), 30)
    assert (child.returncode, out.split()) == (0, [b"True"] * 3)
    limiter = await limiters()
    assert [(await limiter.hit(RATE, "k")).allowed for _ in range(3)] == [True, True, False]
