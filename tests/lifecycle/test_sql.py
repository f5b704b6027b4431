"""The managed keyring in SQL (SQLite and PostgreSQL): creation, sealing, compare-and-set
rotation, following from another process's view, automatic rotation and revoke-all."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select
from sqlalchemy.engine import Connection

from jwtauth.errors import KeyRotationError, RevokedTokenError, UnknownKeyError
from jwtauth.keys.algorithms import Algorithm
from jwtauth.keys.key import generate_key
from jwtauth.keys.keyring import KeyRing
from jwtauth.lifecycle.envelope import KeyEncryptionKey, key_material
from jwtauth.lifecycle.managed import ManagedKeyring
from jwtauth.lifecycle.rotation import KeyState, RotationPolicy
from jwtauth.lifecycle.sql import KeyringStateRow, SigningKeyRow, SQLKeyringStore
from jwtauth.lifecycle.sync import open_keyring
from jwtauth.manager import TokenManager
from jwtauth.stores.memory import MemoryRevocationStore
from jwtauth.stores.sql import SQLStore
from jwtauth.stores.sql_database import make_engine
from jwtauth.stores.sql_tables import Base, RefreshTokenRow, SessionRow
from jwtauth.testing import FrozenClock
from jwtauth.tokens.jws import JWS
from jwtauth.types import SessionRecord

pytestmark = pytest.mark.anyio

T0 = 1_700_000_000.0
POLICY = RotationPolicy(token_lifetime=300, propagation=0.2, next_lead=300.2)
DAY = 86_400.0


def managed(
    kek: KeyEncryptionKey,
    *,
    alg: Algorithm = Algorithm.ES256,
    period: float | None = None,
    poll: float = 0.2,
) -> ManagedKeyring:
    return ManagedKeyring(
        algorithm=alg, kek=kek, seed=None, policy=POLICY, rotation_period=period, poll_interval=poll
    )


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[SQLStore]:
    sql = SQLStore(database_url)
    try:
        yield sql
    finally:
        await sql.close()


@pytest.fixture
def kek() -> KeyEncryptionKey:
    return KeyEncryptionKey.generate()


def manager(keyring: KeyRing, clock: Any) -> TokenManager:
    return TokenManager(keyring, issuer="https://auth.test", audience="api", clock=clock)


async def stored(store: SQLStore) -> dict[str, tuple[str, bytes | None]]:
    async with store.engine.connect() as connection:
        rows = await connection.execute(
            select(SigningKeyRow.kid, SigningKeyRow.state, SigningKeyRow.material)
        )
        return {row.kid: (row.state, row.material) for row in rows}


# Schema ----------------------------------------------------------------------------------------


def _diffs(connection: Connection) -> list[Any]:
    diffs: list[Any] = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    return diffs


async def test_the_migrated_keyring_tables_are_the_models(database_url: str) -> None:
    assert {"signing_keys", "keyring_state"} <= set(Base.metadata.tables)
    engine = make_engine(database_url, pool_size=0)
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(_diffs) == []
    finally:
        await engine.dispose()


# Creation and sealing --------------------------------------------------------------------------


async def test_processes_starting_together_create_one_keyring(
    store: SQLStore, kek: KeyEncryptionKey
) -> None:
    syncs = await asyncio.gather(*(open_keyring(store, managed(kek)) for _ in range(4)))
    kids = {sync.keyring.signing_key.kid for sync in syncs}
    assert len(kids) == 1
    rows = await stored(store)
    assert sorted(state for state, _ in rows.values()) == ["active", "next"]
    assert (await SQLKeyringStore(store).state())[0] == 1


@pytest.mark.parametrize("alg", [Algorithm.ES256, Algorithm.HS256])
async def test_private_material_is_stored_sealed_never_in_plaintext(
    store: SQLStore, kek: KeyEncryptionKey, alg: Algorithm
) -> None:
    sync = await open_keyring(store, managed(kek, alg=alg))
    material = key_material(sync.keyring.signing_key)
    (_, sealed) = (await stored(store))[sync.keyring.signing_key.kid]
    assert sealed is not None
    assert material not in sealed
    assert b"PRIVATE KEY" not in sealed


async def test_a_wrong_kek_is_refused_by_name(store: SQLStore, kek: KeyEncryptionKey) -> None:
    await open_keyring(store, managed(kek))
    with pytest.raises(KeyRotationError, match="another key-encryption key"):
        await open_keyring(store, managed(KeyEncryptionKey.generate()))


async def test_a_seed_key_becomes_the_first_active_key(
    store: SQLStore, kek: KeyEncryptionKey
) -> None:
    seed = generate_key("ES256")
    source = ManagedKeyring(Algorithm.ES256, kek, seed, POLICY, None, 0.2)
    sync = await open_keyring(store, source)
    assert sync.keyring.signing_key.kid == seed.kid


# Rotation across processes ---------------------------------------------------------------------


async def test_a_rotation_reaches_another_process_and_old_tokens_keep_verifying(
    store: SQLStore, kek: KeyEncryptionKey
) -> None:
    clock = FrozenClock(time.time())
    a = await open_keyring(store, managed(kek), clock)
    b = await open_keyring(store, managed(kek), clock)
    tokens_b = manager(b.keyring, clock)
    await b.attach(tokens_b, MemoryRevocationStore(clock))
    old_kid = b.keyring.signing_key.kid
    old_key = b.keyring.signing_key
    clock.advance(POLICY.next_lead)
    before = tokens_b.issue("alice")
    await a.rotate()
    assert tokens_b.keyring.signing_key.kid == old_kid  # b has not looked yet
    assert await b.refresh()
    new_kid = a.keyring.signing_key.kid
    assert tokens_b.keyring.signing_key.kid == new_kid != old_kid
    assert b.state_of(old_kid) is KeyState.RETIRING
    assert tokens_b.keyring.find(old_kid) is old_key  # the same object: cached tokens stay cached
    assert tokens_b.verify(before)["sub"] == "alice"
    clock.advance(POLICY.token_lifetime - 1)  # the token's last second, still in the grace
    assert not await b.refresh()
    assert tokens_b.verify(before)["sub"] == "alice"
    clock.advance(POLICY.grace - POLICY.token_lifetime + 1)
    assert await b.refresh()  # the grace ended: no write needed to drop the key
    assert old_kid not in tokens_b.keyring
    assert old_kid not in {jwk["kid"] for jwk in tokens_b.keyring.jwks()["keys"]}
    with pytest.raises(UnknownKeyError):
        JWS().verify(before, tokens_b.keyring)


async def test_of_two_concurrent_rotations_exactly_one_wins(
    store: SQLStore, kek: KeyEncryptionKey
) -> None:
    clock = FrozenClock(time.time())
    a = await open_keyring(store, managed(kek), clock)
    b = await open_keyring(store, managed(kek), clock)
    clock.advance(POLICY.next_lead)
    outcomes = await asyncio.gather(a.rotate(), b.rotate(), return_exceptions=True)
    assert sum(isinstance(o, KeyRing) for o in outcomes) == 1
    assert sum(isinstance(o, KeyRotationError) for o in outcomes) == 1
    states = sorted(state for state, _ in (await stored(store)).values())
    assert states == ["active", "next", "retiring"]


async def test_automatic_rotation_happens_once_across_processes(
    store: SQLStore, kek: KeyEncryptionKey
) -> None:
    clock = FrozenClock(time.time())
    syncs = [await open_keyring(store, managed(kek, period=30 * DAY), clock) for _ in range(3)]
    assert not any(await asyncio.gather(*(s.refresh() for s in syncs)))  # not due yet
    clock.advance(30 * DAY)
    await asyncio.gather(*(s.refresh() for s in syncs))
    states = sorted(state for state, _ in (await stored(store)).values())
    assert states == ["active", "next", "retiring"]
    await asyncio.gather(*(s.refresh() for s in syncs))
    assert len({s.keyring.signing_key.kid for s in syncs}) == 1


async def test_retired_keys_lose_their_material(store: SQLStore, kek: KeyEncryptionKey) -> None:
    clock = FrozenClock(time.time())
    sync = await open_keyring(store, managed(kek), clock)
    first = sync.keyring.signing_key.kid
    clock.advance(POLICY.next_lead)
    await sync.rotate()
    clock.advance(POLICY.grace + POLICY.next_lead)
    await sync.rotate()
    assert (await stored(store))[first] == ("retired", None)
    assert first not in sync.keyring


async def test_the_compromise_rotation_drops_every_old_key_at_once(
    store: SQLStore, kek: KeyEncryptionKey
) -> None:
    sync = await open_keyring(store, managed(kek))
    old = {key.kid for key in sync.keyring}
    await sync.rotate(compromised=True)  # no JWKS lead and no grace
    assert old.isdisjoint(key.kid for key in sync.keyring)
    rows = await stored(store)
    assert all(rows[kid] == ("retired", None) for kid in old)


async def test_the_background_follower_applies_a_change_within_its_interval(
    store: SQLStore, kek: KeyEncryptionKey
) -> None:
    a = await open_keyring(store, managed(kek, poll=0.2))
    b = await open_keyring(store, managed(kek, poll=0.2))
    tokens_b = manager(b.keyring, time.time)
    async with b.following(tokens_b, MemoryRevocationStore()):
        new = (await a.rotate(force=True)).signing_key.kid
        started = time.monotonic()
        while tokens_b.keyring.signing_key.kid != new:
            assert time.monotonic() - started < 0.2 + 2.0, "not applied within the bound"
            await asyncio.sleep(0.01)
    assert b._task is None


async def test_a_static_keyring_cannot_rotate(store: SQLStore) -> None:
    sync = await open_keyring(store, KeyRing(generate_key("ES256")))
    with pytest.raises(KeyRotationError, match="static"):
        await sync.rotate()


# Revoke-all ------------------------------------------------------------------------------------


async def _session(store: SQLStore, sid: str, now: float) -> bytes:
    user = await store.create(f"{sid}@example.com", "hash")
    token = f"token-{sid}".encode().ljust(32, b"-")
    record = SessionRecord(sid, user.id, now, now, now + DAY, None, None)
    await store.create_session(record, token, now + DAY)
    return token


async def test_revoke_all_ends_every_session_and_never_moves_back(store: SQLStore) -> None:
    now = time.time()
    tokens = [await _session(store, sid, now) for sid in ("s1", "s2")]
    keyring = SQLKeyringStore(store)
    outcome = await keyring.revoke_all(now, now)
    assert outcome.sessions == 2
    assert outcome.revoked_before == now
    for token in tokens:
        assert (await store.rotate(token, b"n" * 32, now + DAY, now + 1)).status == "invalid"
    async with store.engine.connect() as connection:
        states = set((await connection.execute(select(RefreshTokenRow.state))).scalars())
        revoked = set((await connection.execute(select(SessionRow.revoked_at))).scalars())
    assert states == {"revoked"}
    assert revoked == {now}
    earlier = await keyring.revoke_all(now - 60, now)
    assert earlier.revoked_before == now
    assert (await keyring.state())[1] == now


async def test_another_process_applies_revoke_all_from_the_database(store: SQLStore) -> None:
    clock = FrozenClock(time.time())
    static = KeyRing(generate_key("ES256"))
    follower = await open_keyring(store, static, clock)
    tokens = manager(follower.keyring, clock)
    revocations = MemoryRevocationStore(clock)
    tokens.revocations = revocations.view
    await follower.attach(tokens, revocations)
    old = tokens.issue("alice")
    tokens.verify(old)  # cached now: the cut-off must reach cached tokens too
    clock.advance(1)
    await SQLKeyringStore(store).revoke_all(clock(), clock())
    tokens.verify(old)  # not yet polled
    await follower.refresh()
    with pytest.raises(RevokedTokenError):
        tokens.verify(old)
    clock.advance(0.001)
    assert tokens.verify(tokens.issue("alice"))["sub"] == "alice"


async def test_a_starting_process_loads_the_cut_off(store: SQLStore) -> None:
    now = time.time()
    await SQLKeyringStore(store).revoke_all(now, now)
    sync = await open_keyring(store, KeyRing(generate_key("ES256")))
    revocations = MemoryRevocationStore()
    await sync.attach(manager(sync.keyring, time.time), revocations)
    assert revocations.view.is_revoked({"iat": now - 1})
    assert not revocations.view.is_revoked({"iat": now})


async def test_revoke_all_before_any_keyring_then_a_keyring_is_created(
    store: SQLStore, kek: KeyEncryptionKey
) -> None:
    now = time.time()
    await SQLKeyringStore(store).revoke_all(now, now)
    sync = await open_keyring(store, managed(kek))
    async with store.engine.connect() as connection:
        row = (await connection.execute(select(KeyringStateRow))).one()
    assert row.version == 2  # the cut-off, then the keyring
    assert row.revoked_before == now
    assert sync.keyring.signing_key.can_sign
