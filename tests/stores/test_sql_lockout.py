"""The SQL lockout store on SQLite and PostgreSQL: the counting window, the lock, its end, and
concurrent failures each counted once."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator

import pytest

from jwtauth.stores.sql import SQLStore
from jwtauth.stores.sql_lockout import SQLLockoutStore
from jwtauth.types import LockoutPolicy, LockoutStore

pytestmark = pytest.mark.anyio

POLICY = LockoutPolicy(threshold=10, period=900.0)
T0 = 1_800_000_000.0
ALICE = hashlib.sha256(b"alice@example.com").digest()
BOB = hashlib.sha256(b"bob@example.com").digest()


@pytest.fixture
async def lockout(database_url: str) -> AsyncIterator[SQLLockoutStore]:
    sql = SQLStore(database_url, pool_size=20, max_overflow=0)
    try:
        yield SQLLockoutStore(sql)
    finally:
        await sql.close()


async def fail(
    store: SQLLockoutStore, times: int, at: float, account: bytes = ALICE
) -> list[float]:
    return [
        until
        for _ in range(times)
        if (until := await store.record_failure(account, at, POLICY)) is not None
    ]


async def test_it_is_a_lockout_store(lockout: SQLLockoutStore) -> None:
    store: LockoutStore = lockout
    assert store is lockout


async def test_the_threshold_locks_for_the_period(lockout: SQLLockoutStore) -> None:
    assert await fail(lockout, 9, T0) == []
    assert (await lockout.status(ALICE, T0)).locked_until is None
    assert await fail(lockout, 1, T0 + 5) == [T0 + 5 + 900]
    status = await lockout.status(ALICE, T0 + 6)
    assert status.recorded
    assert status.locked_until == T0 + 905
    assert (await lockout.status(BOB, T0 + 6)).locked_until is None
    # It ends by itself, and the next run of failures counts from zero.
    after = await lockout.status(ALICE, T0 + 906)
    assert after.locked_until is None
    assert after.recorded
    assert await fail(lockout, 9, T0 + 906) == []


async def test_failures_older_than_the_period_start_a_new_count(lockout: SQLLockoutStore) -> None:
    await fail(lockout, 9, T0)
    assert await fail(lockout, 9, T0 + 901) == []  # the window restarted at the tenth
    assert await fail(lockout, 1, T0 + 902) == [T0 + 902 + 900]


async def test_clear_forgets_failures_and_lockouts(lockout: SQLLockoutStore) -> None:
    assert not await lockout.clear(ALICE)
    await fail(lockout, 10, T0)
    assert await lockout.clear(ALICE)
    status = await lockout.status(ALICE, T0)
    assert not status.recorded
    assert status.locked_until is None


async def test_concurrent_failures_are_each_counted_once(lockout: SQLLockoutStore) -> None:
    results = await asyncio.gather(
        *(lockout.record_failure(ALICE, T0, POLICY) for _ in range(POLICY.threshold))
    )
    # Exactly one of the ten racers is the tenth failure: it, and only it, locks.
    assert [r for r in results if r is not None] == [T0 + 900]
