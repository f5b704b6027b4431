"""The payload factory (jwt-auth's `PayloadFactory`): registered claims plus custom ones."""

from __future__ import annotations

import math
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from jwtauth.tokens.claims import REGISTERED_CLAIMS
from jwtauth.types import Clock

__all__ = ["PayloadFactory"]


def _new_jti() -> str:
    return secrets.token_urlsafe(16)


@dataclass(frozen=True, slots=True)
class PayloadFactory:
    """Builds claims sets with `iss`, `aud`, `sub`, `iat`, `nbf`, `exp`, `jti` and custom claims.

    Args:
        issuer: the `iss` of every token.
        audience: the `aud` of every token (a string, or a list for several audiences).
        ttl: default lifetime in seconds (`exp` - `iat`).
        clock: the time source, injectable for tests.
        jti: generator of unique token ids (128 random bits by default).
    """

    issuer: str
    audience: str | list[str] | None
    ttl: int = 300
    clock: Clock = field(default=time.time)
    jti: Any = field(default=_new_jti)

    def make(
        self, subject: str, *, ttl: int | None = None, claims: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Return a new claims set for ``subject``.

        Registered claims are the factory's to set: passing one in ``claims`` raises
        ``ValueError`` rather than silently letting a caller extend `exp` or change `iss`.
        """
        if not isinstance(subject, str) or not subject:
            raise ValueError("the subject must be a non-empty string")
        lifetime = self.ttl if ttl is None else ttl
        if lifetime <= 0:
            raise ValueError("the token lifetime must be positive")
        now = self.clock()
        second = int(now)
        # `iat` keeps milliseconds (RFC 7519 NumericDates may be fractional) so that a per-user
        # or global cut-off ("every token issued before T") never also catches a token issued
        # later in the same second; `nbf` and `exp` stay whole seconds.
        issued_at = math.floor(now * 1000) / 1000
        payload: dict[str, Any] = {"iss": self.issuer}
        if self.audience is not None:
            payload["aud"] = self.audience
        payload.update(
            sub=subject, iat=issued_at, nbf=second, exp=second + lifetime, jti=self.jti()
        )
        if claims:
            clash = REGISTERED_CLAIMS & claims.keys()
            if clash:
                raise ValueError(f"registered claims cannot be overridden: {sorted(clash)}")
            payload.update(claims)
        return payload
