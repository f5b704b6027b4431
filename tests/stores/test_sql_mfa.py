"""The SQL second-factor store on SQLite and PostgreSQL: enrolment, one-time steps and recovery
codes, and the compare-and-set races that keep each use single."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from jwtauth.stores.sql import SQLStore
from jwtauth.stores.sql_mfa import SQLMfaStore
from jwtauth.types import MfaStore, TotpRecord, UserRecord
from tests.stores.test_sql import connections_held

pytestmark = pytest.mark.anyio

RACERS = 50
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
OTHER_SECRET = "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU"
STEP = 56_666_666


@pytest.fixture
async def sql(database_url: str) -> AsyncIterator[SQLStore]:
    store = SQLStore(database_url, pool_size=RACERS, max_overflow=0)
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture
def mfa(sql: SQLStore) -> SQLMfaStore:
    return SQLMfaStore(sql)


def code_hash(label: object) -> bytes:
    return hashlib.sha256(f"recovery-{label}".encode()).digest()


async def enabled(mfa: SQLMfaStore, user: UserRecord, *, codes: int = 10) -> None:
    assert await mfa.start_enrolment(user.id, SECRET, time.time())
    hashes = [code_hash(i) for i in range(codes)]
    assert await mfa.confirm(user.id, SECRET, STEP, hashes, time.time())


async def test_the_sql_store_implements_the_protocol(mfa: SQLMfaStore) -> None:
    store: MfaStore = mfa  # checked by mypy
    assert store is mfa


def test_a_record_never_shows_its_secret() -> None:
    record = TotpRecord(user_id="u1", secret=SECRET, confirmed=True, last_step=1)
    assert SECRET not in repr(record)
    assert SECRET not in str(record)


async def test_enrolment_is_pending_until_confirmed_and_then_cannot_be_replaced(
    sql: SQLStore, mfa: SQLMfaStore
) -> None:
    user = await sql.create("alice@example.com", "argon2-hash")
    now = time.time()
    assert await mfa.totp(user.id) is None
    assert await mfa.start_enrolment(user.id, SECRET, now)
    assert await mfa.totp(user.id) == TotpRecord(user.id, SECRET, confirmed=False, last_step=None)
    # Restarting replaces the pending secret; confirming the old one then fails.
    assert await mfa.start_enrolment(user.id, OTHER_SECRET, now + 1)
    assert not await mfa.confirm(user.id, SECRET, STEP, [code_hash(1)], now + 2)
    assert await mfa.confirm(user.id, OTHER_SECRET, STEP, [code_hash(1)], now + 2)
    assert await mfa.totp(user.id) == TotpRecord(user.id, OTHER_SECRET, True, STEP)
    # On: neither a new enrolment nor a second confirmation changes it.
    assert not await mfa.start_enrolment(user.id, SECRET, now + 3)
    assert not await mfa.confirm(user.id, OTHER_SECRET, STEP + 5, [code_hash(2)], now + 3)
    assert await mfa.totp(user.id) == TotpRecord(user.id, OTHER_SECRET, True, STEP)
    assert await mfa.use_recovery_code(user.id, code_hash(1), now + 4)
    assert not await mfa.use_recovery_code(user.id, code_hash(2), now + 4)


async def test_a_step_is_spent_once_and_only_newer_ones_follow(
    sql: SQLStore, mfa: SQLMfaStore
) -> None:
    user = await sql.create("alice@example.com", "argon2-hash")
    assert await mfa.start_enrolment(user.id, SECRET, time.time())
    assert not await mfa.use_step(user.id, STEP)  # pending: no login with it yet
    assert await mfa.confirm(user.id, SECRET, STEP, [], time.time())
    assert not await mfa.use_step(user.id, STEP)  # the confirming code is spent too
    assert not await mfa.use_step(user.id, STEP - 1)
    assert await mfa.use_step(user.id, STEP + 1)
    assert not await mfa.use_step(user.id, STEP + 1)
    assert await mfa.use_step(user.id, STEP + 3)
    assert not await mfa.use_step(user.id, STEP + 2)  # older than the newest spent
    assert (await mfa.totp(user.id)) == TotpRecord(user.id, SECRET, True, STEP + 3)
    assert not await mfa.use_step("0" * 32, STEP + 9)


async def test_recovery_codes_are_single_use_and_per_user(sql: SQLStore, mfa: SQLMfaStore) -> None:
    alice = await sql.create("alice@example.com", "argon2-hash")
    bob = await sql.create("bob@example.com", "argon2-hash")
    await enabled(mfa, alice, codes=3)
    now = time.time()
    assert not await mfa.use_recovery_code(bob.id, code_hash(0), now)  # not bob's
    assert await mfa.use_recovery_code(alice.id, code_hash(0), now)
    assert not await mfa.use_recovery_code(alice.id, code_hash(0), now + 1)
    assert not await mfa.use_recovery_code(alice.id, code_hash("unknown"), now)
    assert await mfa.recovery_codes_left(alice.id) == 2


async def test_disable_deletes_the_secret_and_every_recovery_code(
    sql: SQLStore, mfa: SQLMfaStore
) -> None:
    user = await sql.create("alice@example.com", "argon2-hash")
    await enabled(mfa, user)
    assert await mfa.disable(user.id)
    assert await mfa.totp(user.id) is None
    assert await mfa.recovery_codes_left(user.id) == 0
    assert not await mfa.use_recovery_code(user.id, code_hash(1), time.time())
    assert not await mfa.disable(user.id)
    # A new enrolment starts from nothing: the old codes do not come back.
    await enabled(mfa, user, codes=1)
    assert await mfa.recovery_codes_left(user.id) == 1
    assert not await mfa.use_recovery_code(user.id, code_hash(5), time.time())


async def test_deleting_the_user_deletes_the_second_factor(sql: SQLStore, mfa: SQLMfaStore) -> None:
    user = await sql.create("alice@example.com", "argon2-hash")
    await enabled(mfa, user)
    assert await sql.delete_user(user.id)
    assert await mfa.totp(user.id) is None
    assert await mfa.recovery_codes_left(user.id) == 0


async def race(
    database_url: str, sql: SQLStore, attempt: Callable[[SQLMfaStore], Awaitable[bool]]
) -> list[bool]:
    """Run ``attempt(store)`` RACERS times at once over ten stores on one database, as ten
    server processes would: only the database can decide between them."""
    stores = [sql] + [SQLStore(database_url, pool_size=5, max_overflow=0) for _ in range(9)]
    try:
        with connections_held(*stores) as counts:
            outcomes = await asyncio.gather(
                *(attempt(SQLMfaStore(stores[i % len(stores)])) for i in range(RACERS))
            )
    finally:
        for other in stores[1:]:
            await other.close()
    assert counts[1] > 1  # the racers really overlapped
    return list(outcomes)


async def test_fifty_concurrent_uses_of_one_code_let_exactly_one_win(
    sql: SQLStore, mfa: SQLMfaStore, database_url: str
) -> None:
    user = await sql.create("alice@example.com", "argon2-hash")
    await enabled(mfa, user)
    outcomes = await race(database_url, sql, lambda store: store.use_step(user.id, STEP + 1))
    assert Counter(outcomes) == {True: 1, False: RACERS - 1}
    assert (await mfa.totp(user.id)) == TotpRecord(user.id, SECRET, True, STEP + 1)


async def test_fifty_concurrent_uses_of_one_recovery_code_let_exactly_one_win(
    sql: SQLStore, mfa: SQLMfaStore, database_url: str
) -> None:
    user = await sql.create("alice@example.com", "argon2-hash")
    await enabled(mfa, user)
    now = time.time()
    outcomes = await race(
        database_url, sql, lambda store: store.use_recovery_code(user.id, code_hash(3), now)
    )
    assert Counter(outcomes) == {True: 1, False: RACERS - 1}
    assert await mfa.recovery_codes_left(user.id) == 9


async def test_concurrent_confirmations_turn_totp_on_once(
    sql: SQLStore, mfa: SQLMfaStore, database_url: str
) -> None:
    user = await sql.create("alice@example.com", "argon2-hash")
    assert await mfa.start_enrolment(user.id, SECRET, time.time())
    now = time.time()
    outcomes = await race(
        database_url,
        sql,
        lambda store: store.confirm(user.id, SECRET, STEP, [code_hash(id(store))], now),
    )
    assert Counter(outcomes) == {True: 1, False: RACERS - 1}
    # Only the winner's recovery code exists.
    assert await mfa.recovery_codes_left(user.id) == 1
