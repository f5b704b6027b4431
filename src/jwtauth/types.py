"""Shared type aliases and the Protocols that pluggable parts implement."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol, runtime_checkable

__all__ = ["Claims", "Clock", "RevocationView"]

Claims = Mapping[str, Any]
"""A verified token's claims: read-only, because verified claims may be shared from a cache."""

Clock = Callable[[], float]
"""Returns the current time as seconds since the epoch; ``time.time`` in production."""


@runtime_checkable
class RevocationView(Protocol):
    """A synchronous, local answer to "has this token been revoked?".

    Verification asks it on every call, cached or not, so it must answer from memory; a shared
    store (Redis, SQL) keeps such a view current in the background rather than being queried per
    request.
    """

    def is_revoked(self, claims: Claims) -> bool:
        """True when the token with these (verified) claims must be refused."""
        ...
