"""Account lockout in the SQL database: failed logins counted per account name.

The count lives in the database rather than in Redis or the process, so that it survives a
restart, is shared by every server process, and `jwtauth users unlock` reaches it with the
embedded defaults too (decision 014).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, delete, update
from sqlalchemy.dialects import postgresql, sqlite

from jwtauth.stores.sql import SQLStore
from jwtauth.stores.sql_tables import LoginFailureRow
from jwtauth.types import LockoutPolicy, LockoutReservation

__all__ = ["SQLLockoutStore"]

_T = LoginFailureRow.__table__


class SQLLockoutStore:
    """Implements :class:`jwtauth.types.LockoutStore` on the :class:`SQLStore`'s database.

    It writes through the store's queue, so on SQLite it takes turns with the other writers.
    """

    def __init__(self, store: SQLStore) -> None:
        self._store = store

    async def reserve(
        self, account: bytes, now: float, policy: LockoutPolicy
    ) -> LockoutReservation:
        """Count an attempt as failed unless a lockout is running; start the lockout when this
        attempt reaches the threshold.

        One upsert, then at most one update, in one transaction: on PostgreSQL concurrent
        attempts queue on the row's lock, on SQLite on the write lock, so each is counted
        exactly once and none is evaluated past the threshold.
        """
        window_start = now - policy.period
        locked = _T.c.locked_until > now
        stale = _T.c.first_failure_at < window_start
        upsert = self._insert()(_T).values(
            account_hash=account, failures=1, first_failure_at=now, locked_until=None
        )
        upsert = upsert.on_conflict_do_update(
            index_elements=[_T.c.account_hash],
            set_={
                # While locked nothing is counted; a failure outside the window starts a new
                # count rather than adding to an old one.
                "failures": case((locked, _T.c.failures), (stale, 1), else_=_T.c.failures + 1),
                "first_failure_at": case(
                    (locked, _T.c.first_failure_at), (stale, now), else_=_T.c.first_failure_at
                ),
            },
        ).returning(_T.c.failures, _T.c.locked_until)
        async with self._store.write() as connection:
            failures, until = (await connection.execute(upsert)).one()
            if until is not None and until > now:
                return LockoutReservation(locked_until=until, locks=False)
            if failures < policy.threshold:
                return LockoutReservation(locked_until=None, locks=False)
            # The count starts over: after the lockout, a new run of failures locks again.
            await connection.execute(
                update(LoginFailureRow)
                .where(LoginFailureRow.account_hash == account)
                .values(failures=0, first_failure_at=now, locked_until=now + policy.period)
            )
        return LockoutReservation(locked_until=None, locks=True)

    async def clear(self, account: bytes) -> bool:
        """Forget ``account``'s failures and lockout; ``True`` if there was anything to forget."""
        async with self._store.write() as connection:
            result = await connection.execute(
                delete(LoginFailureRow).where(LoginFailureRow.account_hash == account)
            )
        return bool(result.rowcount)

    def _insert(self) -> Any:
        dialect = self._store.engine.dialect.name
        return postgresql.insert if dialect == "postgresql" else sqlite.insert
