"""The managed keyring and the global revocation cut-off in the SQL database.

Two tables (migration 0003):

* ``signing_keys``: one row per managed key with its state and dates, and its private material
  sealed under the key-encryption key (:mod:`jwtauth.lifecycle.envelope`); the material is erased
  when the key is retired. Never in plaintext, never logged.
* ``keyring_state``: one row holding a ``version`` that every change bumps, and the global
  ``revoked_before`` cut-off of ``jwtauth revoke-all``. Server processes poll this one row; a
  changed version makes them reload.

A write is a compare-and-set on ``version``, in one transaction with the key rows, so of
several processes rotating at once exactly one succeeds and the others see the new keyring.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import (
    CheckConstraint,
    Double,
    Integer,
    LargeBinary,
    String,
    case,
    insert,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import Mapped, mapped_column

from jwtauth.errors import KeyRotationError
from jwtauth.keys.algorithms import Algorithm
from jwtauth.keys.key import Key
from jwtauth.lifecycle.envelope import KeyEncryptionKey, key_from_material, key_material
from jwtauth.lifecycle.rotation import KeyRecord, KeyState
from jwtauth.stores.sql import SQLStore
from jwtauth.stores.sql_tables import ACTIVE, REVOKED, Base, RefreshTokenRow, SessionRow

__all__ = [
    "KID_MAX",
    "KeyringSnapshot",
    "KeyringStateRow",
    "RevokeAllOutcome",
    "SQLKeyringStore",
    "SigningKeyRow",
]

KID_MAX: Final = 128
_STATES: Final = ", ".join(f"'{state.value}'" for state in KeyState)


class SigningKeyRow(Base):
    """A managed signing key; ``material`` is sealed, and ``NULL`` once the key is retired."""

    __tablename__ = "signing_keys"
    __table_args__ = (CheckConstraint(f"state IN ({_STATES})", "state"),)

    kid: Mapped[str] = mapped_column(String(KID_MAX), primary_key=True)
    alg: Mapped[str] = mapped_column(String(8))
    state: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[float] = mapped_column(Double)
    activated_at: Mapped[float | None] = mapped_column(Double)
    deactivated_at: Mapped[float | None] = mapped_column(Double)
    retire_at: Mapped[float | None] = mapped_column(Double)
    material: Mapped[bytes | None] = mapped_column(LargeBinary)


class KeyringStateRow(Base):
    """The single row every process polls: the keyring's version and the revoke-all cut-off."""

    __tablename__ = "keyring_state"
    __table_args__ = (CheckConstraint("id = 1", "singleton"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(Integer)
    revoked_before: Mapped[float | None] = mapped_column(Double)


@dataclass(frozen=True, slots=True)
class KeyringSnapshot:
    """The stored keyring at one ``version`` (0: nothing stored yet)."""

    version: int
    revoked_before: float | None
    records: tuple[KeyRecord, ...]


@dataclass(frozen=True, slots=True)
class RevokeAllOutcome:
    """What ``revoke_all`` did: the cut-off in force and how many sessions it ended."""

    revoked_before: float
    sessions: int


_S = KeyringStateRow.__table__
_K = SigningKeyRow.__table__


def _record(row: Any) -> KeyRecord:
    return KeyRecord(
        kid=row.kid,
        alg=Algorithm.parse(row.alg),
        state=KeyState(row.state),
        created_at=row.created_at,
        activated_at=row.activated_at,
        deactivated_at=row.deactivated_at,
        retire_at=row.retire_at,
    )


class SQLKeyringStore:
    """The managed keyring on the :class:`SQLStore`'s database (writes take its queue).

    Args:
        store: the SQL store whose engine and write queue are shared.
        kek: opens and seals key material; ``None`` for a process that only follows the
            revoke-all cut-off (a static keyring).
    """

    def __init__(self, store: SQLStore, kek: KeyEncryptionKey | None = None) -> None:
        self._store = store
        self._kek = kek

    async def state(self) -> tuple[int, float | None]:
        """``(version, revoked_before)``: the one cheap query a process polls."""
        async with self._store.engine.connect() as connection:
            row = (
                await connection.execute(
                    select(KeyringStateRow.version, KeyringStateRow.revoked_before)
                )
            ).first()
        return (0, None) if row is None else (row.version, row.revoked_before)

    async def snapshot(self) -> KeyringSnapshot:
        """Every key record (retired ones too) and the state, read in one transaction."""
        async with self._store.engine.connect() as connection, connection.begin():
            state = (
                await connection.execute(
                    select(KeyringStateRow.version, KeyringStateRow.revoked_before)
                )
            ).first()
            rows = await connection.execute(
                select(*(c for c in _K.c if c.name != "material")).order_by(
                    SigningKeyRow.created_at, SigningKeyRow.kid
                )
            )
            records = tuple(_record(row) for row in rows)
        if state is None:
            return KeyringSnapshot(0, None, records)
        return KeyringSnapshot(state.version, state.revoked_before, records)

    async def keys(self, records: Iterable[KeyRecord]) -> dict[str, Key]:
        """The keys of ``records``, opened with the KEK."""
        wanted = {r.kid: r for r in records}
        if not wanted:
            return {}
        kek = self._require_kek()
        async with self._store.engine.connect() as connection:
            rows = await connection.execute(
                select(SigningKeyRow.kid, SigningKeyRow.material).where(
                    SigningKeyRow.kid.in_(wanted)
                )
            )
            sealed = {row.kid: row.material for row in rows}
        keys: dict[str, Key] = {}
        for kid, record in wanted.items():
            blob = sealed.get(kid)
            if blob is None:
                raise KeyRotationError(f"key {kid!r} has no stored material")
            material = kek.open(blob, kid=kid, alg=record.alg)
            keys[kid] = key_from_material(material, record.alg, kid)
        return keys

    async def save(
        self, expected_version: int, records: Sequence[KeyRecord], new_keys: Mapping[str, Key]
    ) -> int | None:
        """Write ``records`` if the stored version is still ``expected_version``.

        ``new_keys`` are the keys of records not stored yet; their material is sealed. Returns
        the new version, or ``None`` when another process changed the keyring first (nothing
        is written then).
        """
        kek = self._require_kek()
        async with self._store.write() as connection:
            version = await self._claim(connection, expected_version)
            if version is None:
                return None
            for record in records:
                values = {
                    "state": record.state.value,
                    "activated_at": record.activated_at,
                    "deactivated_at": record.deactivated_at,
                    "retire_at": record.retire_at,
                }
                key = new_keys.get(record.kid)
                if key is not None:
                    sealed = kek.seal(key_material(key), kid=record.kid, alg=record.alg)
                    await connection.execute(
                        insert(SigningKeyRow).values(
                            kid=record.kid,
                            alg=record.alg.value,
                            created_at=record.created_at,
                            material=sealed,
                            **values,
                        )
                    )
                    continue
                if record.state is KeyState.RETIRED:
                    values["material"] = None  # a retired key's private part is destroyed
                await connection.execute(
                    update(SigningKeyRow).where(SigningKeyRow.kid == record.kid).values(**values)
                )
        return version

    async def _claim(self, connection: AsyncConnection, expected: int) -> int | None:
        """The compare-and-set: bump the version from ``expected``; ``None`` if it moved."""
        if expected == 0:
            created = await connection.execute(
                self._insert()(_S)
                .values(id=1, version=1, revoked_before=None)
                .on_conflict_do_nothing(index_elements=[_S.c.id])
            )
            return 1 if created.rowcount == 1 else None
        bumped: int | None = (
            await connection.execute(
                update(KeyringStateRow)
                .where(KeyringStateRow.id == 1, KeyringStateRow.version == expected)
                .values(version=KeyringStateRow.version + 1)
                .returning(KeyringStateRow.version)
            )
        ).scalar_one_or_none()
        return bumped

    async def revoke_all(self, before: float, now: float) -> RevokeAllOutcome:
        """Refuse every token issued before ``before`` (never moving the cut-off back), and end
        every live session with its refresh tokens, in one transaction."""
        async with self._store.write() as connection:
            await connection.execute(
                self._insert()(_S)
                .values(id=1, version=0, revoked_before=None)
                .on_conflict_do_nothing(index_elements=[_S.c.id])
            )
            current = KeyringStateRow.revoked_before
            cutoff = (
                await connection.execute(
                    update(KeyringStateRow)
                    .where(KeyringStateRow.id == 1)
                    .values(
                        version=KeyringStateRow.version + 1,
                        revoked_before=case(
                            (current.is_(None), before),
                            (current < before, before),
                            else_=current,
                        ),
                    )
                    .returning(KeyringStateRow.revoked_before)
                )
            ).scalar_one()
            live = (SessionRow.revoked_at.is_(None), SessionRow.expires_at > now)
            # Tokens before sessions: the lock order of SQLStore.rotate.
            await connection.execute(
                update(RefreshTokenRow)
                .where(
                    RefreshTokenRow.state == ACTIVE,
                    RefreshTokenRow.session_id.in_(select(SessionRow.id).where(*live)),
                )
                .values(state=REVOKED)
            )
            ended = await connection.execute(update(SessionRow).where(*live).values(revoked_at=now))
        in_force = before if cutoff is None else max(before, cutoff)  # None: never, set above
        return RevokeAllOutcome(revoked_before=in_force, sessions=ended.rowcount)

    def _require_kek(self) -> KeyEncryptionKey:
        if self._kek is None:
            raise KeyRotationError("the managed keyring needs its key-encryption key")
        return self._kek

    def _insert(self) -> Any:
        dialect = self._store.engine.dialect.name
        return postgresql.insert if dialect == "postgresql" else sqlite.insert
