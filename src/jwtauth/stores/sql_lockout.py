"""Account lockout in the SQL database: failed logins counted per account name.

The count lives in the database rather than in Redis or the process, so that it survives a
restart, is shared by every server process, and `jwtauth users unlock` reaches it with the
embedded defaults too (decision 014).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from jwtauth.stores.sql import SQLStore
from jwtauth.stores.sql_tables import LoginFailureRow
from jwtauth.types import LockoutPolicy, LockoutStatus

__all__ = ["SQLLockoutStore"]

_T = LoginFailureRow.__table__


class SQLLockoutStore:
    """Implements :class:`jwtauth.types.LockoutStore` on the :class:`SQLStore`'s database.

    It writes through the store's queue, so on SQLite it takes turns with the other writers.
    """

    def __init__(self, store: SQLStore) -> None:
        self._store = store

    async def status(self, account: bytes, now: float) -> LockoutStatus:
        """What is recorded for ``account``: whether anything is, and a lockout still running."""
        async with self._store.engine.connect() as connection:
            until = (
                await connection.execute(
                    select(LoginFailureRow.locked_until).where(
                        LoginFailureRow.account_hash == account
                    )
                )
            ).first()
        if until is None:
            return LockoutStatus(recorded=False, locked_until=None)
        running = until[0] if until[0] is not None and until[0] > now else None
        return LockoutStatus(recorded=True, locked_until=running)

    async def record_failure(
        self, account: bytes, now: float, policy: LockoutPolicy
    ) -> float | None:
        """Count one failed login; when it reaches the threshold, lock and return the end.

        One upsert in one transaction: concurrent failures are each counted exactly once.
        """
        window_start = now - policy.period
        stale = LoginFailureRow.first_failure_at < window_start
        upsert = self._insert()(_T).values(
            account_hash=account, failures=1, first_failure_at=now, locked_until=None
        )
        upsert = upsert.on_conflict_do_update(
            index_elements=[_T.c.account_hash],
            set_={
                # A failure outside the window starts a new count rather than adding to an old one.
                "failures": case((stale, 1), else_=_T.c.failures + 1),
                "first_failure_at": case((stale, now), else_=_T.c.first_failure_at),
            },
        ).returning(_T.c.failures)
        async with self._store.write() as connection:
            failures = (await connection.execute(upsert)).scalar_one()
            if failures < policy.threshold:
                return None
            until = now + policy.period
            # The count starts over: after the lockout, a new run of failures locks again.
            await connection.execute(
                update(LoginFailureRow)
                .where(LoginFailureRow.account_hash == account)
                .values(failures=0, first_failure_at=now, locked_until=until)
            )
        return until

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
