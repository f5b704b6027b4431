"""The token manager (jwt-auth's `Manager`): issues and verifies tokens with one keyring."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from jwtauth.errors import ExpiredTokenError, MalformedTokenError, RevokedTokenError, TokenTypeError
from jwtauth.keys.key import Key
from jwtauth.keys.keyring import KeyRing
from jwtauth.tokens.cache import CachedToken, VerifiedTokenCache
from jwtauth.tokens.claims import ClaimsPolicy, freeze_claims
from jwtauth.tokens.encoding import json_dumps, json_loads_object
from jwtauth.tokens.factory import PayloadFactory
from jwtauth.tokens.jws import JWS, Header
from jwtauth.tokens.token_type import ACCESS, TokenType
from jwtauth.types import Claims, Clock, RevocationView

__all__ = ["MAX_CACHED_NESTED_VALUES", "MAX_CACHED_TOKEN_LENGTH", "TokenManager"]

# What the verified-token cache takes: ordinary access tokens. Large or deeply structured payloads
# are verified every time, so that a 4096-entry cache stays within tens of megabytes whatever
# claims an application puts into its tokens.
MAX_CACHED_TOKEN_LENGTH = 4096
MAX_CACHED_NESTED_VALUES = 256
_INFINITY = float("inf")
_MINUS_INFINITY = -_INFINITY


class TokenManager:
    """Issues and verifies JWTs: one keyring, one claims policy, one clock.

    Verification is synchronous and pure CPU work. Every call checks, in order: the token's
    shape and size, its header, the key by `kid` (the key's algorithm, never the header's), the
    signature, the token type, every registered claim, and revocation.

    Args:
        keyring: the keys; replace :attr:`keyring` to rotate.
        issuer: `iss` of issued tokens, and the exact `iss` required of verified ones.
        audience: `aud` of issued tokens, and the audience verification requires.
        ttl: default lifetime of issued tokens, in seconds.
        leeway: tolerated clock skew, in seconds, on `exp`, `nbf` and `iat`.
        clock: the time source (``time.time``); inject a :class:`jwtauth.testing.FrozenClock`.
        revocations: the revocation view consulted on every verification.
        cache_size: how many verified tokens to remember (``0`` disables the cache).
        jws: the JWS codec, to change size limits.
    """

    def __init__(
        self,
        keyring: KeyRing,
        *,
        issuer: str,
        audience: str | None,
        ttl: int = 300,
        leeway: float = 0.0,
        clock: Clock = time.time,
        revocations: RevocationView | None = None,
        cache_size: int = 4096,
        jws: JWS | None = None,
    ) -> None:
        self._cache = VerifiedTokenCache(cache_size)
        self._keyring = keyring
        self.clock = clock
        self.policy = ClaimsPolicy(issuer=issuer, audience=audience, leeway=leeway)
        self.factory = PayloadFactory(issuer=issuer, audience=audience, ttl=ttl, clock=clock)
        self.revocations = revocations
        self.jws = jws if jws is not None else JWS()

    @property
    def keyring(self) -> KeyRing:
        """The current keyring; assign a new one to rotate."""
        return self._keyring

    @keyring.setter
    def keyring(self, keyring: KeyRing) -> None:
        # No flush: a cache hit re-resolves its `kid` and accepts only the very key object that
        # verified it, so tokens of retired keys re-verify (and fail) while the rest stay cached.
        self._keyring = keyring

    @property
    def policy(self) -> ClaimsPolicy:
        """The claims policy; assigning a new one forgets every cached verification."""
        return self._policy

    @policy.setter
    def policy(self, policy: ClaimsPolicy) -> None:
        self._policy = policy
        self._cache.clear()

    @property
    def jws(self) -> JWS:
        """The JWS codec; assigning a new one (other limits) forgets every cached verification."""
        return self._jws

    @jws.setter
    def jws(self, jws: JWS) -> None:
        self._jws = jws
        self._cache.clear()

    def issue(
        self,
        subject: str,
        *,
        token_type: TokenType = ACCESS,
        ttl: int | None = None,
        claims: Mapping[str, Any] | None = None,
    ) -> str:
        """Sign a new token of ``token_type`` for ``subject`` with the keyring's signing key."""
        payload = self.factory.make(subject, ttl=ttl, claims=claims)
        return self._jws.sign(json_dumps(payload), self._keyring.signing_key, typ=token_type.typ)

    def verify(self, token: str, *, token_type: TokenType = ACCESS) -> Claims:
        """Verify ``token`` as a ``token_type`` and return its claims, read-only all the way down.

        Raises:
            TokenError: a subclass naming the first check that failed.
        """
        if type(token) is not str:
            raise MalformedTokenError("The token must be a string.")
        now = self.clock()
        cached = self._cache.get(token)
        if cached is None:
            return self._verify(token, token_type, now)
        if cached.typ != token_type.typ:
            raise TokenTypeError(f"The token is not an {token_type.name} token.")
        if now >= cached.expires_at:
            self._cache.discard(token)
            raise ExpiredTokenError(claim="exp")
        if now < cached.not_before or self._keyring.find(cached.kid) is not cached.key:
            # The clock stepped back, or the kid no longer resolves to the key that verified the
            # token (retired, replaced, kidless switched off): decide afresh.
            self._cache.discard(token)
            return self._verify(token, token_type, now)
        if self.revocations is not None and self.revocations.is_revoked(cached.claims):
            raise RevokedTokenError()
        return cached.claims

    def _verify(self, token: str, token_type: TokenType, now: float) -> Claims:
        verified = self._jws.verify(token, self._keyring)
        if not token_type.matches(verified.header.typ):
            raise TokenTypeError(f"The token is not an {token_type.name} token.")
        try:
            claims = json_loads_object(verified.payload)
        except ValueError:
            raise MalformedTokenError("The token's payload is not a JSON object.") from None
        self._policy.validate(claims, now)
        frozen, nested = freeze_claims(claims)
        if self.revocations is not None and self.revocations.is_revoked(frozen):
            raise RevokedTokenError()
        if (
            self._cache.max_entries
            and len(token) <= MAX_CACHED_TOKEN_LENGTH
            and nested <= MAX_CACHED_NESTED_VALUES
        ):
            self._cache.put(token, self._entry(frozen, verified.header, verified.key))
        return frozen

    def _entry(self, claims: Claims, header: Header, key: Key) -> CachedToken:
        policy = self._policy
        expires_at = claims.get("exp", _INFINITY) + policy.leeway
        if policy.max_age is not None:
            expires_at = min(expires_at, claims["iat"] + policy.max_age + policy.leeway)
        not_before = max(claims.get("nbf", _MINUS_INFINITY), claims.get("iat", _MINUS_INFINITY))
        typ = header.typ or ""
        return CachedToken(claims, typ, header.kid, key, not_before - policy.leeway, expires_at)
