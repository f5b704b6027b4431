"""The auth service: register, login, refresh with rotation and reuse detection, logout.

It holds no framework code: the HTTP server and the framework integrations call it. Every store
is a Protocol (jwtauth.types), so the same service runs on SQLite, PostgreSQL and Redis.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import inspect
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, cast, runtime_checkable

from jwtauth.auth.identity import normalise_email
from jwtauth.auth.lockout import Lockout
from jwtauth.auth.passwords import PasswordHasher, PasswordPolicy
from jwtauth.errors import (
    ConfigurationError,
    InvalidCredentialsError,
    InvalidRefreshTokenError,
    RevokedTokenError,
    TokenError,
)
from jwtauth.manager import TokenManager
from jwtauth.tokens.claims import REGISTERED_CLAIMS
from jwtauth.tokens.token_type import TokenType
from jwtauth.transport.fingerprint import FINGERPRINT_CLAIM, fingerprint_hash, fingerprint_matches
from jwtauth.types import (
    Claims,
    Clock,
    RefreshTokenStore,
    RevocationStore,
    Rotation,
    SessionRecord,
    UserProvider,
    UserRecord,
)

__all__ = [
    "DEVICE",
    "AuthService",
    "ClaimsHook",
    "ClientInfo",
    "MfaChallenge",
    "RotationRevocations",
    "SecondFactor",
    "SessionRevocations",
    "TokenPair",
    "account_key",
    "device_audience",
    "hash_refresh_token",
    "issue",
    "load_claims_hook",
    "normalise_email",
    "user_key",
]

security_log = logging.getLogger("jwtauth.security")


def hash_refresh_token(token: str) -> bytes:
    """SHA-256 of an opaque refresh token: what the store keeps (the token itself never)."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


def _new_refresh_token() -> str:
    return secrets.token_urlsafe(32)  # 256 random bits


DEVICE = TokenType("device", "dvc+jwt")
"""The type of remembered-device tokens: refused wherever an access token is expected."""


def device_audience(issuer: str) -> str:
    """The `aud` of device tokens: the login endpoint, never the access tokens' audience."""
    return issuer.rstrip("/") + "/auth/login"


def _device_key(jti: str) -> bytes:
    # The lockout key of one remembered device: apart from its account's, so that guesses
    # from elsewhere, which lock the account, do not lock out the device that proved itself.
    return hashlib.sha256(b"jwtauth-device\0" + jti.encode("utf-8", "surrogatepass")).digest()


def account_key(email: str) -> bytes:
    """SHA-256 of the normalised name: the lockout key of a name that no user answers to
    (never in clear). A known account counts under :func:`user_key` instead."""
    return hashlib.sha256(normalise_email(email).encode("utf-8", "surrogatepass")).digest()


def user_key(user_id: str) -> bytes:
    """The lockout key of a known account, whichever name the login typed (its email at
    ``/auth/login``, its username at a framework's token view): one count per account, so
    that two login routes do not give a guesser two thresholds (issue 13)."""
    # 0xFF never occurs in UTF-8, so no typed name's account_key can equal a user's key.
    return hashlib.sha256(b"\xffjwtauth-user\0" + user_id.encode("utf-8", "surrogatepass")).digest()


async def issue(tokens: TokenManager, subject: str, **options: Any) -> str:
    """:meth:`TokenManager.issue`, in a worker thread when the signing key is remote (Vault
    Transit: an HTTP round trip), so the event loop never waits on the network."""
    if tokens.keyring.signing_key.remote:
        return await asyncio.to_thread(tokens.issue, subject, **options)
    return tokens.issue(subject, **options)


ClaimsHook = Callable[[UserRecord], Mapping[str, Any] | Awaitable[Mapping[str, Any]]]
"""Extra claims for a user's access tokens (``scope``, ``roles``, custom claims), asked at
login, at the second factor and at every refresh, so that they follow the user's current state
and never vanish on refresh. Plain or ``async``."""

# What the service itself puts into access tokens beside the registered claims: a hook may not
# replace the session, the fingerprint binding or the authentication methods.
_SERVICE_CLAIMS = frozenset({"sid", FINGERPRINT_CLAIM, "amr", "typ", "cnf"})


def load_claims_hook(reference: str) -> ClaimsHook:
    """The function ``module:function`` names (``JWTAUTH_CLAIMS_HOOK``).

    Raises:
        ConfigurationError: the module cannot be imported or has no such callable.
    """
    module_name, _, name = reference.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigurationError(f"claims hook: cannot import module {module_name!r}") from exc
    hook = getattr(module, name, None)
    if not callable(hook):
        raise ConfigurationError(f"claims hook: {reference!r} is not a callable")
    return cast(ClaimsHook, hook)


@dataclass(frozen=True, slots=True)
class ClientInfo:
    """Where a request came from, recorded on the session it opens or uses."""

    ip: str | None = None
    user_agent: str | None = None
    # The token-sidecar cookie's value (OWASP "token fingerprint"): a new one at login when the
    # server binds tokens, the presented one at refresh. Only its SHA-256 is stored.
    fingerprint: str | None = None


@dataclass(frozen=True, slots=True)
class TokenPair:
    """What login and refresh return."""

    access_token: str
    refresh_token: str
    expires_in: int
    refresh_expires_in: int
    session_id: str
    user_id: str
    # A remembered-device token, when the login asked for one (``remember_device``).
    device_token: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class MfaChallenge:
    """What login returns instead of a :class:`TokenPair` for a user enrolled in a second
    factor: a short-lived token that only the second factor's verify accepts."""

    mfa_token: str = field(repr=False)
    expires_in: int
    user_id: str


class SecondFactor(Protocol):
    """What :meth:`AuthService.login` asks once the password is right."""

    async def challenge(self, user: UserRecord) -> MfaChallenge | None:
        """A challenge when ``user`` must pass a second factor, else ``None``."""
        ...


@runtime_checkable
class SessionRevocations(Protocol):
    """A revocation store that ends sessions in the refresh-token store and records their
    revocation in the same transaction (:class:`jwtauth.stores.durable.DurableRevocationStore`
    on the SQL store): a session is then never over without its revocation on record, nor the
    revocation recorded for a session that goes on (issue 14)."""

    def joins(self, refresh: object) -> bool:
        """True when ``refresh`` is the store whose transactions it can share."""
        ...

    async def end_session(
        self,
        issuer: str,
        user_id: str,
        session_id: str,
        until: float,
        *,
        token: tuple[str, float] | None = None,
    ) -> bool:
        """End the user's live session and revoke its tokens until ``until``, and revoke
        ``token`` (`jti`, `exp`) if given, in one transaction; False when no such session."""
        ...

    async def end_sessions(
        self,
        issuer: str,
        user_id: str,
        *,
        keep: str | None = None,
        until: float | None = None,
        cut_off: Clock | None = None,
    ) -> list[str]:
        """End every live session of the user but ``keep``, revoking each one's tokens until
        ``until`` and/or every token issued before ``cut_off()``, in one transaction."""
        ...


@runtime_checkable
class RotationRevocations(SessionRevocations, Protocol):
    """A :class:`SessionRevocations` that also rotates refresh tokens in its transaction: a
    reused token's family is revoked, and its session's access tokens with it, in one commit,
    so a thief's access token never outlives the family for want of a second write."""

    async def rotate(
        self,
        issuer: str,
        token_hash: bytes,
        new_hash: bytes,
        new_expires_at: float,
        now: float,
        *,
        until: float,
    ) -> Rotation:
        """The refresh store's rotation; on reuse the session is revoked until ``until``."""
        ...


@dataclass(frozen=True, slots=True)
class ServicePolicy:
    """Lifetimes and limits of the service (from Settings)."""

    access_ttl: int = 300
    refresh_ttl: int = 1_209_600
    session_ttl: int = 2_592_000  # the absolute cap of a session, which rotation cannot extend
    max_sessions: int | None = None
    device_ttl: int = 7_776_000  # 90 days: how long a remembered device escapes a lockout


class AuthService:
    """Users, sessions and tokens; all I/O through the store Protocols.

    Args:
        tokens: issues and verifies access tokens.
        users: the user provider (SQL users, or the host application's).
        refresh: sessions and refresh tokens, with compare-and-set rotation.
        revocations: the shared revocation store; verification reads its local view.
        hasher: argon2id, off the event loop.
        policy: lifetimes and limits.
        password_policy: what a new password must satisfy.
        lockout: failed logins per account name (off when omitted); the second factor counts
            its wrong codes here too.
        claims_hook: extra claims for a user's access tokens (:data:`ClaimsHook`).
        clock: the time source.
    """

    second_factor: SecondFactor | None = None
    """Set by whoever wires a second factor (the server, when TOTP is on): login then
    challenges the users it names instead of opening their session."""

    def __init__(
        self,
        *,
        tokens: TokenManager,
        users: UserProvider,
        refresh: RefreshTokenStore,
        revocations: RevocationStore,
        hasher: PasswordHasher,
        policy: ServicePolicy | None = None,
        password_policy: PasswordPolicy | None = None,
        lockout: Lockout | None = None,
        claims_hook: ClaimsHook | None = None,
        clock: Clock = time.time,
    ) -> None:
        self.tokens = tokens
        self.users = users
        self.refresh_store = refresh
        self.revocations = revocations
        self.hasher = hasher
        self.policy = policy or ServicePolicy()
        self.password_policy = password_policy or PasswordPolicy()
        self.lockout = lockout or Lockout(clock=clock)
        self.claims_hook = claims_hook
        self.clock = clock
        self._devices: TokenManager | None = None

    @property
    def issuer(self) -> str:
        """The `iss` of our tokens."""
        return self.tokens.factory.issuer

    async def register(self, email: str, password: str) -> UserRecord:
        """Create a user; raises EmailTakenError or WeakPasswordError."""
        # zxcvbn takes milliseconds: off the event loop, like hashing.
        await asyncio.to_thread(self.password_policy.check, password, context=[email])
        password_hash = await self.hasher.hash(password)
        return await self.users.create(normalise_email(email), password_hash)

    async def login(
        self,
        email: str,
        password: str,
        client: ClientInfo,
        *,
        device_token: str | None = None,
        remember_device: bool = False,
    ) -> TokenPair | MfaChallenge:
        """Check the password and open a session; one error for every kind of failure.

        A user enrolled in a second factor (:attr:`second_factor`) gets an
        :class:`MfaChallenge` instead of a session.

        Lockout as denial of service: a login that presents a remembered-device token of the
        same user (``device_token``, from an earlier login with ``remember_device``) counts
        its failures against that device alone, so guesses from elsewhere, which lock the
        account name, never lock out the device its owner signed in from (OWASP's device
        cookies). ``remember_device`` puts a new device token into the :class:`TokenPair`.

        Raises:
            AccountLockedError: the account is locked (counted per account, whichever name
                found it: :func:`user_key`; an unknown name counts and locks the same way under
                its own key), checked before the password so that a lockout cannot confirm a
                guess; the attempt is counted before the password is checked, so that no burst
                of concurrent guesses gets more than the threshold evaluated.
            InvalidCredentialsError: unknown email, wrong password or inactive account.
        """
        user = await self.users.by_email(normalise_email(email))
        attempt = await self.lockout.reserve(self._lockout_key(email, user, device_token))
        # Always one argon2 verification, so an unknown email costs what a wrong password does.
        valid = await self.hasher.verify(user.password_hash if user else None, password)
        if user is None or not valid or not user.is_active:
            self.lockout.failed(attempt, client.ip)
            raise InvalidCredentialsError()
        await self.lockout.succeeded(attempt)
        if self.hasher.needs_rehash(user.password_hash):
            await self.users.set_password_hash(user.id, await self.hasher.hash(password))
        if self.second_factor is not None:
            challenge = await self.second_factor.challenge(user)
            if challenge is not None:  # enrolled: no session until the second factor
                return challenge
        return await self._open_session(user, client, remember_device=remember_device)

    async def open_session(
        self,
        user: UserRecord,
        client: ClientInfo,
        *,
        amr: Sequence[str] = (),
        remember_device: bool = False,
    ) -> TokenPair:
        """Open a session for a user authenticated elsewhere (the second factor's verify).

        ``amr`` (RFC 8176 authentication method references, e.g. ``["pwd", "otp"]``) goes into
        the access token; ``remember_device`` adds a device token (see :meth:`login`).
        """
        return await self._open_session(user, client, amr, remember_device=remember_device)

    def _lockout_key(self, email: str, user: UserRecord | None, device_token: str | None) -> bytes:
        if user is None:
            # A name no user answers to counts and locks under its own key exactly as an
            # account does, so that neither says whether the account exists.
            return account_key(email)
        if device_token is not None:
            try:
                claims = self._device_manager().verify(device_token, token_type=DEVICE)
            except TokenError:  # forged, expired, revoked, another type: the account's count
                return user_key(user.id)
            if claims["sub"] == user.id:
                return _device_key(str(claims["jti"]))
        return user_key(user.id)

    def _device_manager(self) -> TokenManager:
        base = self.tokens
        if self._devices is None:
            # The access tokens' keys, issuer, leeway and revocation view (logout-all forgets
            # remembered devices too); another audience and lifetime.
            self._devices = TokenManager(
                base.keyring,
                issuer=self.issuer,
                audience=device_audience(self.issuer),
                ttl=self.policy.device_ttl,
                leeway=base.policy.leeway,
                clock=base.clock,
                revocations=base.revocations,
                cache_size=0,
            )
        self._devices.keyring = base.keyring  # a rotated key signs device tokens too
        return self._devices

    async def _open_session(
        self,
        user: UserRecord,
        client: ClientInfo,
        amr: Sequence[str] = (),
        *,
        remember_device: bool = False,
    ) -> TokenPair:
        now = self.clock()
        session = SessionRecord(
            id=secrets.token_hex(16),
            user_id=user.id,
            created_at=now,
            last_used_at=now,
            expires_at=now + self.policy.session_ttl,
            ip=client.ip,
            user_agent=client.user_agent,
            fingerprint=fingerprint_hash(client.fingerprint) if client.fingerprint else None,
        )
        token = _new_refresh_token()
        expires_at = min(now + self.policy.refresh_ttl, session.expires_at)
        await self.refresh_store.create_session(session, hash_refresh_token(token), expires_at)
        await self._enforce_session_limit(user.id, now)
        pair = await self._pair(user, session, token, expires_at, now, amr=amr)
        if not remember_device:
            return pair
        device = await issue(self._device_manager(), user.id, token_type=DEVICE)
        return replace(pair, device_token=device)

    async def _enforce_session_limit(self, user_id: str, now: float) -> None:
        limit = self.policy.max_sessions
        if limit is None:
            return
        live = await self.refresh_store.sessions(user_id, now)  # newest first
        for old in live[limit:]:
            await self._end_session(user_id, old.id, now)

    async def _pair(
        self,
        user: UserRecord,
        session: SessionRecord,
        token: str,
        expires_at: float,
        now: float,
        *,
        amr: Sequence[str] = (),
    ) -> TokenPair:
        claims: dict[str, Any] = dict(await self._extra_claims(user))
        claims["sid"] = session.id
        if session.fingerprint is not None:
            claims[FINGERPRINT_CLAIM] = session.fingerprint
        if amr:
            claims["amr"] = list(amr)
        access = await issue(self.tokens, user.id, ttl=self.policy.access_ttl, claims=claims)
        return TokenPair(
            access_token=access,
            refresh_token=token,
            expires_in=self.policy.access_ttl,
            refresh_expires_in=max(0, int(expires_at - now)),
            session_id=session.id,
            user_id=user.id,
        )

    async def _extra_claims(self, user: UserRecord) -> Mapping[str, Any]:
        if self.claims_hook is None:
            return {}
        extra = self.claims_hook(user)
        if inspect.isawaitable(extra):
            extra = await extra
        if not isinstance(extra, Mapping):
            raise ConfigurationError("the claims hook must return a mapping of claim names")
        clash = (_SERVICE_CLAIMS | REGISTERED_CLAIMS) & extra.keys()
        if clash:
            raise ConfigurationError(f"the claims hook may not set {sorted(clash)}")
        return extra

    async def refresh_owner(self, refresh_token: str) -> str | None:
        """The user a refresh token would refresh, for per-user limits; ``None`` when it cannot
        refresh (unknown, spent, expired, revoked), so that a dead token, a victim's stolen one
        included, never spends its owner's quota: limit those by client address instead."""
        return await self.refresh_store.live_owner(hash_refresh_token(refresh_token), self.clock())

    async def refresh(self, refresh_token: str, client: ClientInfo) -> TokenPair:
        """Rotate ``refresh_token``; a second use of a rotated token revokes its whole family."""
        now = self.clock()
        new_token = _new_refresh_token()
        new_expires = now + self.policy.refresh_ttl
        hashes = hash_refresh_token(refresh_token), hash_refresh_token(new_token)
        until = now + self.policy.access_ttl
        joint = self._joint()
        if isinstance(joint, RotationRevocations):
            outcome = await joint.rotate(self.issuer, *hashes, new_expires, now, until=until)
        else:
            outcome = await self.refresh_store.rotate(*hashes, new_expires, now)
        session = outcome.session
        if outcome.status == "reused" and session is not None:
            if not isinstance(joint, RotationRevocations):
                await self.revocations.revoke_session(self.issuer, session.id, until)
            security_log.warning(
                "refresh token reuse: session revoked",
                extra={
                    "event": "refresh_token_reuse",
                    "user_id": session.user_id,
                    "session_id": session.id,
                    "ip": client.ip,
                },
            )
            raise InvalidRefreshTokenError()
        if outcome.status != "rotated" or session is None:
            raise InvalidRefreshTokenError()
        if session.fingerprint is not None and not fingerprint_matches(
            session.fingerprint, client.fingerprint
        ):
            # The refresh token travelled without its sidecar cookie: stolen. The token is
            # already spent; end the session too, so that the thief's copy and the owner's are
            # both dead and the owner logs in again.
            await self._end_session(session.user_id, session.id, now)
            security_log.warning(
                "refresh token presented without its fingerprint: session revoked",
                extra={
                    "event": "fingerprint_mismatch",
                    "user_id": session.user_id,
                    "session_id": session.id,
                    "ip": client.ip,
                },
            )
            raise InvalidRefreshTokenError()
        # Account state is re-checked on every refresh (simplejwt's CVE-2024-22513).
        user = await self.users.by_id(session.user_id)
        if user is None or not user.is_active:
            await self._end_session(session.user_id, session.id, now)
            raise InvalidRefreshTokenError()
        expires_at = min(new_expires, session.expires_at)
        return await self._pair(
            user, replace(session, last_used_at=now), new_token, expires_at, now
        )

    async def current_user(self, claims: Claims) -> UserRecord:
        """The user an access token speaks for; a deleted or disabled user is refused."""
        user = await self.users.by_id(str(claims["sub"]))
        if user is None or not user.is_active:
            raise RevokedTokenError("The account is no longer active.")
        return user

    async def logout(self, claims: Claims) -> None:
        """Revoke this access token and its whole session."""
        now = self.clock()
        token = (str(claims["jti"]), float(claims["exp"]))
        sid = claims.get("sid")
        joint = self._joint()
        if joint is not None and isinstance(sid, str):
            until = now + self.policy.access_ttl
            await joint.end_session(self.issuer, str(claims["sub"]), sid, until, token=token)
            return
        await self.revocations.revoke_token(self.issuer, *token)
        if isinstance(sid, str):
            await self._end_session(str(claims["sub"]), sid, now)

    async def logout_all(self, claims: Claims) -> None:
        """Revoke every session and every outstanding access token of the user."""
        await self.end_user(str(claims["sub"]))

    async def end_user(self, user_id: str) -> None:
        """End every session of ``user_id`` and refuse every token issued to it so far, in
        every process: logout-all, and what a user disabled or deleted needs, since a
        verifier that checks only the token (``/auth/claims``, a resource server) would
        otherwise accept its access tokens until they expire. Tokens issued afterwards (a
        re-enabled user's next login) are accepted."""
        joint = self._joint()
        if joint is not None:
            # The cut-off is read inside the transaction, after the sessions ended.
            await joint.end_sessions(self.issuer, user_id, cut_off=self.clock)
            return
        await self.refresh_store.revoke_sessions(user_id)
        # One write covers every access token issued so far (iat keeps milliseconds).
        await self.revocations.revoke_subject(self.issuer, user_id, self.clock())

    async def change_password(self, claims: Claims, current: str, new: str) -> None:
        """Replace the password and end every other session of the user."""
        user = await self.current_user(claims)
        if not await self.hasher.verify(user.password_hash, current):
            raise InvalidCredentialsError("The current password is incorrect.")
        await asyncio.to_thread(self.password_policy.check, new, context=[user.email])
        await self.users.set_password_hash(user.id, await self.hasher.hash(new))
        await self.end_other_sessions(claims)

    async def end_other_sessions(self, claims: Claims) -> None:
        """End every session of the token's user but the token's own, access tokens included
        (a password change; a second factor turned on)."""
        keep = claims.get("sid")
        now = self.clock()
        joint = self._joint()
        if joint is not None:
            await joint.end_sessions(
                self.issuer,
                str(claims["sub"]),
                keep=keep if isinstance(keep, str) else None,
                until=now + self.policy.access_ttl,
            )
            return
        ended = await self.refresh_store.revoke_sessions(
            str(claims["sub"]), keep=keep if isinstance(keep, str) else None
        )
        for sid in ended:
            await self.revocations.revoke_session(self.issuer, sid, now + self.policy.access_ttl)

    async def sessions(self, claims: Claims) -> list[SessionRecord]:
        """The user's live sessions, newest first."""
        return await self.refresh_store.sessions(str(claims["sub"]), self.clock())

    async def revoke_session(self, claims: Claims, session_id: str) -> bool:
        """End one of the user's sessions; False when the user has no such live session."""
        return await self._end_session(str(claims["sub"]), session_id, self.clock())

    def _joint(self) -> SessionRevocations | None:
        """The revocation store, when it can record in the session change's transaction."""
        joint = self.revocations
        if isinstance(joint, SessionRevocations) and joint.joins(self.refresh_store):
            return joint
        return None

    async def _end_session(self, user_id: str, session_id: str, now: float) -> bool:
        joint = self._joint()
        if joint is not None:
            until = now + self.policy.access_ttl
            return await joint.end_session(self.issuer, user_id, session_id, until)
        found = await self.refresh_store.revoke_session(user_id, session_id)
        if found:
            await self.revocations.revoke_session(
                self.issuer, session_id, now + self.policy.access_ttl
            )
        return found
