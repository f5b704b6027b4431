"""The tables of the SQL store: users, sessions (refresh-token families), refresh tokens,
login failures (lockout), the TOTP second factor and the durable revocation record.

``Base.metadata`` is what the Alembic migrations in ``jwtauth/migrations`` build; a test checks
that the migrated schema compares equal to it on SQLite and PostgreSQL.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Double,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "ACTIVE",
    "IP_MAX",
    "REVOKED",
    "ROTATED",
    "SESSION_ID_MAX",
    "USER_AGENT_MAX",
    "Base",
    "LoginFailureRow",
    "MfaChallengeRow",
    "RecoveryCodeRow",
    "RefreshTokenRow",
    "RevocationRow",
    "SessionRow",
    "TotpRow",
    "UserRow",
]

USER_AGENT_MAX: Final = 512
IP_MAX: Final = 64  # an IPv6 address with a zone id fits; longer is not an address
SESSION_ID_MAX: Final = 64
USER_ID_MAX: Final = 64  # a host's user ids (integers, UUIDs) as text; the store's own are 32

ACTIVE: Final = "active"
ROTATED: Final = "rotated"
REVOKED: Final = "revoked"

# Deterministic constraint names: the migrations name every constraint and index the same way,
# so that the schema they build compares equal to these models on every backend.
NAMING_CONVENTION: Final = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of the store's tables; ``Base.metadata`` is the migrations' target."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UserRow(Base):
    """A user; the email is stored lower-cased, so the unique constraint is case-insensitive."""

    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # uuid4 hex
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[float] = mapped_column(Double)


class SessionRow(Base):
    """A login session, that is one refresh-token family; ``id`` is the family id (`sid`)."""

    __tablename__ = "sessions"

    id: Mapped[str] = mapped_column(String(SESSION_ID_MAX), primary_key=True)
    # No foreign key: the user may live in the embedding host's own table (migration 0004).
    user_id: Mapped[str] = mapped_column(String(USER_ID_MAX), index=True)
    created_at: Mapped[float] = mapped_column(Double)
    last_used_at: Mapped[float] = mapped_column(Double)
    expires_at: Mapped[float] = mapped_column(Double)  # the absolute cap of the family
    ip: Mapped[str | None] = mapped_column(String(IP_MAX))
    user_agent: Mapped[str | None] = mapped_column(String(USER_AGENT_MAX))
    revoked_at: Mapped[float | None] = mapped_column(Double)
    # SHA-256 (hex) of the token-sidecar cookie the session was opened with; every access token
    # of the family carries it, so a refresh without the cookie cannot shed the binding.
    fingerprint_hash: Mapped[str | None] = mapped_column(String(64))


class RefreshTokenRow(Base):
    """One refresh token of a family, by the SHA-256 of the opaque token.

    ``state`` goes ``active`` -> ``rotated`` (used once, replaced by its child) or ``active`` ->
    ``revoked`` (logout, or the family was revoked). A rotated token stays ``rotated`` when its
    family is revoked: that state is what marks any later presentation of it as reuse.
    """

    __tablename__ = "refresh_tokens"
    __table_args__ = (CheckConstraint(f"state IN ('{ACTIVE}', '{ROTATED}', '{REVOKED}')", "state"),)

    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    session_id: Mapped[str] = mapped_column(
        String(SESSION_ID_MAX), ForeignKey("sessions.id", ondelete="CASCADE"), index=True
    )
    parent_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    expires_at: Mapped[float] = mapped_column(Double, index=True)  # purge deletes by it
    state: Mapped[str] = mapped_column(String(8))
    used_at: Mapped[float | None] = mapped_column(Double)


class LoginFailureRow(Base):
    """Failed logins on one account name, by the SHA-256 of the normalised email.

    Keyed by the name typed, not the user id, so an unknown email fails and locks exactly like a
    real one: a lockout says nothing about whether the account exists.
    """

    __tablename__ = "login_failures"

    account_hash: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    first_failure_at: Mapped[float] = mapped_column(Double)  # the counting window starts here
    locked_until: Mapped[float | None] = mapped_column(Double)


class TotpRow(Base):
    """A user's TOTP second factor; usable once ``confirmed_at`` is set."""

    __tablename__ = "mfa_totp"

    user_id: Mapped[str] = mapped_column(String(USER_ID_MAX), primary_key=True)
    secret: Mapped[str] = mapped_column(String(64))  # base32 (RFC 4648), as authenticator apps
    created_at: Mapped[float] = mapped_column(Double)
    confirmed_at: Mapped[float | None] = mapped_column(Double)
    last_step: Mapped[int | None] = mapped_column(Integer)  # the newest time step used: no replay


class MfaChallengeRow(Base):
    """An MFA challenge (by its `jti`) while a code is checked against it, or once it bought a
    session: the row is the claim that lets exactly one of concurrent verifies proceed."""

    __tablename__ = "mfa_challenges"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[float] = mapped_column(Double, index=True)  # then purged


class RecoveryCodeRow(Base):
    """A single-use recovery code, by its SHA-256 (the codes carry 80 random bits)."""

    __tablename__ = "mfa_recovery_codes"

    code_hash: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(USER_ID_MAX), index=True)
    used_at: Mapped[float | None] = mapped_column(Double)


class RevocationRow(Base):
    """One revocation, the source of truth every process's view is built from (issue 14).

    ``kind`` is ``jti`` (one token), ``sid`` (a session's tokens), ``sub`` (a user's tokens
    issued before ``instant``) or ``all`` (every token issued before ``instant``; issuer and
    value empty). ``instant`` is the latest `exp` a revoked ``jti``/``sid`` token can have, or
    the cut-off of ``sub``/``all``. ``id`` only grows (SQLite ``AUTOINCREMENT``, so a purge of
    the newest rows never lets an id come back), which is what processes poll by.
    """

    __tablename__ = "revocations"
    # Without AUTOINCREMENT SQLite hands out max(rowid) + 1, so purging the newest rows would
    # reuse ids a poller has already passed, and it would never see the new rows.
    __table_args__ = (
        CheckConstraint("kind IN ('jti', 'sid', 'sub', 'all')", "kind"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    kind: Mapped[str] = mapped_column(String(3))
    issuer: Mapped[str] = mapped_column(Text)
    value: Mapped[str] = mapped_column(Text)
    instant: Mapped[float] = mapped_column(Double)
    expires_at: Mapped[float] = mapped_column(Double, index=True)  # no longer matters: purged
    created_at: Mapped[float] = mapped_column(Double)
