"""TOTP (RFC 6238) and recovery codes: pure helpers over pyotp, the clock passed in.

The parameters are the ones every authenticator app accepts without asking: HMAC-SHA1, six
digits, 30-second steps, and a 160-bit secret (the HMAC-SHA1 key length RFC 4226 section 4
recommends). A code is accepted for the current step and one step either side (RFC 6238
section 5.2 allows that much drift); the caller spends the step it matched, so no code works
twice.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import urlsplit

import pyotp

__all__ = [
    "DIGITS",
    "DRIFT_STEPS",
    "RECOVERY_CODE_COUNT",
    "STEP_SECONDS",
    "hash_recovery_code",
    "issuer_name",
    "new_recovery_codes",
    "new_secret",
    "provisioning_uri",
    "verify_code",
]

DIGITS = 6
STEP_SECONDS = 30
DRIFT_STEPS = 1
RECOVERY_CODE_COUNT = 10
_SECRET_CHARS = 32  # base32: 5 bits each, 160 bits
_RECOVERY_BYTES = 10  # 80 bits
_BASE32 = "abcdefghijklmnopqrstuvwxyz234567"


def _totp(secret: str) -> pyotp.TOTP:
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)


def new_secret() -> str:
    """A new random TOTP secret: 160 bits as 32 base32 characters (pyotp draws from
    :mod:`secrets`)."""
    return pyotp.random_base32(length=_SECRET_CHARS)


def issuer_name(issuer: str) -> str:
    """What an authenticator app shows above the code: the host of an ``https://`` issuer,
    or the issuer itself when it is not a URL."""
    return urlsplit(issuer).hostname or issuer


def provisioning_uri(secret: str, account: str, issuer: str) -> str:
    """The ``otpauth://totp/<issuer>:<account>?secret=...&issuer=...`` URI (Google's Key URI
    format); a QR code of it is what an authenticator app scans."""
    return _totp(secret).provisioning_uri(name=account, issuer_name=issuer)


def verify_code(secret: str, code: str, now: float) -> int | None:
    """The time step ``code`` is valid for at ``now`` (within the drift window), or ``None``.

    The caller must spend the step (store it as the newest used) before accepting the code.
    """
    if len(code) != DIGITS or not code.isascii() or not code.isdigit():
        return None
    totp = _totp(secret)
    current = totp.timecode(now)
    matched = None
    # Every candidate is compared, in constant time each, so the time taken does not say which
    # step (if any) matched; the newest match wins.
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(code, totp.generate_otp(step)):
            matched = step
    return matched


def new_recovery_codes(count: int = RECOVERY_CODE_COUNT) -> list[str]:
    """``count`` single-use recovery codes of 80 random bits each, as ``xxxx-xxxx-xxxx-xxxx``
    (lower-case base32: no 0/O or 1/l to confuse when typed from paper)."""
    return [_format(secrets.token_bytes(_RECOVERY_BYTES)) for _ in range(count)]


def _format(raw: bytes) -> str:
    bits = int.from_bytes(raw, "big")
    chars = "".join(_BASE32[(bits >> shift) & 31] for shift in range(75, -1, -5))
    return "-".join(chars[i : i + 4] for i in range(0, 16, 4))


def hash_recovery_code(code: str) -> bytes:
    """SHA-256 of the code as typed, less separators and case: what the store keeps."""
    canonical = "".join(code.split()).replace("-", "").lower()
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).digest()
