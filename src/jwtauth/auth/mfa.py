"""The TOTP second factor: enrol, confirm, challenge at login, verify, disable.

A user who turned TOTP on gets, for the right password, an :class:`MfaChallenge` rather than a
session: a JWT of its own type (``typ: mfa+jwt``) and its own audience, valid for five minutes,
which only :meth:`MfaService.verify` accepts, and only once. With a current TOTP code or an
unused recovery code it becomes a session whose access token says ``"amr": ["pwd", "otp"]``
(RFC 8176). Decision 016 has the reasons.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass, field
from typing import Final

from jwtauth.auth.service import AuthService, ClientInfo, MfaChallenge, TokenPair, issue
from jwtauth.auth.totp import (
    hash_recovery_code,
    issuer_name,
    new_recovery_codes,
    new_secret,
    provisioning_uri,
    verify_code,
)
from jwtauth.errors import (
    AccountLockedError,
    InvalidCredentialsError,
    InvalidMfaChallengeError,
    InvalidMfaCodeError,
    MfaAlreadyEnabledError,
    MfaNotEnrolledError,
    TokenError,
)
from jwtauth.manager import TokenManager
from jwtauth.tokens.token_type import TokenType
from jwtauth.types import Claims, Clock, MfaStore, UserRecord

__all__ = [
    "CHALLENGE_TTL",
    "MFA",
    "Enrolment",
    "MfaService",
    "challenge_audience",
    "second_factor_key",
]

MFA: Final = TokenType("mfa", "mfa+jwt")
"""The MFA challenge token type: refused wherever an access token is expected."""

CHALLENGE_TTL: Final = 300
"""Seconds a challenge stays valid: long enough to open an authenticator app."""

AMR: Final = ("pwd", "otp")  # RFC 8176: a password and a one-time password

security_log = logging.getLogger("jwtauth.security")


def second_factor_key(user_id: str) -> bytes:
    """The lockout store's key for a user's wrong second-factor codes (apart from the login
    failures of their account name)."""
    return hashlib.sha256(b"jwtauth-mfa\0" + user_id.encode("utf-8", "surrogatepass")).digest()


def challenge_audience(issuer: str) -> str:
    """The `aud` of challenge tokens: the verify endpoint, never the access tokens' audience,
    so that a verifier that ignores `typ` still refuses a challenge as an access token."""
    return issuer.rstrip("/") + "/auth/mfa/totp/verify"


@dataclass(frozen=True, slots=True)
class Enrolment:
    """A started enrolment: the secret to show once, as text and as an ``otpauth://`` URI."""

    secret: str = field(repr=False)
    otpauth_uri: str = field(repr=False)


class MfaService:
    """TOTP enrolment and verification on top of an :class:`AuthService`.

    Args:
        auth: the service whose users, hasher, revocations and sessions it uses; the
            constructor sets ``auth.second_factor`` to this service, so login challenges.
        store: TOTP records and recovery codes.
        clock: the time TOTP codes are checked against (and the stores' timestamps).
        challenge_ttl: lifetime of a challenge token, seconds.
    """

    def __init__(
        self,
        auth: AuthService,
        store: MfaStore,
        *,
        clock: Clock = time.time,
        challenge_ttl: int = CHALLENGE_TTL,
    ) -> None:
        self.auth = auth
        self.store = store
        self.clock = clock
        self.challenge_ttl = challenge_ttl
        base = auth.tokens
        # The access tokens' keys, issuer, leeway and revocation view; another audience. The
        # keyring is taken afresh from ``auth.tokens`` on every use (see _manager).
        self.tokens = TokenManager(
            base.keyring,
            issuer=auth.issuer,
            audience=challenge_audience(auth.issuer),
            ttl=challenge_ttl,
            leeway=base.policy.leeway,
            clock=base.clock,
            revocations=base.revocations,
            cache_size=0,  # each challenge is verified about once
        )
        auth.second_factor = self

    async def enroll(self, claims: Claims, password: str) -> Enrolment:
        """Start (or restart, while unconfirmed) an enrolment for the token's user.

        The password is asked again: otherwise a stolen access token could put the thief's
        authenticator on an account that has none, and hold its owner to the thief's codes.

        Raises:
            InvalidCredentialsError: the password is wrong.
            MfaAlreadyEnabledError: TOTP is already on.
        """
        user = await self.auth.current_user(claims)
        if not await self.auth.hasher.verify(user.password_hash, password):
            raise InvalidCredentialsError("The password is incorrect.")
        secret = new_secret()
        if not await self.store.start_enrolment(user.id, secret, self.clock()):
            raise MfaAlreadyEnabledError()
        uri = provisioning_uri(secret, user.email, issuer_name(self.auth.issuer))
        return Enrolment(secret=secret, otpauth_uri=uri)

    async def confirm(self, claims: Claims, code: str, client: ClientInfo) -> list[str]:
        """Turn TOTP on with a current code; the recovery codes, to be shown once.

        Raises:
            MfaNotEnrolledError: no enrolment is pending (or it was restarted meanwhile).
            MfaAlreadyEnabledError: TOTP is already on.
            InvalidMfaCodeError: the code is wrong.
        """
        user = await self.auth.current_user(claims)
        record = await self.store.totp(user.id)
        if record is None:
            raise MfaNotEnrolledError()
        if record.confirmed:
            raise MfaAlreadyEnabledError()
        now = self.clock()
        step = verify_code(record.secret, code, now)
        if step is None:
            self._failed(user.id, "confirm", client)
            raise InvalidMfaCodeError()
        codes = new_recovery_codes()
        hashes = [hash_recovery_code(c) for c in codes]
        if not await self.store.confirm(user.id, record.secret, step, hashes, now):
            raise MfaNotEnrolledError()
        # Sessions opened with the password alone would otherwise outlive the change by up to
        # the session cap; this one, which just proved the code, stays.
        await self.auth.end_other_sessions(claims)
        self._event("second factor turned on", "mfa_enabled", user.id, client)
        return codes

    async def challenge(self, user: UserRecord) -> MfaChallenge | None:
        """A challenge token when ``user`` has TOTP on, else ``None`` (login goes ahead)."""
        record = await self.store.totp(user.id)
        if record is None or not record.confirmed:
            return None
        token = await issue(self._manager(), user.id, token_type=MFA, ttl=self.challenge_ttl)
        return MfaChallenge(mfa_token=token, expires_in=self.challenge_ttl, user_id=user.id)

    def challenge_claims(self, mfa_token: str) -> Claims:
        """Verify a challenge token (signature, type, audience, expiry, not yet used).

        Raises:
            InvalidMfaChallengeError: for every reason, never saying which.
        """
        try:
            return self._manager().verify(mfa_token, token_type=MFA)
        except TokenError:
            raise InvalidMfaChallengeError() from None

    async def verify(
        self,
        claims: Claims,
        client: ClientInfo,
        *,
        code: str | None = None,
        recovery_code: str | None = None,
        remember_device: bool = False,
    ) -> TokenPair:
        """Pass the second factor of a verified challenge (:meth:`challenge_claims`) with a
        TOTP ``code`` or a ``recovery_code``; open the session.

        Raises:
            InvalidMfaChallengeError: the user or their TOTP is gone since the challenge, or
                the challenge is spent or being verified by a concurrent request.
            InvalidMfaCodeError: the code is wrong or already used.
        """
        user = await self.auth.users.by_id(str(claims["sub"]))
        record = await self.store.totp(user.id) if user is not None else None
        if user is None or not user.is_active or record is None or not record.confirmed:
            raise InvalidMfaChallengeError()
        # One code at a time per challenge, and a challenge that bought a session stays spent:
        # three recovery codes sent at once with one challenge buy one session, not three.
        jti = str(claims["jti"])
        if not await self.store.claim_challenge(jti, float(claims["exp"])):
            raise InvalidMfaChallengeError()
        # Wrong codes count in the lockout store, whatever the rate limits: with them off (a
        # gateway limits by address, say), a holder of the password could otherwise guess at
        # one challenge as fast as they can send. Counted before the code is checked.
        try:
            attempt = await self.auth.lockout.reserve(second_factor_key(user.id))
        except AccountLockedError:
            await self.store.release_challenge(jti)
            raise
        if not await self._passes(user.id, record.secret, client, code, recovery_code):
            if self.auth.lockout.failed(attempt, client.ip):
                await self._burn(claims)  # locked: this challenge is spent too
            else:
                await self.store.release_challenge(jti)  # a typo does not cost the challenge
            raise InvalidMfaCodeError()
        await self.auth.lockout.succeeded(attempt)
        # Single use: the challenge dies (in every process's view too) before its session exists.
        await self._burn(claims)
        return await self.auth.open_session(user, client, amr=AMR, remember_device=remember_device)

    async def _passes(
        self,
        user_id: str,
        secret: str,
        client: ClientInfo,
        code: str | None,
        recovery_code: str | None,
    ) -> bool:
        """Spend ``code`` (a time step) or ``recovery_code``; ``False`` if it is wrong or spent."""
        if code is not None:
            step = verify_code(secret, code, self.clock())
            # The step is spent in the database, so a replay, or the loser of two racing uses
            # of one code, is refused as a wrong code is.
            if step is None or not await self.store.use_step(user_id, step):
                self._failed(user_id, "totp", client)
                return False
            return True
        if recovery_code is not None:
            used = await self.store.use_recovery_code(
                user_id, hash_recovery_code(recovery_code), self.clock()
            )
            if not used:
                self._failed(user_id, "recovery_code", client)
                return False
            self._event("recovery code used", "mfa_recovery_code_used", user_id, client)
            return True
        return False

    async def _burn(self, claims: Claims) -> None:
        await self.auth.revocations.revoke_token(
            self.auth.issuer, str(claims["jti"]), float(claims["exp"])
        )

    async def disable(
        self,
        claims: Claims,
        password: str,
        client: ClientInfo,
        *,
        code: str | None = None,
        recovery_code: str | None = None,
    ) -> None:
        """Turn TOTP off and delete the recovery codes; the password and a current code (or a
        recovery code) are asked again, so a stolen token and a phished password are not enough.

        Raises:
            InvalidCredentialsError: the password is wrong.
            MfaNotEnrolledError: TOTP is not on.
            InvalidMfaCodeError: the code is wrong or spent.
        """
        user = await self.auth.current_user(claims)
        if not await self.auth.hasher.verify(user.password_hash, password):
            raise InvalidCredentialsError("The password is incorrect.")
        record = await self.store.totp(user.id)
        if record is None or not record.confirmed:
            raise MfaNotEnrolledError()
        key = second_factor_key(user.id)
        attempt = await self.auth.lockout.reserve(key)
        if not await self._passes(user.id, record.secret, client, code, recovery_code):
            self.auth.lockout.failed(attempt, client.ip)
            raise InvalidMfaCodeError()
        await self.auth.lockout.succeeded(attempt)
        if await self.store.disable(user.id):
            self._event("second factor turned off", "mfa_disabled", user.id, client)

    def _manager(self) -> TokenManager:
        # A key rotated on the access tokens' manager signs and verifies challenges too.
        self.tokens.keyring = self.auth.tokens.keyring
        return self.tokens

    def _failed(self, user_id: str, method: str, client: ClientInfo) -> None:
        security_log.warning(
            "second factor refused",
            extra={"event": "mfa_failed", "method": method, "user_id": user_id, "ip": client.ip},
        )

    def _event(self, message: str, event: str, user_id: str, client: ClientInfo) -> None:
        security_log.warning(message, extra={"event": event, "user_id": user_id, "ip": client.ip})
