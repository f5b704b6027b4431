"""The token manager (jwt-auth's `Manager`): issues and verifies tokens with one keyring."""

from __future__ import annotations

import time
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from jwtauth.errors import ExpiredTokenError, MalformedTokenError, RevokedTokenError, TokenTypeError
from jwtauth.keys.keyring import KeyRing
from jwtauth.tokens.cache import CachedToken, VerifiedTokenCache
from jwtauth.tokens.claims import ClaimsPolicy
from jwtauth.tokens.encoding import json_dumps, json_loads_object
from jwtauth.tokens.factory import PayloadFactory
from jwtauth.tokens.jws import JWS
from jwtauth.tokens.token_type import ACCESS, TokenType
from jwtauth.types import Claims, Clock, RevocationView

__all__ = ["TokenManager"]


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
        self._keyring = keyring
        self.clock = clock
        self.policy = ClaimsPolicy(issuer=issuer, audience=audience, leeway=leeway)
        self.factory = PayloadFactory(issuer=issuer, audience=audience, ttl=ttl, clock=clock)
        self.revocations = revocations
        self.jws = jws if jws is not None else JWS()
        self._cache = VerifiedTokenCache(cache_size)

    @property
    def keyring(self) -> KeyRing:
        """The current keyring."""
        return self._keyring

    @keyring.setter
    def keyring(self, keyring: KeyRing) -> None:
        # Entries verified by a key that is no longer held fail `holds` on their next hit; no
        # flush is needed, and tokens of keys still held keep their cached verification.
        self._keyring = keyring

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
        return self.jws.sign(json_dumps(payload), self._keyring.signing_key, typ=token_type.typ)

    def verify(self, token: str, *, token_type: TokenType = ACCESS) -> Claims:
        """Verify ``token`` as a ``token_type`` and return its read-only claims.

        Raises:
            TokenError: a subclass naming the first check that failed.
        """
        if type(token) is not str:
            raise MalformedTokenError("The token must be a string.")
        now = self.clock()
        cached = self._cache.get(token)
        if cached is not None:
            return self._recheck(token, cached, token_type, now)
        verified = self.jws.verify(token, self._keyring)
        if not token_type.matches(verified.header.typ):
            raise TokenTypeError(f"The token is not an {token_type.name} token.")
        try:
            claims = json_loads_object(verified.payload)
        except ValueError:
            raise MalformedTokenError("The token's payload is not a JSON object.") from None
        self.policy.validate(claims, now)
        frozen = MappingProxyType(claims)
        if self.revocations is not None and self.revocations.is_revoked(frozen):
            raise RevokedTokenError()
        expires_at = claims.get("exp", float("inf")) + self.policy.leeway
        if self.policy.max_age is not None:
            expires_at = min(expires_at, claims["iat"] + self.policy.max_age + self.policy.leeway)
        self._cache.put(token, CachedToken(frozen, token_type, verified.key, expires_at))
        return frozen

    def _recheck(
        self, token: str, cached: CachedToken, token_type: TokenType, now: float
    ) -> Claims:
        if cached.token_type.typ != token_type.typ:
            raise TokenTypeError(f"The token is not an {token_type.name} token.")
        if now >= cached.expires_at:
            self._cache.discard(token)
            raise ExpiredTokenError(claim="exp")
        if not self._keyring.holds(cached.key):
            # The key was retired since: verify from scratch, which will refuse the token.
            self._cache.discard(token)
            return self.verify(token, token_type=token_type)
        if self.revocations is not None and self.revocations.is_revoked(cached.claims):
            raise RevokedTokenError()
        return cached.claims
