"""Token fingerprints (OWASP's "token sidecar"): bind a token to a cookie a script cannot read.

At login the server draws a random value, sends it in an ``HttpOnly; Secure; SameSite=Strict``
cookie and puts its SHA-256 in the token (claim ``fgp``). A token that carries ``fgp`` is then
accepted only together with the matching cookie, so a token lifted by XSS or from a log is
useless on another client. Tokens without ``fgp`` are unaffected.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from jwtauth.errors import FingerprintError
from jwtauth.types import Claims

__all__ = [
    "FINGERPRINT_CLAIM",
    "check_fingerprint",
    "fingerprint_hash",
    "fingerprint_matches",
    "new_fingerprint",
]

FINGERPRINT_CLAIM = "fgp"
"""The claim holding the hex SHA-256 of the fingerprint cookie's value."""


def new_fingerprint() -> str:
    """A fresh fingerprint: 256 random bits, URL-safe (a cookie value)."""
    return secrets.token_urlsafe(32)


def fingerprint_hash(value: str) -> str:
    """The hex SHA-256 of a fingerprint, as the token and the session store it."""
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def fingerprint_matches(expected_hash: str, presented: str | None) -> bool:
    """True when ``presented`` hashes to ``expected_hash`` (compared in constant time)."""
    if presented is None:
        return False
    return hmac.compare_digest(fingerprint_hash(presented), expected_hash)


def check_fingerprint(claims: Claims, presented: str | None) -> None:
    """Refuse a fingerprinted token presented without its cookie.

    Raises:
        FingerprintError: the token carries ``fgp`` and ``presented`` does not match it.
    """
    expected = claims.get(FINGERPRINT_CLAIM)
    if expected is None:
        return
    if not isinstance(expected, str) or not fingerprint_matches(expected, presented):
        raise FingerprintError()
