"""The second factor in the SQL database: TOTP enrolments and recovery codes.

Each one-time use is a conditional ``UPDATE ... RETURNING`` (or an upsert with a ``WHERE``):
the database decides which of several concurrent attempts wins, in one process or many, as
refresh rotation does (decision 010). The secret is stored as is (base32); see decision 016.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from jwtauth.stores.sql import SQLStore
from jwtauth.stores.sql_tables import MfaChallengeRow, RecoveryCodeRow, TotpRow
from jwtauth.types import TotpRecord

__all__ = ["SQLMfaStore"]

_TOTP = TotpRow.__table__


class SQLMfaStore:
    """Implements :class:`jwtauth.types.MfaStore` on the :class:`SQLStore`'s database.

    It shares the store's engine and writes through its queue, so on SQLite it takes turns with
    the other writers of the process instead of racing them for the file's write lock.
    """

    def __init__(self, store: SQLStore) -> None:
        self._store = store

    async def totp(self, user_id: str) -> TotpRecord | None:
        """The user's TOTP record, pending or confirmed; ``None`` without one."""
        async with self._store.engine.connect() as connection:
            row = (
                await connection.execute(
                    select(TotpRow.secret, TotpRow.confirmed_at, TotpRow.last_step).where(
                        TotpRow.user_id == user_id
                    )
                )
            ).one_or_none()
        if row is None:
            return None
        return TotpRecord(
            user_id=user_id,
            secret=row.secret,
            confirmed=row.confirmed_at is not None,
            last_step=row.last_step,
        )

    async def start_enrolment(self, user_id: str, secret: str, now: float) -> bool:
        """Store a pending ``secret``, replacing a pending one; ``False`` when TOTP is on.

        One upsert whose update only applies to a pending row: a confirmed TOTP is never
        overwritten, however the calls interleave.
        """
        upsert = (
            self._insert()(_TOTP)
            .values(user_id=user_id, secret=secret, created_at=now, confirmed_at=None)
            .on_conflict_do_update(
                index_elements=[_TOTP.c.user_id],
                set_={"secret": secret, "created_at": now, "last_step": None},
                where=_TOTP.c.confirmed_at.is_(None),
            )
            .returning(_TOTP.c.user_id)
        )
        async with self._store.write() as connection:
            return (await connection.execute(upsert)).first() is not None

    async def confirm(
        self, user_id: str, secret: str, step: int, recovery_hashes: Sequence[bytes], now: float
    ) -> bool:
        """Turn on the pending enrolment of ``secret``: ``step`` is spent, and the recovery codes
        replace any earlier ones; ``False`` when no enrolment of that secret is pending (it was
        confirmed or restarted meanwhile)."""
        async with self._store.write() as connection:
            confirmed = (
                await connection.execute(
                    update(TotpRow)
                    .where(
                        TotpRow.user_id == user_id,
                        TotpRow.secret == secret,
                        TotpRow.confirmed_at.is_(None),
                    )
                    .values(confirmed_at=now, last_step=step)
                    .returning(TotpRow.user_id)
                )
            ).first()
            if confirmed is None:
                return False
            await connection.execute(
                delete(RecoveryCodeRow).where(RecoveryCodeRow.user_id == user_id)
            )
            if recovery_hashes:
                await connection.execute(
                    insert(RecoveryCodeRow),
                    [
                        {"code_hash": h, "user_id": user_id, "used_at": None}
                        for h in recovery_hashes
                    ],
                )
        return True

    async def use_step(self, user_id: str, step: int) -> bool:
        """Spend time step ``step``; ``False`` unless TOTP is on and ``step`` is newer than the
        last step spent (a replay, or the loser of a race for the same code)."""
        async with self._store.write() as connection:
            result = await connection.execute(
                update(TotpRow)
                .where(
                    TotpRow.user_id == user_id,
                    TotpRow.confirmed_at.is_not(None),
                    or_(TotpRow.last_step.is_(None), TotpRow.last_step < step),
                )
                .values(last_step=step)
                .returning(TotpRow.user_id)
            )
            return result.first() is not None

    async def use_recovery_code(self, user_id: str, code_hash: bytes, now: float) -> bool:
        """Spend the user's unused recovery code with this SHA-256; ``False`` if there is none."""
        async with self._store.write() as connection:
            result = await connection.execute(
                update(RecoveryCodeRow)
                .where(
                    RecoveryCodeRow.code_hash == code_hash,
                    RecoveryCodeRow.user_id == user_id,
                    RecoveryCodeRow.used_at.is_(None),
                )
                .values(used_at=now)
                .returning(RecoveryCodeRow.code_hash)
            )
            return result.first() is not None

    async def recovery_codes_left(self, user_id: str) -> int:
        """How many unused recovery codes the user has."""
        async with self._store.engine.connect() as connection:
            rows = await connection.execute(
                select(RecoveryCodeRow.code_hash).where(
                    RecoveryCodeRow.user_id == user_id, RecoveryCodeRow.used_at.is_(None)
                )
            )
            return len(rows.all())

    async def disable(self, user_id: str) -> bool:
        """Delete the user's TOTP and recovery codes; ``True`` if TOTP was there."""
        async with self._store.write() as connection:
            await connection.execute(
                delete(RecoveryCodeRow).where(RecoveryCodeRow.user_id == user_id)
            )
            result = await connection.execute(
                delete(TotpRow).where(TotpRow.user_id == user_id).returning(TotpRow.user_id)
            )
            return result.first() is not None

    async def claim_challenge(self, jti: str, expires_at: float) -> bool:
        """Claim the challenge ``jti`` for one verify; ``False`` while another holds it or once
        it bought a session. One insert on the primary key: of concurrent claims one wins."""
        claim = (
            self._insert()(MfaChallengeRow.__table__)
            .values(jti=jti, expires_at=expires_at)
            .on_conflict_do_nothing(index_elements=["jti"])
            .returning(MfaChallengeRow.jti)
        )
        async with self._store.write() as connection:
            return (await connection.execute(claim)).first() is not None

    async def release_challenge(self, jti: str) -> None:
        """Give a claimed challenge back (its code was wrong): the next verify may claim it."""
        async with self._store.write() as connection:
            await connection.execute(delete(MfaChallengeRow).where(MfaChallengeRow.jti == jti))

    def _insert(self) -> Any:
        dialect = self._store.engine.dialect.name
        return postgresql.insert if dialect == "postgresql" else sqlite.insert
