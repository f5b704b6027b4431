"""The durable revocation record in SQL: the rows every process builds its revocation view from.

A row is written before a revocation is propagated anywhere (Redis, this process's view), in
the transaction of the session change when there is one, so that no Redis outage or empty
Redis restart can lose a logout. Processes read the live rows at start and after a Redis gap
(:meth:`SQLRevocationLog.live`) and poll for new ones by id (:meth:`SQLRevocationLog.after`,
one indexed range scan on the primary key). :meth:`jwtauth.stores.sql.SQLStore.purge` deletes
the rows that can no longer refuse a live token.

Rows hold the issuer and a `jti`, `sid` or `sub`, never a token.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final, Literal

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from jwtauth.stores.sql import SQLStore
from jwtauth.stores.sql_tables import RevocationRow

__all__ = ["KINDS", "Revocation", "SQLRevocationLog", "StoredRevocation"]

Kind = Literal["jti", "sid", "sub", "all"]
KINDS: Final = frozenset({"jti", "sid", "sub", "all"})


@dataclass(frozen=True, slots=True)
class Revocation:
    """One revocation: ``instant`` is the latest `exp` (``jti``, ``sid``) or the cut-off
    (``sub``, ``all``); ``expires_at`` is when it can no longer refuse a live token."""

    kind: Kind
    issuer: str
    value: str
    instant: float
    expires_at: float


@dataclass(frozen=True, slots=True)
class StoredRevocation:
    """A revocation as read back, with the id it was stored under."""

    id: int
    revocation: Revocation


_COLUMNS: Final = (
    RevocationRow.id,
    RevocationRow.kind,
    RevocationRow.issuer,
    RevocationRow.value,
    RevocationRow.instant,
    RevocationRow.expires_at,
)


class SQLRevocationLog:
    """The ``revocations`` table of ``store``'s database (the schema must be current).

    Args:
        store: the SQL store; writes go through its write transactions, so that on SQLite
            they take turns with the store's other writers.
    """

    __slots__ = ("_store",)

    def __init__(self, store: SQLStore) -> None:
        self._store = store

    @property
    def store(self) -> SQLStore:
        """The SQL store the rows live in."""
        return self._store

    async def record(self, revocations: Sequence[Revocation], now: float) -> None:
        """Store ``revocations`` in one transaction of their own."""
        if revocations:
            async with self._store.write() as connection:
                await self.insert(connection, revocations, now)

    @staticmethod
    async def insert(
        connection: AsyncConnection, revocations: Sequence[Revocation], now: float
    ) -> None:
        """Store ``revocations`` in the caller's transaction (a session change's)."""
        if revocations:
            await connection.execute(
                insert(RevocationRow),
                [
                    {
                        "kind": r.kind,
                        "issuer": r.issuer,
                        "value": r.value,
                        "instant": r.instant,
                        "expires_at": r.expires_at,
                        "created_at": now,
                    }
                    for r in revocations
                ],
            )

    async def live(self, now: float) -> tuple[list[StoredRevocation], int]:
        """Every revocation that can still refuse a live token, and the highest id stored
        (0 for none) as read in the same transaction."""
        async with self._store.engine.connect() as connection:
            rows = await connection.execute(
                select(*_COLUMNS).where(RevocationRow.expires_at > now).order_by(RevocationRow.id)
            )
            found = _stored(rows)
            highest = await connection.scalar(select(func.coalesce(func.max(RevocationRow.id), 0)))
        return found, int(highest or 0)

    async def after(self, last_id: int, limit: int) -> list[StoredRevocation]:
        """Up to ``limit`` revocations stored under ids above ``last_id``, by id."""
        async with self._store.engine.connect() as connection:
            rows = await connection.execute(
                select(*_COLUMNS)
                .where(RevocationRow.id > last_id)
                .order_by(RevocationRow.id)
                .limit(limit)
            )
            return _stored(rows)


def _stored(rows: Iterable[tuple[int, str, str, str, float, float]]) -> list[StoredRevocation]:
    found = []
    for ident, kind, issuer, value, instant, expires_at in rows:
        if kind in KINDS:  # the check constraint says so; a row of a later version is skipped
            revocation = Revocation(kind, issuer, value, instant, expires_at)  # type: ignore[arg-type]
            found.append(StoredRevocation(int(ident), revocation))
    return found
