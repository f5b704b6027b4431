"""The SQL lockout store on SQLite and PostgreSQL: the counting window, the lock, its end, and
concurrent attempts each counted once."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator

import pytest

from jwtauth.stores.sql import SQLStore
from jwtauth.stores.sql_lockout import SQLLockoutStore
from jwtauth.types import LockoutPolicy, LockoutReservation, LockoutStore

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


async def reserve(
    store: SQLLockoutStore, times: int, at: float, account: bytes = ALICE
) -> list[LockoutReservation]:
    return [await store.reserve(account, at, POLICY) for _ in range(times)]


def locking(reservations: list[LockoutReservation]) -> int:
    return sum(r.locks for r in reservations)


async def test_it_is_a_lockout_store(lockout: SQLLockoutStore) -> None:
    store: LockoutStore = lockout
    assert store is lockout


async def test_the_threshold_locks_for_the_period(lockout: SQLLockoutStore) -> None:
    first = await reserve(lockout, 9, T0)
    assert [r.locked_until for r in first] == [None] * 9
    assert locking(first) == 0
    tenth = await lockout.reserve(ALICE, T0 + 5, POLICY)
    assert tenth == LockoutReservation(locked_until=None, locks=True)  # evaluated, then locked
    assert (await lockout.reserve(ALICE, T0 + 6, POLICY)).locked_until == T0 + 905
    assert (await lockout.reserve(BOB, T0 + 6, POLICY)).locked_until is None
    # It ends by itself, and the next run of failures counts from zero.
    after = await reserve(lockout, 9, T0 + 906)
    assert [r.locked_until for r in after] == [None] * 9
    assert locking(after) == 0
    assert (await lockout.reserve(ALICE, T0 + 907, POLICY)).locks


async def test_attempts_while_locked_are_not_counted(lockout: SQLLockoutStore) -> None:
    await reserve(lockout, 10, T0)
    refused = await reserve(lockout, 50, T0 + 1)
    assert {r.locked_until for r in refused} == {T0 + 900}
    # Fifty refusals did not extend the lockout or start the next count.
    assert locking(await reserve(lockout, 10, T0 + 900)) == 1


async def test_failures_older_than_the_period_start_a_new_count(lockout: SQLLockoutStore) -> None:
    await reserve(lockout, 9, T0)
    assert locking(await reserve(lockout, 9, T0 + 901)) == 0  # the window restarted
    assert (await lockout.reserve(ALICE, T0 + 902, POLICY)).locks


async def test_clear_forgets_failures_and_lockouts(lockout: SQLLockoutStore) -> None:
    assert not await lockout.clear(ALICE)
    await reserve(lockout, 10, T0)
    assert await lockout.clear(ALICE)
    assert await lockout.reserve(ALICE, T0, POLICY) == LockoutReservation(None, locks=False)


async def test_concurrent_attempts_are_each_counted_once(lockout: SQLLockoutStore) -> None:
    results = await asyncio.gather(
        *(lockout.reserve(ALICE, T0, POLICY) for _ in range(3 * POLICY.threshold))
    )
    # Exactly ten racers are let through, one of which locks; the other twenty are refused.
    admitted = [r for r in results if r.locked_until is None]
    assert len(admitted) == POLICY.threshold
    assert locking(results) == 1
    assert [r.locked_until for r in results if r.locked_until is not None] == [T0 + 900] * 20
