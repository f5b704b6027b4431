"""The limiter contract, run over the in-process and the Redis limiter alike.

Time is a FrozenClock given to both (the Redis limiter passes it to its script), so nothing
sleeps. Clock steps are multiples of 0.5 s, exact in binary, so milliseconds come out exact.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from jwtauth.ratelimit import MemoryRateLimiter, Penalty, RateDecision, RateLimiter, RatePolicy
from jwtauth.ratelimit.redis import RedisRateLimiter
from jwtauth.testing import FrozenClock

pytestmark = pytest.mark.anyio

NOW = 1_700_000_000.0
RATE = RatePolicy("rate", 5, 60, penalty=None)  # one hit back every 12 s
PENALIZED = RatePolicy("strict", 2, 10, Penalty(base=30, factor=2, cap=100, decay=600))


@dataclass
class Harness:
    limiter: MemoryRateLimiter | RedisRateLimiter
    clock: FrozenClock

    async def hits(self, policy: RatePolicy, n: int, key: str = "k") -> list[RateDecision]:
        return [await self.limiter.hit(policy, key) for _ in range(n)]

    async def violate(self, key: str = "k") -> RateDecision:
        """Use PENALIZED's whole quota, then one more: a strike."""
        assert all(d.allowed for d in await self.hits(PENALIZED, 2, key))
        refused = await self.limiter.hit(PENALIZED, key)
        assert not refused.allowed
        return refused


@pytest.fixture(params=["memory", "redis"])
async def harness(request: pytest.FixtureRequest) -> AsyncIterator[Harness]:
    clock = FrozenClock(NOW)
    if request.param == "memory":
        yield Harness(MemoryRateLimiter(clock), clock)
        return
    url: str = request.getfixturevalue("redis_url")
    # A prefix of this test's own: other sessions may use the same Redis at the same time.
    prefix = f"jwtauth:rl:test-{uuid.uuid4().hex[:12]}:"
    async with RedisRateLimiter(url, clock=clock, key_prefix=prefix) as limiter:
        yield Harness(limiter, clock)


async def test_limiter_implements_the_protocol(harness: Harness) -> None:
    limiter: RateLimiter = harness.limiter
    assert (await limiter.hit(RATE, "k")).allowed


async def test_limit_hits_are_allowed_and_the_next_is_refused(harness: Harness) -> None:
    allowed = await harness.hits(RATE, 5)
    assert [d.allowed for d in allowed] == [True] * 5
    assert [d.remaining for d in allowed] == [4, 3, 2, 1, 0]
    assert {(d.reset, d.retry_after, d.limit, d.window) for d in allowed} == {(12, 0, 5, 60)}
    refused = await harness.limiter.hit(RATE, "k")
    assert (refused.allowed, refused.remaining, refused.retry_after, refused.reset) == (
        False,
        0,
        12,
        12,
    )
    assert not refused.blocked  # no penalty on this policy: the rate alone refused


async def test_quota_comes_back_one_interval_at_a_time(harness: Harness) -> None:
    await harness.hits(RATE, 5)
    harness.clock.advance(11.5)
    early = await harness.limiter.hit(RATE, "k")
    assert (early.allowed, early.retry_after) == (False, 1)  # 0.5 s left, rounded up
    harness.clock.advance(0.5)
    assert [d.allowed for d in await harness.hits(RATE, 2)] == [True, False]
    harness.clock.advance(60)
    refilled = await harness.hits(RATE, 6)
    assert [d.remaining for d in refilled if d.allowed] == [4, 3, 2, 1, 0]
    assert not refilled[-1].allowed


async def test_refused_hits_do_not_delay_the_refill(harness: Harness) -> None:
    await harness.hits(RATE, 5)
    assert not any(d.allowed for d in await harness.hits(RATE, 50))
    harness.clock.advance(12)
    assert (await harness.limiter.hit(RATE, "k")).allowed


async def test_no_double_burst_across_a_window_boundary(harness: Harness) -> None:
    await harness.hits(RATE, 5)
    harness.clock.advance(59.5)  # a fixed window would hand out 5 more half a second later
    assert [d.allowed for d in await harness.hits(RATE, 5)] == [True] * 4 + [False]


async def test_seconds_are_rounded_up_and_a_refusal_waits_at_least_one(harness: Harness) -> None:
    odd = RatePolicy("odd", 3, 10, penalty=None)  # one back every 3.334 s
    await harness.hits(odd, 3)
    assert (await harness.limiter.hit(odd, "k")).retry_after == 4
    harness.clock.advance(3)
    assert (await harness.limiter.hit(odd, "k")).retry_after == 1  # 334 ms


async def test_keys_and_policies_are_independent(harness: Harness) -> None:
    await harness.hits(RATE, 5, "alice")
    assert not (await harness.limiter.hit(RATE, "alice")).allowed
    assert (await harness.limiter.hit(RATE, "bob")).allowed
    other = RatePolicy("other", 5, 60, penalty=None)
    assert (await harness.limiter.hit(other, "alice")).remaining == 4


# Progressive penalties ------------------------------------------------------------------------


async def test_penalty_doubles_with_each_strike_up_to_the_cap(harness: Harness) -> None:
    waits = []
    for _ in range(5):
        refused = await harness.violate()
        assert refused.blocked
        waits.append((refused.strikes, refused.retry_after, refused.reset))
        harness.clock.advance(refused.retry_after)  # serve the block, then offend again
    assert waits == [(1, 30, 30), (2, 60, 60), (3, 100, 100), (4, 100, 100), (5, 100, 100)]


async def test_every_hit_while_blocked_is_refused_with_the_rest_of_the_block(
    harness: Harness,
) -> None:
    await harness.violate()
    harness.clock.advance(10)
    during = await harness.hits(PENALIZED, 20)
    assert {(d.allowed, d.blocked, d.retry_after, d.strikes) for d in during} == {
        (False, True, 20, 1)  # hammering neither adds strikes nor extends the block
    }
    harness.clock.advance(19.5)
    assert (await harness.limiter.hit(PENALIZED, "k")).retry_after == 1
    harness.clock.advance(0.5)
    assert (await harness.limiter.hit(PENALIZED, "k")).allowed


async def test_strikes_decay_one_per_quiet_period_after_the_block(harness: Harness) -> None:
    await harness.violate()
    harness.clock.advance(30)
    assert (await harness.violate()).retry_after == 60  # strike 2
    harness.clock.advance(60 + 599.5)  # the block, then almost one quiet period
    assert (await harness.limiter.peek(PENALIZED, "k")).strikes == 2
    harness.clock.advance(0.5)
    assert (await harness.limiter.peek(PENALIZED, "k")).strikes == 1
    again = await harness.violate()
    assert (again.strikes, again.retry_after) == (2, 60)  # one strike was forgotten, not both
    harness.clock.advance(60 + 2 * 600)
    fresh = await harness.violate()
    assert (fresh.strikes, fresh.retry_after) == (1, 30)


async def test_good_behaviour_between_blocks_keeps_the_strikes(harness: Harness) -> None:
    await harness.violate()
    harness.clock.advance(30)
    for _ in range(3):  # allowed hits, well within the rate, shorter than a quiet period
        assert (await harness.limiter.hit(PENALIZED, "k")).allowed
        harness.clock.advance(100)
    harness.clock.advance(200)
    assert (await harness.violate()).strikes == 2


async def test_reset_forgets_use_and_strikes(harness: Harness) -> None:
    await harness.violate()
    await harness.limiter.reset(PENALIZED, "k")
    after = await harness.limiter.hit(PENALIZED, "k")
    assert (after.allowed, after.remaining, after.strikes) == (True, 1, 0)
    assert (await harness.limiter.hit(PENALIZED, "k")).allowed
    again = await harness.limiter.hit(PENALIZED, "k")
    assert (again.strikes, again.retry_after) == (1, 30)  # strike 1 again, not 2
    await harness.limiter.reset(PENALIZED, "unknown")  # resetting nothing is fine


async def test_peek_counts_nothing(harness: Harness) -> None:
    for _ in range(3):
        fresh = await harness.limiter.peek(PENALIZED, "k")
        assert (fresh.allowed, fresh.remaining, fresh.reset) == (True, 2, 0)
    await harness.limiter.hit(PENALIZED, "k")
    used = await harness.limiter.peek(PENALIZED, "k")
    assert (used.allowed, used.remaining, used.reset) == (True, 1, 5)
    await harness.limiter.hit(PENALIZED, "k")
    empty = await harness.limiter.peek(PENALIZED, "k")
    assert (empty.allowed, empty.retry_after, empty.blocked, empty.strikes) == (False, 5, False, 0)
    refused = await harness.limiter.hit(PENALIZED, "k")
    blocked = await harness.limiter.peek(PENALIZED, "k")
    assert (blocked.allowed, blocked.blocked, blocked.retry_after, blocked.strikes) == (
        False,
        True,
        refused.retry_after,
        1,
    )


# What only the in-process limiter does --------------------------------------------------------


async def test_memory_limiter_evicts_the_least_recently_written_beyond_its_bound() -> None:
    limiter = MemoryRateLimiter(FrozenClock(NOW), max_entries=3)
    one = RatePolicy("one", 1, 60, penalty=None)
    await limiter.hit(one, "a")
    assert not (await limiter.hit(one, "a")).allowed
    for key in "bcd":
        await limiter.hit(one, key)
    assert len(limiter) == 3
    assert (await limiter.hit(one, "a")).allowed  # "a" was the oldest, so it went


async def test_memory_limiter_sweeps_entries_that_no_longer_matter() -> None:
    clock = FrozenClock(NOW)
    limiter = MemoryRateLimiter(clock)
    for i in range(100):
        await limiter.hit(RATE, f"old-{i}")
    clock.advance(12)  # a single hit is earned back after one interval
    for i in range(1024 - 100):  # the 1024th write sweeps
        await limiter.hit(RATE, f"new-{i}")
    assert len(limiter) == 1024 - 100


async def test_memory_limiter_refuses_a_zero_bound() -> None:
    with pytest.raises(ValueError, match="max_entries"):
        MemoryRateLimiter(max_entries=0)


async def test_memory_limiter_closes_as_a_context_manager() -> None:
    async with MemoryRateLimiter() as limiter:
        assert (await limiter.hit(RATE, "k")).allowed
