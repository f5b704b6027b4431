"""Shared type aliases and the Protocols that pluggable parts implement."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "Claims",
    "Clock",
    "LockoutPolicy",
    "LockoutReservation",
    "LockoutStore",
    "MfaStore",
    "RefreshTokenStore",
    "RevocationStore",
    "RevocationView",
    "Rotation",
    "SessionRecord",
    "TotpRecord",
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
    # SHA-256 (hex) of the token-sidecar cookie the session is bound to, if any.
    fingerprint: str | None = None


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

    async def live_owner(self, token_hash: bytes, now: float) -> str | None:
        """The id of the user whose live session the token refreshes, while it can refresh
        (active, unexpired); ``None`` for an unknown, spent, expired or revoked token."""
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

    async def revoke_all(self, before: float) -> None:
        """Revoke every token issued before ``before``, whoever it was issued to (revoke-all)."""
        ...

    async def ping(self) -> bool:
        """True when the store answers (readiness)."""
        ...


@dataclass(frozen=True, slots=True)
class LockoutPolicy:
    """``threshold`` failed logins within ``period`` seconds lock the account for ``period``."""

    threshold: int = 10
    period: float = 900.0


@dataclass(frozen=True, slots=True)
class LockoutReservation:
    """What a lockout store answers when an attempt asks to be evaluated (:meth:`reserve`)."""

    locked_until: float | None  # a lockout is running until then: refuse, evaluate nothing
    locks: bool  # this attempt reached the threshold: the lockout runs unless it succeeds


class LockoutStore(Protocol):
    """Failed logins per account name (the SHA-256 of the normalised email, never the email).

    Keyed by the name typed rather than a user id, so an unknown email locks exactly like a real
    one and a lockout reveals nothing about which accounts exist.

    An attempt is counted *before* it is evaluated (reserve, then check the password, then
    clear on success), so the threshold bounds the guesses evaluated however many run at once:
    a check-then-count store lets a burst of concurrent guesses all pass the check.
    """

    async def reserve(
        self, account: bytes, now: float, policy: LockoutPolicy
    ) -> LockoutReservation:
        """Atomically count an attempt as failed unless a lockout is running.

        The attempt that reaches ``policy.threshold`` starts the lockout itself, so no
        concurrent attempt is evaluated after it; its :meth:`clear` on success lifts it.
        """
        ...

    async def clear(self, account: bytes) -> bool:
        """Forget ``account``'s failures and lockout; ``True`` if anything was on record."""
        ...


@dataclass(frozen=True, slots=True)
class TotpRecord:
    """A user's TOTP second factor: pending until confirmed, then required at login."""

    user_id: str
    secret: str = field(repr=False)  # base32 (RFC 4648): never in a repr or a log line
    confirmed: bool
    last_step: int | None  # the newest time step used: a code of that step or older is spent


class MfaStore(Protocol):
    """TOTP enrolments and recovery codes (kept only as SHA-256).

    Every state change that guards a one-time use (a time step, a recovery code, confirming an
    enrolment) is a compare-and-set in the store, never a read then a write in Python, so of
    concurrent attempts with one code exactly one succeeds.
    """

    async def totp(self, user_id: str) -> TotpRecord | None:
        """The user's TOTP record, pending or confirmed; ``None`` without one."""
        ...

    async def start_enrolment(self, user_id: str, secret: str, now: float) -> bool:
        """Store a pending ``secret``, replacing a pending one; ``False`` when TOTP is on."""
        ...

    async def confirm(
        self, user_id: str, secret: str, step: int, recovery_hashes: Sequence[bytes], now: float
    ) -> bool:
        """Turn on the pending enrolment of ``secret`` with ``step`` spent and these recovery
        codes (replacing any); ``False`` when no enrolment of that secret is pending."""
        ...

    async def use_step(self, user_id: str, step: int) -> bool:
        """Spend time step ``step`` of a confirmed TOTP; ``False`` unless it is newer than the
        last one spent."""
        ...

    async def use_recovery_code(self, user_id: str, code_hash: bytes, now: float) -> bool:
        """Spend the user's unused recovery code with this SHA-256; ``False`` if there is none."""
        ...

    async def claim_challenge(self, jti: str, expires_at: float) -> bool:
        """Claim MFA challenge ``jti`` for one verify; ``False`` while it is claimed or spent."""
        ...

    async def release_challenge(self, jti: str) -> None:
        """Give a claimed challenge back after a wrong code."""
        ...

    async def disable(self, user_id: str) -> bool:
        """Delete the user's TOTP and recovery codes; ``True`` if TOTP was there."""
        ...
