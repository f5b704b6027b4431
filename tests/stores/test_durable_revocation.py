"""The durable revocation store: the SQL row is the revocation, every store instance (as every
process has one) loads the live rows at start, polls for new ones and re-reads them after a
Redis gap; a propagation failure never loses one (issue 14).

Each test runs on SQLite and PostgreSQL unless it needs what only one of them does. Two store
instances on one database stand for two processes; the Redis faults use a private Redis
(tests/faults.py), never the shared one.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from jwtauth.auth.service import SessionRevocations
from jwtauth.errors import RevocationsUnavailableError
from jwtauth.stores.durable import DurableRevocationStore
from jwtauth.stores.memory import MemoryRevocationStore
from jwtauth.stores.redis import RedisRevocationStore
from jwtauth.stores.sql import SQLStore
from jwtauth.stores.sql_revocations import Revocation, SQLRevocationLog
from jwtauth.stores.sql_tables import RevocationRow
from jwtauth.types import RevocationStore, SessionRecord
from tests.faults import private_redis
from tests.stores.support import ISS, claims, wait_until

pytestmark = pytest.mark.anyio

IDLE = 600.0  # a poll interval no test waits for: what a test sees came some other way


@pytest.fixture
async def sql(database_url: str) -> AsyncIterator[SQLStore]:
    store = SQLStore(database_url)
    yield store
    await store.close()


def durable(sql: SQLStore, poll_interval: float = IDLE, **options: Any) -> DurableRevocationStore:
    return DurableRevocationStore(
        MemoryRevocationStore(), sql, poll_interval=poll_interval, **options
    )


async def rows(sql: SQLStore) -> list[tuple[str, str, str]]:
    async with sql.engine.connect() as connection:
        found = await connection.execute(
            select(RevocationRow.kind, RevocationRow.issuer, RevocationRow.value).order_by(
                RevocationRow.id
            )
        )
        return [tuple(row) for row in found]  # type: ignore[misc]


async def new_session(sql: SQLStore, user_id: str, sid: str) -> None:
    now = time.time()
    session = SessionRecord(sid, user_id, now, now, now + 3600, None, None)
    await sql.create_session(session, uuid.uuid4().bytes + uuid.uuid4().bytes, now + 3600)


# Loading and polling -------------------------------------------------------------------------


async def test_the_store_implements_both_protocols(sql: SQLStore, tmp_path: Path) -> None:
    store = durable(sql)
    typed: RevocationStore = store  # mypy checks the protocol
    assert typed.view is store.propagation.view
    assert isinstance(store, SessionRevocations)
    assert store.joins(sql)
    other = SQLStore(f"sqlite+aiosqlite:///{tmp_path / 'other.db'}")
    assert not store.joins(other)  # another database: no shared transaction
    await other.close()


async def test_a_store_started_later_loads_every_live_revocation(sql: SQLStore) -> None:
    first = durable(sql)
    async with first:
        exp = time.time() + 300
        await first.revoke_token(ISS, "j1", exp)
        await first.revoke_session(ISS, "s1", exp)
        await first.revoke_subject(ISS, "bob", time.time())
    # A process started afterwards: nothing reached it but the rows.
    async with durable(sql) as later:
        assert later.view.is_revoked(claims("j1"))
        assert later.view.is_revoked(claims("other", sid="s1"))
        assert later.view.is_revoked(claims("other", sub="bob"))
        assert not later.view.is_revoked(claims("other"))


async def test_a_revocation_reaches_another_store_at_its_next_poll(sql: SQLStore) -> None:
    async with durable(sql) as first, durable(sql) as second:
        await first.revoke_token(ISS, "j1", time.time() + 300)
        assert first.view.is_revoked(claims("j1"))  # at once where it was made
        assert not second.view.is_revoked(claims("j1"))
        assert await second.poll() == 1
        assert second.view.is_revoked(claims("j1"))
        assert await second.poll() == 0  # nothing new: one query, no rows


async def test_the_background_poll_applies_it_within_the_interval(sql: SQLStore) -> None:
    async with durable(sql) as first, durable(sql, poll_interval=0.1) as second:
        await first.revoke_session(ISS, "s1", time.time() + 300)
        await wait_until(lambda: second.view.is_revoked(claims(sid="s1")), timeout=2.0)


async def test_revoke_all_is_recorded_too(sql: SQLStore) -> None:
    async with durable(sql) as first:
        await first.revoke_all(time.time())
    async with durable(sql) as later:
        assert later.view.is_revoked(claims())


async def test_a_row_committed_after_a_higher_id_is_not_skipped(database_url: str) -> None:
    # PostgreSQL draws ids before commit: id 1 can become visible after id 2 was polled.
    # (SQLite writers take turns, so ids commit in order there.)
    if not database_url.startswith("postgresql"):
        pytest.skip("only PostgreSQL commits ids out of order")
    sql = SQLStore(database_url)
    try:
        async with durable(sql) as first, durable(sql) as second:
            exp = time.time() + 300
            late = Revocation("jti", ISS, "late", exp, exp + 300)
            async with sql.engine.begin() as slow:
                await SQLRevocationLog.insert(slow, [late], time.time())  # id drawn, not committed
                await first.revoke_token(ISS, "early", exp)  # a higher id, committed
                await second.poll()
                assert second.view.is_revoked(claims("early"))
                assert not second.view.is_revoked(claims("late"))
                assert second.gaps == 1
            await second.poll()
            assert second.view.is_revoked(claims("late"))
            assert second.gaps == 0
    finally:
        await sql.close()


async def test_a_gap_that_never_commits_is_given_up(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("only PostgreSQL leaves gaps in the ids")
    sql = SQLStore(database_url)
    try:
        async with durable(sql) as first, durable(sql, gap_timeout=0.2) as second:
            exp = time.time() + 300
            async with sql.engine.connect() as connection:
                transaction = await connection.begin()
                await SQLRevocationLog.insert(
                    connection, [Revocation("jti", ISS, "never", exp, exp + 300)], time.time()
                )
                await first.revoke_token(ISS, "after", exp)
                await transaction.rollback()
            await second.poll()
            assert second.gaps == 1

            async def given_up() -> bool:
                await second.poll()
                return second.gaps == 0

            # Waits for the state (the gap dropped), polling as the background task would.
            deadline = time.perf_counter() + 5
            while not await given_up():
                assert time.perf_counter() < deadline, "the gap was never given up"
                await asyncio.sleep(0.02)
            await first.revoke_token(ISS, "next", exp)
            await second.poll()
            assert second.view.is_revoked(claims("next"))
    finally:
        await sql.close()


async def test_purge_deletes_only_rows_that_can_no_longer_matter(sql: SQLStore) -> None:
    store = durable(sql, max_token_lifetime=3600.0)
    now = time.time()
    await store.revoke_token(ISS, "short", now + 10)  # matters until now + 10 + 300
    await store.revoke_subject(ISS, "bob", now)  # until now + 3600 + 300
    assert await sql.purge(now + 1000) == 1
    assert await rows(sql) == [("sub", ISS, "bob")]
    assert await sql.purge(now + 4000) == 1
    assert await rows(sql) == []


async def test_only_live_rows_are_loaded(sql: SQLStore) -> None:
    now = time.time()
    await durable(sql).revoke_token(ISS, "dead", now - 400)  # expired beyond the retention
    async with durable(sql) as later:
        assert await later.reload() == 0


# Failures ------------------------------------------------------------------------------------


async def test_a_database_failure_fails_the_revocation_and_propagates_nothing(
    tmp_path: Path,
) -> None:
    unmigrated = SQLStore(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")  # no table
    store = durable(unmigrated)
    try:
        with pytest.raises(Exception, match="revocations"):
            await store.revoke_token(ISS, "j1", time.time() + 300)
        assert not store.view.is_revoked(claims("j1"))
    finally:
        await unmigrated.close()


async def test_a_redis_failure_after_the_row_loses_nothing(
    sql: SQLStore, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with private_redis(tmp_path) as redis:
        namespace = uuid.uuid4().hex[:12]
        shared = RedisRevocationStore(redis.url, namespace=namespace)
        here = DurableRevocationStore(shared, sql, poll_interval=IDLE)
        async with here, durable(sql) as elsewhere:
            redis.kill()
            with caplog.at_level(logging.WARNING, "jwtauth.stores.durable"):
                await here.revoke_token(ISS, "j1", time.time() + 300)  # no exception
            assert here.view.is_revoked(claims("j1"))  # this process at once
            await elsewhere.poll()
            assert elsewhere.view.is_revoked(claims("j1"))  # the others from the row
            # Tried and failed (a warning naming the error's class, never the host), or not
            # tried at all when the subscription had already seen Redis go.
            warnings = [r for r in caplog.records if r.name == "jwtauth.stores.durable"]
            assert len(warnings) <= 1
            for warning in warnings:
                assert "ConnectionError" in warning.getMessage()
                assert str(redis.port) not in warning.getMessage()
                assert "127.0.0.1" not in warning.getMessage()
                assert warning.exc_info is None


async def test_a_hung_redis_is_tried_once_per_record_then_not_while_its_feed_is_down(
    sql: SQLStore, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A logout records two revocations (the token, the session). With Redis hung each try waits
    # for the command timeout, so the request must not wait once per revocation; and once the
    # subscription has found Redis gone, a revocation does not wait on it at all.
    with private_redis(tmp_path) as redis:
        shared = RedisRevocationStore(redis.url, namespace=uuid.uuid4().hex[:12])
        here = DurableRevocationStore(shared, sql, poll_interval=IDLE)
        async with here:
            user = uuid.uuid4().hex
            await new_session(sql, user, "s1")
            until = time.time() + 300
            redis.freeze()
            try:
                with caplog.at_level(logging.WARNING, "jwtauth.stores.durable"):
                    assert await here.end_session(ISS, user, "s1", until, token=("j1", until))
                tried = [r for r in caplog.records if "not propagated" in r.getMessage()]
                assert len(tried) == 1  # one try for the record, not one per revocation
                assert "Timeout" in tried[0].getMessage()  # the class, never the host
                assert str(redis.port) not in tried[0].getMessage()
                assert tried[0].exc_info is None
                assert here.view.is_revoked(claims("j1"))  # both applied here regardless
                assert here.view.is_revoked(claims("other", sid="s1"))
                await wait_until(lambda: not shared.live, timeout=10.0)
                caplog.clear()
                with caplog.at_level(logging.WARNING, "jwtauth.stores.durable"):
                    await here.revoke_token(ISS, "j2", until)
                assert not [r for r in caplog.records if "not propagated" in r.getMessage()]
                assert here.view.is_revoked(claims("j2"))
                assert ("jti", ISS, "j2") in await rows(sql)  # the row, the source of truth
            finally:
                redis.thaw()


async def test_a_redis_gap_re_reads_the_database(sql: SQLStore, tmp_path: Path) -> None:
    with private_redis(tmp_path) as redis:
        namespace = uuid.uuid4().hex[:12]
        shared = RedisRevocationStore(redis.url, namespace=namespace)
        # Never polls within the test: only the re-sync after the gap can bring the row in.
        async with DurableRevocationStore(shared, sql, poll_interval=IDLE) as follower:
            redis.kill()
            async with durable(sql) as writer:  # wrote while Redis was gone: only the row
                await writer.revoke_token(ISS, "j1", time.time() + 300)
            redis.start()  # empty
            # The subscription comes back within its backoff (at most 2 s), then the reload.
            await wait_until(lambda: follower.view.is_revoked(claims("j1")), timeout=10.0)


# Sessions and their revocation in one transaction ---------------------------------------------


async def test_ending_a_session_records_the_token_and_the_session_together(sql: SQLStore) -> None:
    store = durable(sql)
    user = uuid.uuid4().hex
    await new_session(sql, user, "s1")
    until = time.time() + 300
    assert await store.end_session(ISS, user, "s1", until, token=("j1", until))
    assert await rows(sql) == [("jti", ISS, "j1"), ("sid", ISS, "s1")]
    assert await sql.sessions(user, time.time()) == []
    assert store.view.is_revoked(claims("j1"))
    assert store.view.is_revoked(claims(sid="s1"))
    # An unknown session: the token is still revoked, no session row is written.
    assert not await store.end_session(ISS, user, "nope", until, token=("j2", until))
    assert (await rows(sql))[2:] == [("jti", ISS, "j2")]


async def test_a_failed_record_leaves_the_sessions_as_they_were(sql: SQLStore) -> None:
    store = durable(sql)
    user = uuid.uuid4().hex
    await new_session(sql, user, "s1")
    await new_session(sql, user, "s2")
    with pytest.raises(ValueError, match="finite"):
        await store.end_sessions(ISS, user, cut_off=lambda: math.nan)
    # One transaction: the sessions did not end without their revocation on record.
    assert {s.id for s in await sql.sessions(user, time.time())} == {"s1", "s2"}
    assert await rows(sql) == []
    ended = await store.end_sessions(ISS, user, keep="s2", until=time.time() + 300)
    assert ended == ["s1"]
    assert await rows(sql) == [("sid", ISS, "s1")]


async def test_ending_every_session_records_one_cut_off(sql: SQLStore) -> None:
    store = durable(sql)
    user = uuid.uuid4().hex
    await new_session(sql, user, "s1")
    await new_session(sql, user, "s2")
    assert await store.end_sessions(ISS, user, cut_off=time.time) == ["s1", "s2"]
    assert await rows(sql) == [("sub", ISS, user)]
    async with sql.engine.connect() as connection:
        assert await connection.scalar(select(func.count()).select_from(RevocationRow)) == 1
    assert store.view.is_revoked(claims(sub=user))


# Fail closed: a view no feed vouches for refuses to answer ------------------------------------

FAST = 0.05  # poll interval of the freshness tests
BOUND = 0.2  # their max_staleness: stale once no poll succeeded for FAST + BOUND


async def rename_revocations(sql: SQLStore, old: str, new: str) -> None:
    """Make every read of the revocations table fail for real (and undo it): the poller's
    query meets a missing table, on SQLite as on PostgreSQL."""
    async with sql.engine.begin() as connection:
        await connection.exec_driver_sql(f"ALTER TABLE {old} RENAME TO {new}")


async def answers_throughout(store: DurableRevocationStore, seconds: float) -> int:
    """Verify-time checks for ``seconds`` (several times the bound): each must answer."""
    checks = 0
    until = time.perf_counter() + seconds
    while time.perf_counter() < until:
        assert not store.view.is_revoked(claims("never-revoked"))
        checks += 1
        await asyncio.sleep(0.01)  # let the poller run between checks
    return checks


async def test_a_view_no_poll_vouches_for_refuses_with_503_then_recovers(
    sql: SQLStore, caplog: pytest.LogCaptureFixture
) -> None:
    store = durable(sql, poll_interval=FAST, max_staleness=BOUND)
    async with store, durable(sql) as elsewhere:
        # Polls succeeding keep it trusted, well past the bound.
        assert await answers_throughout(store, 4 * (FAST + BOUND)) > 10
        assert await store.ping()
        await rename_revocations(sql, "revocations", "revocations_away")
        try:
            with caplog.at_level(logging.WARNING, "jwtauth.revocation"):
                took = await wait_until(lambda: not store.freshness.fresh, timeout=5.0)
                with pytest.raises(RevocationsUnavailableError) as refused:
                    store.view.is_revoked(claims())
            # Trusted for FAST + BOUND from the start of the last good poll, which began at most
            # FAST before the rename: never stale before the bound is nearly spent.
            assert took > BOUND - FAST
            assert refused.value.retry_after == 1
            assert refused.value.code == "revocations_unavailable"
            assert not await store.ping()  # readiness follows
            assert any("refusing with 503" in r.getMessage() for r in caplog.records)
        finally:
            await rename_revocations(sql, "revocations_away", "revocations")
        # What was revoked elsewhere meanwhile arrives with the first good poll.
        await elsewhere.revoke_token(ISS, "during", time.time() + 300)
        await wait_until(lambda: store.freshness.fresh, timeout=5.0)
        await wait_until(lambda: store.view.is_revoked(claims("during")), timeout=5.0)
        assert await store.ping()


async def test_fail_open_answers_from_a_stale_view(sql: SQLStore) -> None:
    store = durable(sql, poll_interval=FAST, max_staleness=BOUND, fail_open=True)
    async with store:
        await store.revoke_token(ISS, "j1", time.time() + 300)
        await rename_revocations(sql, "revocations", "revocations_away")
        try:
            await wait_until(lambda: not store.freshness.fresh, timeout=5.0)
            assert store.view.is_revoked(claims("j1"))  # what it holds still counts
            assert not store.view.is_revoked(claims("j2"))  # and it answers, as chosen
        finally:
            await rename_revocations(sql, "revocations_away", "revocations")


async def test_redis_down_alone_keeps_the_view_trusted_and_both_down_fail_closed(
    sql: SQLStore, tmp_path: Path
) -> None:
    with private_redis(tmp_path) as redis:
        shared = RedisRevocationStore(redis.url, namespace=uuid.uuid4().hex[:12])
        store = DurableRevocationStore(shared, sql, poll_interval=FAST, max_staleness=BOUND)
        async with store:
            # The database unread, Redis live: the subscription vouches.
            await rename_revocations(sql, "revocations", "revocations_away")
            try:
                assert await answers_throughout(store, 4 * (FAST + BOUND)) > 10
            finally:
                await rename_revocations(sql, "revocations_away", "revocations")
            # Redis gone, the database read: the polls vouch (each logout is a row).
            redis.kill()
            await wait_until(lambda: not shared.live, timeout=5.0)
            assert await answers_throughout(store, 4 * (FAST + BOUND)) > 10
            # Both gone: nothing vouches for the view.
            await rename_revocations(sql, "revocations", "revocations_away")
            try:
                await wait_until(lambda: not store.freshness.fresh, timeout=5.0)
                with pytest.raises(RevocationsUnavailableError):
                    store.view.is_revoked(claims())
                redis.start()  # empty; the subscription comes back within its backoff
                await wait_until(lambda: store.freshness.fresh, timeout=10.0)
                assert not store.view.is_revoked(claims())
            finally:
                await rename_revocations(sql, "revocations_away", "revocations")
