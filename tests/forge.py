"""Hand-built tokens for tests that must not trust the encoder under test: stdlib only."""

from __future__ import annotations

import base64
import json
from typing import Any


def b64u(data: bytes) -> str:
    """Unpadded base64url, by the standard library."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def jseg(value: Any) -> str:
    """A JSON value as a compact base64url segment."""
    return b64u(json.dumps(value, separators=(",", ":")).encode())


def registered_claims(issuer: str, audience: str, now: int, **overrides: Any) -> dict[str, Any]:
    """Every registered claim a verifier requires, valid at ``now``, with ``overrides`` applied."""
    base: dict[str, Any] = {
        "iss": issuer,
        "aud": audience,
        "sub": "alice",
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "jti": "jti-1",
    }
    base.update(overrides)
    return base
