"""Validation of registered claims (RFC 7519 section 4.1), separate from signature checks."""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from jwtauth.errors import (
    AudienceError,
    ClaimError,
    ExpiredTokenError,
    ImmatureTokenError,
    IssuerError,
    MissingClaimError,
)
from jwtauth.types import Claims

__all__ = ["REGISTERED_CLAIMS", "ClaimsPolicy", "FrozenList", "freeze_claims"]

REGISTERED_CLAIMS = frozenset({"iss", "sub", "aud", "exp", "nbf", "iat", "jti"})


_ABSENT: Any = object()


def _numeric_date(claims: dict[str, Any], name: str) -> float | None:
    value = claims.get(name, _ABSENT)
    if value is _ABSENT:
        return None
    # bool is an int in Python; `"exp": true` is not a date, and `"exp": null` is not absent.
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    raise ClaimError(f"The {name} claim must be a NumericDate.", claim=name)


def _string(claims: dict[str, Any], name: str) -> str | None:
    value = claims.get(name, _ABSENT)
    if value is _ABSENT:
        return None
    if isinstance(value, str):
        return value
    raise ClaimError(f"The {name} claim must be a string.", claim=name)


@dataclass(frozen=True, slots=True)
class ClaimsPolicy:
    """What a verifier expects of a token's registered claims.

    Args:
        issuer: the exact `iss` required (compared as a whole string, never a substring).
        audience: the audience this verifier identifies as; when ``None``, a token carrying
            `aud` is refused (RFC 7519 section 4.1.3).
        leeway: seconds of clock skew tolerated on `exp`, `nbf` and `iat`.
        required: claims that must be present.
        max_age: if set, tokens whose `iat` is older than this many seconds are expired.
    """

    issuer: str | None
    audience: str | None
    leeway: float = 0.0
    required: frozenset[str] = frozenset({"iss", "sub", "exp", "iat", "jti"})
    max_age: float | None = None

    def __post_init__(self) -> None:
        if self.leeway < 0:
            raise ValueError("leeway must not be negative")

    def validate(self, claims: dict[str, Any], now: float) -> None:
        """Check every registered claim; raise a :class:`ClaimError` subclass on the first fault."""
        missing = self.required.difference(claims)
        if missing:
            name = min(missing)
            raise MissingClaimError(f"The token lacks the {name} claim.", claim=name)
        self._check_times(
            _numeric_date(claims, "exp"),
            _numeric_date(claims, "nbf"),
            _numeric_date(claims, "iat"),
            now,
        )
        self.validate_iss(claims)
        self.validate_aud(claims)
        if not isinstance(claims.get("sub", ""), str):
            raise ClaimError("The sub claim must be a string.", claim="sub")
        if not isinstance(claims.get("jti", ""), str):
            raise ClaimError("The jti claim must be a string.", claim="jti")

    def _check_times(
        self, exp: float | None, nbf: float | None, iat: float | None, now: float
    ) -> None:
        # One place for the three time rules; validate() passes all three, the per-claim
        # validate_* methods pass one each.
        leeway = self.leeway
        if exp is not None and now >= exp + leeway:
            raise ExpiredTokenError(claim="exp")
        if nbf is not None and now + leeway < nbf:
            raise ImmatureTokenError(claim="nbf")
        if iat is not None:
            if now + leeway < iat:
                raise ImmatureTokenError("The token was issued in the future.", claim="iat")
            if self.max_age is not None and now - leeway >= iat + self.max_age:
                raise ExpiredTokenError(claim="iat")

    def validate_exp(self, claims: dict[str, Any], now: float) -> None:
        """RFC 7519 4.1.4: the current time must be before `exp` (plus leeway)."""
        self._check_times(_numeric_date(claims, "exp"), None, None, now)

    def validate_nbf(self, claims: dict[str, Any], now: float) -> None:
        """RFC 7519 4.1.5: the current time must be at or after `nbf` (minus leeway)."""
        self._check_times(None, _numeric_date(claims, "nbf"), None, now)

    def validate_iat(self, claims: dict[str, Any], now: float) -> None:
        """RFC 7519 4.1.6: a token issued in the future is refused; `max_age` bounds its age."""
        self._check_times(None, None, _numeric_date(claims, "iat"), now)

    def validate_iss(self, claims: dict[str, Any]) -> None:
        """RFC 7519 4.1.1: `iss` must equal the expected issuer exactly (CVE-2024-53861)."""
        iss = _string(claims, "iss")
        if self.issuer is not None and iss != self.issuer:
            raise IssuerError(claim="iss")

    def validate_aud(self, claims: dict[str, Any]) -> None:
        """RFC 7519 4.1.3: our audience must be `aud` or one of its elements."""
        aud = claims.get("aud", _ABSENT)
        if aud is _ABSENT:
            if self.audience is not None:
                raise MissingClaimError("The token lacks the aud claim.", claim="aud")
            return
        if isinstance(aud, str):
            if aud != self.audience:
                raise AudienceError(claim="aud")
            return
        if not isinstance(aud, list) or not all(isinstance(a, str) for a in aud):
            raise ClaimError("The aud claim must be a string or a list of strings.", claim="aud")
        if self.audience is None or self.audience not in aud:
            raise AudienceError(claim="aud")


class FrozenList(list[Any]):
    """A JSON array from a verified token: still a ``list`` (it compares equal to one and
    serializes as one) but every mutating method raises ``TypeError``."""

    __slots__ = ()

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("verified claims are read-only; copy them with list(...) to change them")

    append = extend = insert = remove = pop = clear = sort = reverse = _refuse
    __setitem__ = __delitem__ = __iadd__ = __imul__ = _refuse

    def copy(self) -> list[Any]:
        return list(self)


def _freeze(value: Any, count: list[int]) -> Any:
    count[0] += 1
    if type(value) is dict:
        return MappingProxyType({k: _freeze(v, count) for k, v in value.items()})
    if type(value) is list:
        return FrozenList(_freeze(v, count) for v in value)
    return value


def freeze_claims(claims: dict[str, Any]) -> tuple[Claims, int]:
    """Make ``claims`` read-only all the way down (objects become read-only mappings, arrays
    :class:`FrozenList`) and count the values nested in them, a measure of what caching them
    would cost."""
    nested = 0
    for name, value in claims.items():
        if type(value) is list or type(value) is dict:
            count = [0]
            claims[name] = _freeze(value, count)  # replacing a value keeps the dict's size
            nested += count[0]
    return MappingProxyType(claims), nested
