"""Shared type aliases and the Protocols that pluggable parts implement."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "Claims",
    "Clock",
    "RefreshTokenStore",
    "RevocationStore",
    "RevocationView",
    "Rotation",
    "SessionRecord",
    "UserProvider",
    "UserRecord",
]

Claims = Mapping[str, Any]
"""A verified token's claims: read-only, because verified claims may be shared from a cache."""

Clock = Callable[[], float]
"""Returns the current time as seconds since the epoch; ``time.time`` in production."""


@runtime_checkable
class RevocationView(Protocol):
    """A synchronous, local answer to "has this token been revoked?".

    Verification asks it on every call, cached or not, so it must answer from memory; a shared
    store (Redis, SQL) keeps such a view current in the background rather than being queried per
    request.
    """

    def is_revoked(self, claims: Claims) -> bool:
        """True when the token with these (verified) claims must be refused."""
        ...


@dataclass(frozen=True, slots=True)
class UserRecord:
    """A user as the auth service sees it; a host application maps its own model onto this."""

    id: str
    email: str
    password_hash: str
    is_active: bool = True


class UserProvider(Protocol):
    """Where users live (the jwt-auth `Providers\\User` idea). Emails are compared lower-cased.

    The server's SQL users are one implementation; a host application can plug its own.
    """

    async def by_id(self, user_id: str) -> UserRecord | None:
        """The user with this id, or ``None`` (deleted users are ``None``)."""
        ...

    async def by_email(self, email: str) -> UserRecord | None:
        """The user with this email, or ``None``."""
        ...

    async def create(self, email: str, password_hash: str) -> UserRecord:
        """Create a user; raise :class:`jwtauth.errors.EmailTakenError` if the email is taken."""
        ...

    async def set_password_hash(self, user_id: str, password_hash: str) -> None:
        """Replace the stored hash (password change, or rehash with new parameters)."""
        ...


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """A login session: one refresh-token family."""

    id: str
    user_id: str
    created_at: float
    last_used_at: float
    expires_at: float  # the absolute cap: rotation never extends a session past it
    ip: str | None
    user_agent: str | None
    revoked: bool = False


@dataclass(frozen=True, slots=True)
class Rotation:
    """The outcome of presenting a refresh token.

    ``status`` is ``"rotated"`` (the token was active and is now replaced by the new one),
    ``"reused"`` (it had already been rotated: theft; the family is now revoked), or
    ``"invalid"`` (unknown, expired, revoked, or its session is over).
    """

    status: str
    session: SessionRecord | None = None


class RefreshTokenStore(Protocol):
    """Sessions and their refresh tokens, stored only as hashes.

    ``rotate`` is the heart of it: a compare-and-set in the store (never a Python lock), so that
    of any number of concurrent presentations of one token exactly one succeeds.
    """

    async def create_session(
        self, session: SessionRecord, token_hash: bytes, token_expires_at: float
    ) -> None:
        """Store a new session with its first refresh token."""
        ...

    async def rotate(
        self, token_hash: bytes, new_hash: bytes, new_expires_at: float, now: float
    ) -> Rotation:
        """Atomically replace an active token by a new one of the same family (see Rotation)."""
        ...

    async def owner(self, token_hash: bytes) -> str | None:
        """The id of the user whose session the token belongs to, in any state; or ``None``."""
        ...

    async def sessions(self, user_id: str, now: float) -> list[SessionRecord]:
        """The user's live sessions, newest first."""
        ...

    async def revoke_session(self, user_id: str, session_id: str) -> bool:
        """Revoke one session and its tokens; False if the user has no such live session."""
        ...

    async def revoke_sessions(self, user_id: str, *, keep: str | None = None) -> list[str]:
        """Revoke every live session of the user except ``keep``; return their ids."""
        ...

    async def purge(self, now: float) -> int:
        """Delete expired tokens and sessions; return how many rows went."""
        ...


class RevocationStore(Protocol):
    """Revocation shared by every process; verification asks only its local :attr:`view`."""

    @property
    def view(self) -> RevocationView:
        """The local, synchronous answer kept current by the store."""
        ...

    async def revoke_token(self, issuer: str, jti: str, expires_at: float) -> None:
        """Revoke one access token until its expiry."""
        ...

    async def revoke_session(self, issuer: str, session_id: str, expires_at: float) -> None:
        """Revoke every access token carrying `sid` = ``session_id`` until ``expires_at``."""
        ...

    async def revoke_subject(self, issuer: str, subject: str, before: float) -> None:
        """Revoke every token of ``subject`` issued before ``before`` (logout-all)."""
        ...

    async def ping(self) -> bool:
        """True when the store answers (readiness)."""
        ...
