"""Checks on HMAC secrets: shape (always enforced) and strength (enforced in production).

Shape: an HMAC key must be at least as long as the hash output (RFC 7518 section 3.2) and must
not be public-key material in any encoding, since a verifier that accepts a public key as an HMAC
secret lets anyone who has the public key forge tokens (CVE-2017-11424, CVE-2022-29217,
CVE-2024-33663).

Strength: a secret must carry at least 256 bits of estimated entropy, must not be a known
placeholder and must not be repetitive. The estimate is deliberately conservative and cheap: the
length times the bits per character of the smallest common alphabet that contains every
character (hex, base32, base64url, printable, binary).
"""

from __future__ import annotations

import math
import re
import string
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import zxcvbn

from jwtauth.keys.material import looks_like_public_key_material

__all__ = [
    "MIN_SECRET_BYTES",
    "PLACEHOLDERS",
    "SecretStrength",
    "assess_secret",
]

MIN_SECRET_BYTES = 32
MIN_ENTROPY_BITS = 256
# Below this many bits of zxcvbn guesses a secret looks typed by a person (see _pattern_bits).
MIN_PATTERN_BITS = 120
ZXCVBN_MAX_LENGTH = 72

# Values copied from tutorials, templates and .env.example files. Compared after lower-casing
# and removing everything but letters and digits.
# fmt: off
_PLACEHOLDER_PHRASES = (
        "secret", "changeme", "change-me", "change_this", "changethis", "your-generated-secret",
        "your-secret", "your_secret_key", "your-256-bit-secret", "your-jwt-secret", "jwt-secret",
        "jwt_secret_key", "supersecret", "super-secret-key", "mysecret", "my-secret-key",
        "secretkey", "secret_key", "password", "default", "example", "test", "testing",
        "development", "insecure", "replace-me", "todo", "xxx", "abc123", "qwerty", "letmein",
        "django-insecure", "notasecret", "s3cr3t",
)
# fmt: on
PLACEHOLDERS = frozenset(re.sub(r"[^a-z0-9]", "", p) for p in _PLACEHOLDER_PHRASES)

_ALPHABETS: tuple[tuple[frozenset[str], int], ...] = (
    (frozenset(string.digits), 10),
    (frozenset("0123456789abcdef"), 16),
    (frozenset("0123456789ABCDEF"), 16),
    (frozenset(string.ascii_lowercase), 26),
    (frozenset(string.ascii_uppercase), 26),
    (frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567="), 32),
    (frozenset(string.ascii_lowercase + string.digits), 36),
    (frozenset(string.ascii_letters + string.digits), 62),
    (frozenset(string.ascii_letters + string.digits + "-_"), 64),
    (frozenset(string.ascii_letters + string.digits + "+/="), 64),
    (frozenset(string.printable), 95),
)


@dataclass(frozen=True, slots=True)
class SecretStrength:
    """The outcome of :func:`assess_secret`: ``problems`` is empty when the secret is strong."""

    length: int
    entropy_bits: int
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return not self.problems

    @property
    def reason(self) -> str:
        """A one-line, secret-free explanation suitable for a start-up error."""
        return "; ".join(self.problems) if self.problems else "strong"


def _alphabet_bits(text: str) -> float:
    chars = set(text)
    for alphabet, size in _ALPHABETS:
        if chars <= alphabet:
            return math.log2(size)
    return 8.0


def _entropy_bits(secret: bytes) -> int:
    try:
        text = secret.decode("utf-8")
    except UnicodeDecodeError:
        return len(secret) * 8
    if not text.isascii():
        # Per code point, not per byte: "ÀÁÂÃ..." is not 16 random bits per letter.
        return len(text) * 8
    return int(len(text) * _alphabet_bits(text))


def _pattern_bits(secret: bytes) -> float | None:
    """zxcvbn's estimate of how many guesses the secret's first 72 characters take, in bits.

    zxcvbn models what people type: words, names, sequences, keyboard runs, dates. A random
    secret scores high (a random 43-character base64url string: 132 bits at the lowest in
    10,000 draws); "my-jwt-secret-key-for-production-app-2024!" scores 108.
    """
    try:
        text = secret.decode("utf-8")
    except UnicodeDecodeError:
        return None  # binary: not something a person typed
    estimate: Callable[..., dict[str, Any]] = zxcvbn.zxcvbn
    result = estimate(text[:ZXCVBN_MAX_LENGTH], max_length=ZXCVBN_MAX_LENGTH)
    return float(result["guesses_log10"]) * math.log2(10)


def assess_secret(secret: bytes) -> SecretStrength:
    """Assess an HMAC secret without ever including it in the result."""
    problems: list[str] = []
    normalized = re.sub(rb"[^a-z0-9]", b"", secret.lower()).decode("ascii", "replace")
    entropy = _entropy_bits(secret)
    if not secret:
        problems.append("the secret is empty")
    elif looks_like_public_key_material(secret):
        problems.append(
            "the secret is key material (a public or private key, an EC point, an RSA modulus),"
            " not an HMAC secret; if it is random, draw another"
        )
    elif normalized in PLACEHOLDERS or any(
        # Mostly made of a placeholder: "changeme-changeme-...", "your-256-bit-secret-123".
        p in normalized and len(normalized.replace(p, "")) * 2 < len(normalized)
        for p in PLACEHOLDERS
        if len(p) >= 6
    ):
        problems.append("the secret is a well-known placeholder value")
    elif len(set(secret)) == 1:
        problems.append("the secret is one repeated character")
    elif len(set(secret)) < 10:
        problems.append(f"the secret uses only {len(set(secret))} distinct characters")
    elif len(zlib.compress(secret, 9)) < len(secret) * 0.6:
        problems.append("the secret is repetitive (it compresses well)")
    if secret and len(secret) < MIN_SECRET_BYTES:
        problems.append(f"the secret is {len(secret)} bytes; at least {MIN_SECRET_BYTES} required")
    elif secret and entropy < MIN_ENTROPY_BITS:
        problems.append(
            f"the secret has about {entropy} bits of entropy; at least {MIN_ENTROPY_BITS} required"
        )
    # The costliest check (about 10 ms) last, and only for a secret nothing else refused.
    if not problems and (_pattern_bits(secret) or math.inf) < MIN_PATTERN_BITS:
        problems.append("the secret follows a guessable pattern (words, sequences, keyboard runs)")
    return SecretStrength(length=len(secret), entropy_bits=entropy, problems=tuple(problems))
