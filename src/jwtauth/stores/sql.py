"""The SQL store of the auth server: users, sessions and refresh tokens (SQLAlchemy 2, async).

One :class:`SQLStore` implements both :class:`jwtauth.types.UserProvider` and
:class:`jwtauth.types.RefreshTokenStore` on SQLite (``sqlite+aiosqlite``) or PostgreSQL
(``postgresql+asyncpg``). Refresh tokens are stored only as their SHA-256, never as the token.

Rotation is a compare-and-set in the database (an ``UPDATE ... WHERE state = 'active' ...
RETURNING``), so of any number of concurrent presentations of one token, in one process or many,
exactly one wins; the others see the token already rotated, which is reuse.

Its tables are in :mod:`jwtauth.stores.sql_tables`; engines and migrations (:func:`upgrade`, the
``jwtauth db upgrade`` command) in :mod:`jwtauth.stores.sql_database`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Final

from alembic.runtime.migration import MigrationContext
from sqlalchemy import Row, delete, func, insert, literal, or_, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql import ColumnElement

from jwtauth.errors import EmailTakenError
from jwtauth.stores.sql_database import WRITE_OPTION, make_engine
from jwtauth.stores.sql_tables import (
    ACTIVE,
    IP_MAX,
    REVOKED,
    ROTATED,
    USER_AGENT_MAX,
    MfaChallengeRow,
    RecoveryCodeRow,
    RefreshTokenRow,
    RevocationRow,
    SessionRow,
    TotpRow,
    UserRow,
)
from jwtauth.types import Clock, Rotation, SessionRecord, UserRecord

__all__ = ["REVOKED_RETENTION", "SQLStore", "SessionsEnded"]

SessionsEnded = Callable[[AsyncConnection, list[str]], Awaitable[None]]
"""Called inside the transaction that revoked sessions, with their ids (sorted): what it writes
commits or rolls back with the session change (the durable revocation record)."""

REVOKED_RETENTION: Final = 24 * 3600.0
"""Seconds a revoked session is kept before :meth:`SQLStore.purge` deletes it."""

PING_TIMEOUT: Final = 5.0


_USER_COLUMNS: Final = (UserRow.id, UserRow.email, UserRow.password_hash, UserRow.is_active)
_SESSION_COLUMNS: Final = (
    SessionRow.id,
    SessionRow.user_id,
    SessionRow.created_at,
    SessionRow.last_used_at,
    SessionRow.expires_at,
    SessionRow.ip,
    SessionRow.user_agent,
    SessionRow.revoked_at,
    SessionRow.fingerprint_hash,
)


def _user(row: Row[*tuple[Any, ...]]) -> UserRecord:
    return UserRecord(
        id=row.id, email=row.email, password_hash=row.password_hash, is_active=row.is_active
    )


def _session(row: Row[*tuple[Any, ...]]) -> SessionRecord:
    return SessionRecord(
        id=row.id,
        user_id=row.user_id,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        expires_at=row.expires_at,
        ip=row.ip,
        user_agent=row.user_agent,
        revoked=row.revoked_at is not None,
        fingerprint=row.fingerprint_hash,
    )


def _clip(value: str | None, limit: int) -> str | None:
    return value if value is None else value[:limit]


# The store -----------------------------------------------------------------------------------


class SQLStore:
    """Users, sessions and refresh tokens in SQLite or PostgreSQL.

    Implements :class:`jwtauth.types.UserProvider` and :class:`jwtauth.types.RefreshTokenStore`.
    The schema must exist: run :func:`upgrade` first.

    Args:
        url: the database URL (``postgresql+asyncpg://...`` or ``sqlite+aiosqlite:///path``).
        clock: the time source of the methods that take no ``now`` (``revoke_session``,
            ``revoke_sessions``, ``create``): when a session is live, and when it was revoked.
            Pass the service's clock when that clock is not ``time.time``.
        pool_size, max_overflow: the connection pool (see :func:`make_engine`).
    """

    def __init__(
        self,
        url: str,
        *,
        clock: Clock = time.time,
        pool_size: int = 10,
        max_overflow: int = 10,
    ) -> None:
        self._clock = clock
        self._engine = make_engine(url, pool_size=pool_size, max_overflow=max_overflow)
        self._writer = self._engine.execution_options(**{WRITE_OPTION: True})
        # SQLite has one writer at a time. Writers of this process queue here, in order, rather
        # than in SQLite's busy handler, which polls with growing sleeps and left the slowest
        # of 32 concurrent refreshes waiting about two seconds. Correctness does not rest on
        # it: every claim is still a compare-and-set in the database, and other processes on
        # the same file still queue in the busy handler.
        self._write_gate: contextlib.AbstractAsyncContextManager[Any] = (
            asyncio.Lock() if self._engine.dialect.name == "sqlite" else contextlib.nullcontext()
        )

    @contextlib.asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction (BEGIN IMMEDIATE on SQLite), committed on success. The stores
        that share this database (keyring, lockout, second factor) write through it too: on
        SQLite they must take turns with this store's writers, not race them."""
        async with self._write_gate, self._writer.begin() as connection:
            yield connection

    @property
    def engine(self) -> AsyncEngine:
        """The underlying engine (for health checks and tests; the store owns it)."""
        return self._engine

    async def close(self) -> None:
        """Close every pooled connection."""
        await self._engine.dispose()

    async def schema_revision(self) -> str | None:
        """The migration the database is at (``None`` for an empty database)."""
        async with self._engine.connect() as connection:
            revision: str | None = await connection.run_sync(
                lambda sync: MigrationContext.configure(sync).get_current_revision()
            )
        return revision

    async def ping(self) -> bool:
        """True when the database answers a trivial query within a few seconds (readiness)."""
        try:
            async with asyncio.timeout(PING_TIMEOUT), self._engine.connect() as connection:
                await connection.execute(select(literal(1)))
        except (SQLAlchemyError, OSError, TimeoutError):
            return False
        return True

    # Users -------------------------------------------------------------------------------------

    async def by_id(self, user_id: str) -> UserRecord | None:
        """The user with this id, or ``None`` (deleted users are ``None``)."""
        async with self._engine.connect() as connection:
            row = (
                await connection.execute(select(*_USER_COLUMNS).where(UserRow.id == user_id))
            ).one_or_none()
        return None if row is None else _user(row)

    async def by_email(self, email: str) -> UserRecord | None:
        """The user with this email (compared lower-cased), or ``None``."""
        async with self._engine.connect() as connection:
            row = (
                await connection.execute(
                    select(*_USER_COLUMNS).where(UserRow.email == email.lower())
                )
            ).one_or_none()
        return None if row is None else _user(row)

    async def create(self, email: str, password_hash: str) -> UserRecord:
        """Create an active user; raise :class:`EmailTakenError` if the email is taken."""
        user = UserRecord(id=uuid.uuid4().hex, email=email.lower(), password_hash=password_hash)
        try:
            async with self.write() as connection:
                await connection.execute(
                    insert(UserRow).values(
                        id=user.id,
                        email=user.email,
                        password_hash=user.password_hash,
                        is_active=user.is_active,
                        created_at=self._clock(),
                    )
                )
        except IntegrityError:
            # The only constraint a fresh uuid4 row can break is the email's uniqueness. The
            # driver's message (the SQL, the email) is dropped: it is not for the client.
            raise EmailTakenError() from None
        return user

    async def set_password_hash(self, user_id: str, password_hash: str) -> None:
        """Replace the stored hash (password change, or rehash with new parameters)."""
        async with self.write() as connection:
            await connection.execute(
                update(UserRow).where(UserRow.id == user_id).values(password_hash=password_hash)
            )

    async def set_active(self, user_id: str, active: bool) -> bool:
        """Enable or disable a user; False if there is no such user."""
        async with self.write() as connection:
            result = await connection.execute(
                update(UserRow)
                .where(UserRow.id == user_id)
                .values(is_active=active)
                .returning(UserRow.id)
            )
            return result.first() is not None

    async def delete_user(self, user_id: str) -> bool:
        """Delete a user with all their sessions and tokens; False if there is no such user."""
        sessions = select(SessionRow.id).where(SessionRow.user_id == user_id)
        async with self.write() as connection:
            # Children first, explicitly: correct even where ON DELETE CASCADE is not enforced.
            await connection.execute(
                delete(RefreshTokenRow).where(RefreshTokenRow.session_id.in_(sessions))
            )
            await connection.execute(delete(SessionRow).where(SessionRow.user_id == user_id))
            # No foreign keys to users (migration 0004): the second factor goes explicitly too.
            await connection.execute(delete(TotpRow).where(TotpRow.user_id == user_id))
            await connection.execute(
                delete(RecoveryCodeRow).where(RecoveryCodeRow.user_id == user_id)
            )
            result = await connection.execute(
                delete(UserRow).where(UserRow.id == user_id).returning(UserRow.id)
            )
            return result.first() is not None

    # Sessions and refresh tokens ---------------------------------------------------------------

    async def create_session(
        self, session: SessionRecord, token_hash: bytes, token_expires_at: float
    ) -> None:
        """Store a new session with its first refresh token (which never outlives it)."""
        async with self.write() as connection:
            await connection.execute(
                insert(SessionRow).values(
                    id=session.id,
                    user_id=session.user_id,
                    created_at=session.created_at,
                    last_used_at=session.last_used_at,
                    expires_at=session.expires_at,
                    ip=_clip(session.ip, IP_MAX),
                    user_agent=_clip(session.user_agent, USER_AGENT_MAX),
                    revoked_at=session.created_at if session.revoked else None,
                    fingerprint_hash=session.fingerprint,
                )
            )
            await connection.execute(
                insert(RefreshTokenRow).values(
                    token_hash=token_hash,
                    session_id=session.id,
                    parent_hash=None,
                    expires_at=min(token_expires_at, session.expires_at),
                    state=ACTIVE,
                    used_at=None,
                )
            )

    async def live_owner(self, token_hash: bytes, now: float) -> str | None:
        """The id of the user whose live session the token refreshes, while it can refresh
        (active, unexpired); ``None`` for an unknown, spent, expired or revoked token."""
        async with self._engine.connect() as connection:
            owner: str | None = (
                await connection.execute(
                    select(SessionRow.user_id)
                    .join(RefreshTokenRow, RefreshTokenRow.session_id == SessionRow.id)
                    .where(
                        RefreshTokenRow.token_hash == token_hash,
                        RefreshTokenRow.state == ACTIVE,
                        RefreshTokenRow.expires_at > now,
                        SessionRow.revoked_at.is_(None),
                        SessionRow.expires_at > now,
                    )
                )
            ).scalar_one_or_none()
        return owner

    async def rotate(
        self,
        token_hash: bytes,
        new_hash: bytes,
        new_expires_at: float,
        now: float,
        *,
        on_reuse: SessionsEnded | None = None,
    ) -> Rotation:
        """Atomically replace an active token by a new one of the same family.

        Returns ``Rotation("rotated", session)`` when the token was active (the new token
        expires at ``new_expires_at`` or the session's end, whichever is first);
        ``Rotation("reused", session)`` when it had already been rotated, after revoking the
        whole family; ``Rotation("invalid")`` otherwise (unknown, expired, revoked, or its
        session is over). One transaction; the compare-and-set is the first statement, so on
        PostgreSQL concurrent callers queue on the token's row lock and on SQLite on the write
        lock, and every loser then sees the token rotated. ``on_reuse`` runs in the same
        transaction, with the revoked family's session id, when the token was reused.
        """
        async with self.write() as connection:
            claimed = (
                await connection.execute(
                    update(RefreshTokenRow)
                    .where(
                        RefreshTokenRow.token_hash == token_hash,
                        RefreshTokenRow.state == ACTIVE,
                        RefreshTokenRow.expires_at > now,
                    )
                    .values(state=ROTATED, used_at=now)
                    .returning(RefreshTokenRow.session_id)
                )
            ).scalar_one_or_none()
            if claimed is None:
                return await self._refused(connection, token_hash, now, on_reuse)
            # Lock order: the token row above, then the session row, as revocation does too.
            session = (
                await connection.execute(
                    update(SessionRow)
                    .where(
                        SessionRow.id == claimed,
                        SessionRow.revoked_at.is_(None),
                        SessionRow.expires_at > now,
                    )
                    .values(last_used_at=now)
                    .returning(*_SESSION_COLUMNS)
                )
            ).one_or_none()
            if session is None:
                # The token outlived its session (revoked while the token was being rotated):
                # it is spent without a successor.
                await connection.execute(
                    update(RefreshTokenRow)
                    .where(RefreshTokenRow.token_hash == token_hash)
                    .values(state=REVOKED, used_at=None)
                )
                return Rotation("invalid")
            record = _session(session)
            await connection.execute(
                insert(RefreshTokenRow).values(
                    token_hash=new_hash,
                    session_id=claimed,
                    parent_hash=token_hash,
                    # Rotation never extends a session beyond its absolute end.
                    expires_at=min(new_expires_at, record.expires_at),
                    state=ACTIVE,
                    used_at=None,
                )
            )
            return Rotation("rotated", record)

    async def _refused(
        self,
        connection: AsyncConnection,
        token_hash: bytes,
        now: float,
        on_reuse: SessionsEnded | None,
    ) -> Rotation:
        """Why the compare-and-set matched nothing: reuse of a rotated token, or invalid."""
        found = (
            await connection.execute(
                select(RefreshTokenRow.state, RefreshTokenRow.session_id).where(
                    RefreshTokenRow.token_hash == token_hash
                )
            )
        ).one_or_none()
        if found is None or found.state != ROTATED:
            return Rotation("invalid")
        # A second presentation of a rotated token: one of the two holders is a thief, and we
        # cannot tell which, so the whole family goes.
        await self._revoke_tokens(connection, SessionRow.id == found.session_id)
        session = (
            await connection.execute(
                update(SessionRow)
                .where(SessionRow.id == found.session_id)
                # A family revoked earlier keeps the time it was first revoked.
                .values(revoked_at=func.coalesce(SessionRow.revoked_at, now))
                .returning(*_SESSION_COLUMNS)
            )
        ).one()
        if on_reuse is not None:
            await on_reuse(connection, [found.session_id])
        return Rotation("reused", _session(session))

    async def _revoke_tokens(
        self, connection: AsyncConnection, *where: ColumnElement[bool]
    ) -> None:
        """Revoke the active tokens of the sessions matching ``where``."""
        await connection.execute(
            update(RefreshTokenRow)
            .where(
                RefreshTokenRow.state == ACTIVE,
                RefreshTokenRow.session_id.in_(select(SessionRow.id).where(*where)),
            )
            .values(state=REVOKED)
        )

    async def sessions(self, user_id: str, now: float) -> list[SessionRecord]:
        """The user's live sessions (not revoked, not past their end), newest first."""
        async with self._engine.connect() as connection:
            rows = await connection.execute(
                select(*_SESSION_COLUMNS)
                .where(
                    SessionRow.user_id == user_id,
                    SessionRow.revoked_at.is_(None),
                    SessionRow.expires_at > now,
                )
                .order_by(SessionRow.created_at.desc(), SessionRow.id.desc())
            )
            return [_session(row) for row in rows]

    async def revoke_session(
        self, user_id: str, session_id: str, *, then: SessionsEnded | None = None
    ) -> bool:
        """Revoke one session and its tokens; False if the user has no such live session.
        ``then`` runs in the same transaction (with ``[session_id]`` or ``[]``)."""
        return bool(await self._revoke(user_id, SessionRow.id == session_id, then=then))

    async def revoke_sessions(
        self, user_id: str, *, keep: str | None = None, then: SessionsEnded | None = None
    ) -> list[str]:
        """Revoke every live session of the user except ``keep``; return their ids (sorted).
        ``then`` runs in the same transaction with those ids."""
        conditions = () if keep is None else (SessionRow.id != keep,)
        return await self._revoke(user_id, *conditions, then=then)

    async def _revoke(
        self, user_id: str, *conditions: ColumnElement[bool], then: SessionsEnded | None
    ) -> list[str]:
        now = self._clock()
        live = (
            SessionRow.user_id == user_id,
            SessionRow.revoked_at.is_(None),
            SessionRow.expires_at > now,
            *conditions,
        )
        async with self.write() as connection:
            # Tokens before the session: the lock order of rotate, so PostgreSQL never sees the
            # two wait for each other.
            await self._revoke_tokens(connection, *live)
            result = await connection.execute(
                update(SessionRow).where(*live).values(revoked_at=now).returning(SessionRow.id)
            )
            ended = sorted(result.scalars())
            if then is not None:
                await then(connection, ended)
            return ended

    async def purge(self, now: float) -> int:
        """Delete expired tokens, sessions that are over or were revoked more than a day ago
        (with their tokens), expired MFA challenges and revocations that can no longer refuse
        a live token; return how many rows went."""
        finished = or_(
            SessionRow.expires_at <= now, SessionRow.revoked_at < now - REVOKED_RETENTION
        )
        async with self.write() as connection:
            tokens = await connection.execute(
                delete(RefreshTokenRow).where(
                    or_(
                        RefreshTokenRow.expires_at <= now,
                        RefreshTokenRow.session_id.in_(select(SessionRow.id).where(finished)),
                    )
                )
            )
            sessions = await connection.execute(delete(SessionRow).where(finished))
            challenges = await connection.execute(
                delete(MfaChallengeRow).where(MfaChallengeRow.expires_at <= now)
            )
            revocations = await connection.execute(
                delete(RevocationRow).where(RevocationRow.expires_at <= now)
            )
            return tokens.rowcount + sessions.rowcount + challenges.rowcount + revocations.rowcount
