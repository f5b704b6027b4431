"""The in-process revocation store: one process, nothing shared.

It is the default for a single-process server and for tests, and it is the local state of the
shared stores: a Redis store is a memory store that Redis keeps current.
"""

from __future__ import annotations

import math
import time

from jwtauth.revocation import RevocationList
from jwtauth.types import Clock

__all__ = ["DEFAULT_MAX_TOKEN_LIFETIME", "MemoryRevocationStore"]

DEFAULT_MAX_TOKEN_LIFETIME = 30 * 24 * 3600.0
"""Thirty days: no token a store revokes may live longer than this (see ``max_token_lifetime``)."""

_PURGE_INTERVAL = 60.0  # seconds between sweeps; dead entries are also dropped on lookup


class MemoryRevocationStore:
    """Revocations held in this process only; implements :class:`jwtauth.types.RevocationStore`.

    Args:
        clock: the time source; entries are dropped once the token would have expired anyway.
        retention: seconds an entry outlives the token's `exp` (at least the verifier's leeway).
        max_token_lifetime: the longest lifetime of any token revoked here. Entries never live
            longer than this from the moment they are written, and subject cut-offs are
            forgotten this long after they take effect, so memory stays bounded whatever
            expiry a caller passes. Must be at least the longest access-token (or session)
            lifetime the issuer grants, or a revocation would lapse early.
    """

    __slots__ = ("_clock", "_list", "_max_token_lifetime", "_next_purge")

    def __init__(
        self,
        clock: Clock = time.time,
        retention: float = 300.0,
        *,
        max_token_lifetime: float = DEFAULT_MAX_TOKEN_LIFETIME,
    ) -> None:
        if retention < 0 or max_token_lifetime <= 0:
            raise ValueError("retention must be >= 0 and max_token_lifetime > 0")
        self._clock = clock
        self._max_token_lifetime = max_token_lifetime
        self._list = RevocationList(
            clock, retention=retention, max_token_lifetime=max_token_lifetime
        )
        self._next_purge = clock() + _PURGE_INTERVAL

    @property
    def view(self) -> RevocationList:
        """The list verification consults; always current, since it is the store itself."""
        return self._list

    @property
    def local(self) -> MemoryRevocationStore:
        """This process's entries: the store itself (what a durable store loads rows into)."""
        return self

    async def revoke_token(self, issuer: str, jti: str, expires_at: float) -> None:
        """Revoke one access token until its expiry."""
        self._list.revoke(issuer, jti, self._bounded(expires_at))
        self._maybe_purge()

    async def revoke_session(self, issuer: str, session_id: str, expires_at: float) -> None:
        """Revoke every access token carrying `sid` = ``session_id`` until ``expires_at``."""
        self._list.revoke_session(issuer, session_id, self._bounded(expires_at))
        self._maybe_purge()

    async def revoke_subject(self, issuer: str, subject: str, before: float) -> None:
        """Revoke every token of ``subject`` issued before ``before`` (logout-all)."""
        self._list.revoke_subject(issuer, subject, _finite(before))
        self._maybe_purge()

    async def revoke_all(self, before: float) -> None:
        """Revoke every token issued before ``before`` (`jwtauth revoke-all`); never moves back."""
        self._list.revoke_all(_finite(before))

    async def ping(self) -> bool:
        """Always True: process memory is always there."""
        return True

    def purge(self) -> int:
        """Drop every entry whose token is dead anyway; return how many went.

        Writes call it at most once a minute on their own; a shared store also calls it from
        its background task, so an idle process shrinks too.
        """
        self._next_purge = self._clock() + _PURGE_INTERVAL
        return self._list.purge()

    def _bounded(self, expires_at: float) -> float:
        # No token outlives max_token_lifetime from now, so an entry need not either; the cap
        # keeps a bogus far-future expiry from pinning memory for ever.
        return min(_finite(expires_at), self._clock() + self._max_token_lifetime)

    def _maybe_purge(self) -> None:
        if self._clock() >= self._next_purge:
            self.purge()


def _finite(instant: float) -> float:
    # NaN compares false with everything, so a NaN expiry would never be purged (and a NaN
    # cut-off would never revoke): refuse it rather than keep it for ever.
    if not math.isfinite(instant):
        raise ValueError(f"a revocation needs a finite time, not {instant!r}")
    return float(instant)
