"""The SQL store on SQLite and PostgreSQL: users, sessions, rotation (and its race), migrations."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import event, select, text, update
from sqlalchemy.engine import Connection

from jwtauth.errors import ConfigurationError, EmailTakenError
from jwtauth.stores.sql import REVOKED_RETENTION, SQLStore
from jwtauth.stores.sql_database import head_revision, make_engine, upgrade
from jwtauth.stores.sql_mfa import SQLMfaStore
from jwtauth.stores.sql_tables import USER_AGENT_MAX, Base, RefreshTokenRow, SessionRow
from jwtauth.types import RefreshTokenStore, SessionRecord, UserProvider, UserRecord

pytestmark = pytest.mark.anyio

HOUR = 3600.0
DAY = 24 * HOUR
RACERS = 50


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[SQLStore]:
    # Enough connections for every racer of the race test to hold its own at once.
    sql = SQLStore(database_url, pool_size=RACERS, max_overflow=0)
    try:
        yield sql
    finally:
        await sql.close()


def digest(label: object) -> bytes:
    """A refresh-token hash, as the service computes it (SHA-256 of the opaque token)."""
    return hashlib.sha256(f"refresh-token-{label}".encode()).digest()


async def new_user(store: SQLStore, email: str = "alice@example.com") -> UserRecord:
    return await store.create(email, "argon2-hash")


async def new_session(
    store: SQLStore,
    user: UserRecord,
    sid: str,
    *,
    now: float,
    lifetime: float = DAY,
    token_lifetime: float = HOUR,
    ip: str | None = "203.0.113.7",
    user_agent: str | None = "pytest",
) -> tuple[SessionRecord, bytes]:
    session = SessionRecord(
        id=sid,
        user_id=user.id,
        created_at=now,
        last_used_at=now,
        expires_at=now + lifetime,
        ip=ip,
        user_agent=user_agent,
    )
    token = digest(f"{sid}-first")
    await store.create_session(session, token, now + token_lifetime)
    return session, token


@contextlib.contextmanager
def connections_held(*stores: SQLStore) -> Iterator[list[int]]:
    """Count the pool connections checked out at once across ``stores``; yields [held, peak]."""
    counts = [0, 0]

    def checkout(*_: Any) -> None:
        counts[0] += 1
        counts[1] = max(counts)

    def checkin(*_: Any) -> None:
        counts[0] -= 1

    for store in stores:
        event.listen(store.engine.sync_engine, "checkout", checkout)
        event.listen(store.engine.sync_engine, "checkin", checkin)
    try:
        yield counts
    finally:
        for store in stores:
            event.remove(store.engine.sync_engine, "checkout", checkout)
            event.remove(store.engine.sync_engine, "checkin", checkin)


async def tokens_of(store: SQLStore, sid: str) -> dict[bytes, tuple[str, bytes | None, float]]:
    """The stored tokens of a session: hash -> (state, parent hash, expiry)."""
    async with store.engine.connect() as connection:
        rows = await connection.execute(
            select(
                RefreshTokenRow.token_hash,
                RefreshTokenRow.state,
                RefreshTokenRow.parent_hash,
                RefreshTokenRow.expires_at,
            ).where(RefreshTokenRow.session_id == sid)
        )
        return {row.token_hash: (row.state, row.parent_hash, row.expires_at) for row in rows}


def test_the_store_satisfies_both_protocols(tmp_path: Path) -> None:
    sql = SQLStore(f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}")
    users: UserProvider = sql  # checked by mypy: the signatures match the Protocols
    refresh: RefreshTokenStore = sql
    assert callable(users.by_email)
    assert callable(refresh.rotate)


# Users -----------------------------------------------------------------------------------------


async def test_create_and_look_up_users(store: SQLStore) -> None:
    user = await store.create("Alice@Example.COM", "hash-1")
    assert len(user.id) == 32
    int(user.id, 16)  # uuid4 hex
    assert user.email == "alice@example.com"
    assert user.is_active
    assert await store.by_id(user.id) == user
    assert await store.by_email("ALICE@example.com") == user
    assert await store.by_email("bob@example.com") is None
    assert await store.by_id("0" * 32) is None
    other = await store.create("bob@example.com", "hash-2")
    assert other.id != user.id


async def test_a_taken_email_is_refused_case_insensitively_without_sql(store: SQLStore) -> None:
    await store.create("alice@example.com", "hash-1")
    with pytest.raises(EmailTakenError) as caught:
        await store.create("ALICE@Example.com", "hash-2")
    error = caught.value
    assert error.message == EmailTakenError.default_message
    for leak in ("INSERT", "users", "UNIQUE", "unique", "alice", "hash-2"):
        assert leak not in str(error)
    assert error.__cause__ is None
    assert error.__suppress_context__  # the driver's error (and its SQL) is not chained either
    assert (await store.by_email("alice@example.com")) is not None


async def test_password_hash_active_flag_and_deletion(store: SQLStore) -> None:
    user = await new_user(store)
    await store.set_password_hash(user.id, "hash-2")
    found = await store.by_id(user.id)
    assert found is not None
    assert found.password_hash == "hash-2"

    assert await store.set_active(user.id, False)
    found = await store.by_id(user.id)
    assert found is not None
    assert not found.is_active
    assert await store.set_active(user.id, True)
    found = await store.by_id(user.id)
    assert found is not None
    assert found.is_active
    assert not await store.set_active("0" * 32, False)

    now = time.time()
    session, token = await new_session(store, user, "s1", now=now)
    assert await store.delete_user(user.id)
    assert await store.by_id(user.id) is None
    assert await store.by_email(user.email) is None
    assert await tokens_of(store, session.id) == {}
    assert (await store.rotate(token, digest(1), now + HOUR, now)).status == "invalid"
    assert not await store.delete_user(user.id)
    # The email is free again.
    assert (await store.create(user.email, "hash-3")).id != user.id


async def test_sessions_and_second_factors_of_a_host_user_need_no_users_row(
    store: SQLStore,
) -> None:
    # An embedding host keeps its users in its own table: ids of up to 64 characters that the
    # store's users table never holds (migration 0004 dropped the foreign keys).
    host_user = UserRecord(id="9" * 64, email="host@example.com", password_hash="django-hash")
    now = time.time()
    _, token = await new_session(store, host_user, "h1", now=now)
    assert (await store.rotate(token, digest("h2"), now + HOUR, now)).status == "rotated"
    assert [s.id for s in await store.sessions(host_user.id, now)] == ["h1"]
    mfa = SQLMfaStore(store)
    assert await mfa.start_enrolment(host_user.id, "JBSWY3DPEHPK3PXP", now)
    assert await mfa.confirm(host_user.id, "JBSWY3DPEHPK3PXP", 1, [digest("code")], now)
    assert await mfa.recovery_codes_left(host_user.id) == 1


async def test_deleting_a_user_deletes_their_second_factor(store: SQLStore) -> None:
    user = await new_user(store)
    now = time.time()
    mfa = SQLMfaStore(store)
    assert await mfa.start_enrolment(user.id, "JBSWY3DPEHPK3PXP", now)
    assert await mfa.confirm(user.id, "JBSWY3DPEHPK3PXP", 1, [digest("code")], now)
    assert await store.delete_user(user.id)
    assert await mfa.totp(user.id) is None
    assert await mfa.recovery_codes_left(user.id) == 0


# Rotation --------------------------------------------------------------------------------------


async def test_rotation_replaces_the_token_and_the_new_one_rotates_again(store: SQLStore) -> None:
    user = await new_user(store)
    now = time.time()
    session, first = await new_session(store, user, "s1", now=now)

    rotated = await store.rotate(first, digest(1), now + HOUR, now + 10)
    assert rotated.status == "rotated"
    assert rotated.session == SessionRecord(
        id="s1",
        user_id=user.id,
        created_at=session.created_at,
        last_used_at=now + 10,
        expires_at=session.expires_at,
        ip="203.0.113.7",
        user_agent="pytest",
    )
    again = await store.rotate(digest(1), digest(2), now + 2 * HOUR, now + 20)
    assert again.status == "rotated"
    assert again.session is not None
    assert again.session.last_used_at == now + 20

    assert await tokens_of(store, "s1") == {
        first: ("rotated", None, now + HOUR),
        digest(1): ("rotated", first, now + HOUR),
        digest(2): ("active", digest(1), now + 2 * HOUR),
    }
    assert [s.last_used_at for s in await store.sessions(user.id, now + 30)] == [now + 20]


async def test_a_second_use_of_a_rotated_token_revokes_the_family(store: SQLStore) -> None:
    user = await new_user(store)
    now = time.time()
    _, first = await new_session(store, user, "s1", now=now)
    assert (await store.rotate(first, digest(1), now + HOUR, now)).status == "rotated"

    replay = await store.rotate(first, digest(2), now + HOUR, now + 1)
    assert replay.status == "reused"
    assert replay.session is not None
    assert replay.session.id == "s1"
    assert replay.session.revoked
    # Even the newest token of the family is dead now, and the replay's token never existed.
    assert (await store.rotate(digest(1), digest(3), now + HOUR, now + 2)).status == "invalid"
    assert (await store.rotate(digest(2), digest(4), now + HOUR, now + 2)).status == "invalid"
    assert await store.sessions(user.id, now + 2) == []
    assert await tokens_of(store, "s1") == {
        first: ("rotated", None, now + HOUR),
        digest(1): ("revoked", first, now + HOUR),
    }
    # Every later replay of a spent token is reported as reuse, and changes nothing more.
    later = await store.rotate(first, digest(5), now + HOUR, now + 3)
    assert later.status == "reused"
    assert later.session == replay.session


async def test_an_expired_token_is_invalid(store: SQLStore) -> None:
    user = await new_user(store)
    now = time.time()
    _, first = await new_session(store, user, "s1", now=now, token_lifetime=60)
    assert (await store.rotate(first, digest(1), now + HOUR, now + 60)).status == "invalid"
    # Refused without being spent: the row is untouched.
    assert (await tokens_of(store, "s1"))[first][0] == "active"


async def test_an_unknown_token_is_invalid(store: SQLStore) -> None:
    now = time.time()
    assert await store.rotate(digest("nobody"), digest(1), now + HOUR, now) == (
        await store.rotate(b"", digest(2), now + HOUR, now)
    )
    assert (await store.rotate(digest("nobody"), digest(1), now + HOUR, now)).status == "invalid"


async def test_a_token_of_a_revoked_session_is_invalid(store: SQLStore) -> None:
    user = await new_user(store)
    now = time.time()
    _, first = await new_session(store, user, "s1", now=now)
    assert await store.revoke_session(user.id, "s1")
    outcome = await store.rotate(first, digest(1), now + HOUR, now + 1)
    assert outcome.status == "invalid"
    assert outcome.session is None
    assert (await tokens_of(store, "s1"))[first][0] == "revoked"


async def test_an_active_token_outliving_its_session_is_spent_without_successor(
    store: SQLStore,
) -> None:
    # A revocation racing a rotation can leave the rotation's new token active on a revoked
    # session (PostgreSQL's UPDATE does not see rows committed after it started); rotation
    # checks the session itself.
    user = await new_user(store)
    now = time.time()
    _, first = await new_session(store, user, "s1", now=now)
    async with store.engine.begin() as connection:
        await connection.execute(update(SessionRow).values(revoked_at=now))
    assert (await store.rotate(first, digest(1), now + HOUR, now + 1)).status == "invalid"
    assert await tokens_of(store, "s1") == {first: ("revoked", None, now + HOUR)}


async def test_rotation_never_extends_a_session(store: SQLStore) -> None:
    user = await new_user(store)
    now = time.time()
    session, first = await new_session(
        store, user, "s1", now=now, lifetime=2 * HOUR, token_lifetime=HOUR
    )
    outcome = await store.rotate(first, digest(1), now + 10 * HOUR, now + HOUR - 1)
    assert outcome.status == "rotated"
    assert (await tokens_of(store, "s1"))[digest(1)][2] == session.expires_at
    assert (await store.rotate(digest(1), digest(2), now + 10 * HOUR, now + 2 * HOUR)) == (
        await store.rotate(digest("nobody"), digest(3), now, now)
    )
    # A first token asked to outlive its session is capped too.
    _, capped = await new_session(
        store, user, "s2", now=now, lifetime=HOUR, token_lifetime=10 * HOUR
    )
    assert (await tokens_of(store, "s2"))[capped][2] == now + HOUR


async def test_fifty_concurrent_rotations_of_one_token_let_exactly_one_win(
    store: SQLStore, database_url: str
) -> None:
    user = await new_user(store)
    now = time.time()
    _, first = await new_session(store, user, "s1", now=now)

    # The racers use ten stores on the one database, as ten server processes would: a store
    # queues its own SQLite writers in process, so only writers of different stores meet in
    # the database, and the compare-and-set there must decide.
    stores = [store] + [SQLStore(database_url, pool_size=5, max_overflow=0) for _ in range(9)]
    try:
        # Count connections held at once, to show the racers really overlap in the database.
        with connections_held(*stores) as counts:
            outcomes = await asyncio.gather(
                *(
                    stores[i % len(stores)].rotate(first, digest(i), now + HOUR, now + 1)
                    for i in range(RACERS)
                )
            )
    finally:
        for racer in stores[1:]:
            await racer.close()

    assert counts[1] > 1
    assert Counter(outcome.status for outcome in outcomes) == {"rotated": 1, "reused": RACERS - 1}
    assert all(outcome.session is not None for outcome in outcomes)
    winner = next(i for i, outcome in enumerate(outcomes) if outcome.status == "rotated")
    # The losers revoked the family, so the winner's new token is dead too.
    assert (await store.rotate(digest(winner), digest("after"), now + HOUR, now + 2)) == (
        await store.rotate(digest("nobody"), digest("after"), now + HOUR, now + 2)
    )
    assert (await store.rotate(digest(winner), digest("x"), now + HOUR, now + 2)).status == (
        "invalid"
    )
    assert await tokens_of(store, "s1") == {
        first: ("rotated", None, now + HOUR),
        digest(winner): ("revoked", first, now + HOUR),
    }
    assert await store.sessions(user.id, now + 2) == []


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'jwtauth.db'}"
    upgrade(url)  # outside the test's event loop, as in database_url
    return url


async def test_sqlite_writers_of_one_store_take_turns_in_process(sqlite_url: str) -> None:
    sql = SQLStore(sqlite_url, pool_size=RACERS, max_overflow=0)
    now = time.time()
    user = await new_user(sql)
    firsts = [(await new_session(sql, user, f"s{i}", now=now))[1] for i in range(20)]
    try:
        with connections_held(sql) as counts:
            outcomes = await asyncio.gather(
                *(
                    sql.rotate(first, digest(i), now + HOUR, now + 1)
                    for i, first in enumerate(firsts)
                )
            )
    finally:
        await sql.close()
    assert {outcome.status for outcome in outcomes} == {"rotated"}
    # Without the queue, the twenty hold a connection each and poll SQLite's write lock.
    assert counts[1] == 1


# Sessions --------------------------------------------------------------------------------------


async def test_sessions_are_listed_live_and_newest_first(store: SQLStore) -> None:
    alice = await new_user(store)
    bob = await new_user(store, "bob@example.com")
    now = time.time()
    await new_session(store, alice, "old", now=now - 100, ip=None, user_agent=None)
    await new_session(store, alice, "new", now=now, ip="2001:db8::1", user_agent="x" * 600)
    await new_session(store, alice, "expired", now=now - DAY - 1)
    await new_session(store, alice, "revoked", now=now - 50)
    await new_session(store, bob, "bobs", now=now)
    assert await store.revoke_session(alice.id, "revoked")

    listed = await store.sessions(alice.id, now)
    assert [s.id for s in listed] == ["new", "old"]
    assert listed[0].ip == "2001:db8::1"
    assert listed[0].user_agent == "x" * USER_AGENT_MAX
    assert listed[0].user_id == alice.id
    assert not listed[0].revoked
    assert (listed[1].ip, listed[1].user_agent) == (None, None)
    assert await store.sessions(alice.id, now + DAY) == []
    assert await store.sessions("0" * 32, now) == []


async def test_revoke_session_only_ends_the_users_own_live_session(store: SQLStore) -> None:
    alice = await new_user(store)
    bob = await new_user(store, "bob@example.com")
    now = time.time()
    _, alices = await new_session(store, alice, "a1", now=now)
    _, bobs = await new_session(store, bob, "b1", now=now)

    assert not await store.revoke_session(alice.id, "b1")
    assert [s.id for s in await store.sessions(bob.id, now)] == ["b1"]
    assert (await store.rotate(bobs, digest(1), now + HOUR, now)).status == "rotated"

    assert await store.revoke_session(alice.id, "a1")
    assert not await store.revoke_session(alice.id, "a1")  # no longer live
    assert not await store.revoke_session(alice.id, "nope")
    assert await store.sessions(alice.id, now) == []
    assert (await store.rotate(alices, digest(2), now + HOUR, now)).status == "invalid"


async def test_revoke_sessions_keeps_the_one_named(store: SQLStore) -> None:
    alice = await new_user(store)
    bob = await new_user(store, "bob@example.com")
    now = time.time()
    tokens = {}
    for sid in ("a1", "a2", "a3"):
        _, tokens[sid] = await new_session(store, alice, sid, now=now)
    await new_session(store, bob, "b1", now=now)

    assert await store.revoke_sessions(alice.id, keep="a2") == ["a1", "a3"]
    assert [s.id for s in await store.sessions(alice.id, now)] == ["a2"]
    assert [s.id for s in await store.sessions(bob.id, now)] == ["b1"]
    assert (await store.rotate(tokens["a1"], digest(1), now + HOUR, now)).status == "invalid"
    assert (await store.rotate(tokens["a2"], digest(2), now + HOUR, now)).status == "rotated"

    assert await store.revoke_sessions(alice.id) == ["a2"]
    assert await store.revoke_sessions(alice.id) == []
    assert (await store.rotate(digest(2), digest(3), now + HOUR, now)).status == "invalid"


async def test_purge_deletes_expired_tokens_and_finished_sessions(store: SQLStore) -> None:
    user = await new_user(store)
    now = time.time()
    month = 30 * DAY
    # live: a rotated token that expires within the hour, and its long-lived successor.
    _, spent = await new_session(store, user, "live", now=now, lifetime=month)
    assert (await store.rotate(spent, digest("live"), now + month, now)).status == "rotated"
    # over: the session ends after one day, its token with it.
    await new_session(store, user, "over", now=now, lifetime=DAY, token_lifetime=DAY)
    # revoked: ended now, though its token would live a month.
    await new_session(store, user, "revoked", now=now, lifetime=month, token_lifetime=month)
    assert await store.revoke_session(user.id, "revoked")

    half_day = now + DAY / 2
    assert await store.purge(half_day) == 1  # the spent token
    assert set(await tokens_of(store, "live")) == {digest("live")}
    assert await tokens_of(store, "revoked") != {}  # kept for a day after revocation

    later = now + REVOKED_RETENTION + DAY
    assert await store.purge(later) == 4  # over + its token, revoked + its token
    assert await store.purge(later) == 0
    assert [s.id for s in await store.sessions(user.id, later)] == ["live"]
    assert await tokens_of(store, "over") == {}
    assert await tokens_of(store, "revoked") == {}
    async with store.engine.connect() as connection:
        remaining = (await connection.execute(select(SessionRow.id))).scalars().all()
    assert remaining == ["live"]
    rotated = await store.rotate(digest("live"), digest(1), now + month, later)
    assert rotated.status == "rotated"


# The database --------------------------------------------------------------------------------


def _diffs(connection: Connection) -> list[Any]:
    diffs: list[Any] = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    return diffs


async def test_the_migrated_schema_is_the_models_schema(database_url: str) -> None:
    engine = make_engine(database_url, pool_size=0)
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(_diffs) == []
    finally:
        await engine.dispose()


async def test_upgrade_is_repeatable(database_url: str) -> None:
    await asyncio.to_thread(upgrade, database_url)
    engine = make_engine(database_url, pool_size=0)
    try:
        async with engine.connect() as connection:
            version = await connection.scalar(text("SELECT version_num FROM alembic_version"))
    finally:
        await engine.dispose()
    assert version == head_revision() == "0006"


async def test_sqlite_connections_use_wal_and_foreign_keys(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'pragmas.db'}"  # the async driver is chosen for us
    await asyncio.to_thread(upgrade, url)
    sql = SQLStore(url)
    try:
        async with sql.engine.connect() as connection:
            assert await connection.scalar(text("PRAGMA journal_mode")) == "wal"
            assert await connection.scalar(text("PRAGMA foreign_keys")) == 1
            assert await connection.scalar(text("PRAGMA busy_timeout")) > 0
        assert await sql.ping()
    finally:
        await sql.close()


async def test_ping(store: SQLStore) -> None:
    assert await store.ping()


async def test_ping_is_false_when_the_database_is_unreachable() -> None:
    # Not shown with SQLite: an aiosqlite connection that fails to open finishes its worker
    # thread after the test's event loop may be closed, which pytest reports as an error.
    sql = SQLStore("postgresql+asyncpg://postgres@127.0.0.1:1/nothing")
    try:
        assert not await sql.ping()
    finally:
        await sql.close()


@pytest.mark.parametrize(
    "url",
    [
        "sqlite+aiosqlite://",
        "sqlite+aiosqlite:///:memory:",
        "mysql+aiomysql://root@localhost/db",
        "not a url",
    ],
)
def test_unusable_urls_are_refused(url: str) -> None:
    with pytest.raises(ConfigurationError):
        SQLStore(url)
    with pytest.raises(ConfigurationError):
        upgrade(url)


def test_the_stores_package_imports_no_sqlalchemy() -> None:
    code = "import sys, jwtauth.stores; print('sqlalchemy' in sys.modules)"
    result = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
