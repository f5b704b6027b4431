"""An in-memory revocation list (the jwt-auth blacklist): by `jti`, by session (`sid`), by
subject, or everything.

It is the default store and the local view that shared stores keep current. Entries are keyed by
issuer and `jti`, never by the token string (a re-encoded token would escape), and each entry
lives only as long as the token it revokes could.

A list kept current by a shared store can fall behind it (Redis down, the database unread):
such a store installs a :class:`Freshness` gate on the list, and while the gate cannot vouch
for the list verification raises :class:`~jwtauth.errors.RevocationsUnavailableError` (a 503)
instead of answering from a list that may miss a revocation (fail closed, issue 14).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Any

from jwtauth.errors import RevocationsUnavailableError
from jwtauth.types import Claims, Clock

__all__ = ["Freshness", "RevocationList"]

_log = logging.getLogger("jwtauth.revocation")


class Freshness:
    """When a revocation list may be trusted: until a deadline, pushed forward by its feeds.

    A feed vouches for the list in two ways. :meth:`confirm` is called after each successful
    read of the source of truth (a database poll) and trusts the list for that long; ``live``,
    asked only once the deadline has passed, says whether a push feed is up and in sync (the
    Redis subscription), and trusts the list for ``max_staleness`` more each time it says so.
    The check on every verification is one clock read and one float compare: no I/O, no lock.

    Args:
        live: True while a push feed misses nothing (read-only, no I/O); ``None``: none.
        max_staleness: seconds the list stays trusted after ``live`` last said so.
        fail_open: answer from a stale list anyway (logged once per stale spell) instead of
            raising; a deployment's explicit choice of availability over revocation.
        retry_after: the ``Retry-After`` seconds of the refusal (the next read's interval).
        clock: a monotonic time source (injected by tests).
    """

    __slots__ = (
        "_clock", "_deadline", "_live", "_stale", "fail_open", "max_staleness", "retry_after",
    )  # fmt: skip

    def __init__(
        self,
        live: Callable[[], bool] | None = None,
        *,
        max_staleness: float = 1.0,
        fail_open: bool = False,
        retry_after: float = 1.0,
        clock: Clock = time.monotonic,
    ) -> None:
        if not max_staleness >= 0:  # NaN too
            raise ValueError("max_staleness must be >= 0")
        self._live = live
        self._clock = clock
        self._deadline = -math.inf
        self._stale = False
        self.max_staleness = max_staleness
        self.fail_open = fail_open
        self.retry_after = max(1, math.ceil(retry_after))

    def confirm(self, trusted_for: float) -> None:
        """The source of truth was read just now: trust the list ``trusted_for`` seconds."""
        self._deadline = max(self._deadline, self._clock() + trusted_for)
        self._recovered()

    @property
    def fresh(self) -> bool:
        """True while the list is trusted (readiness reads it)."""
        now = self._clock()
        if now < self._deadline:
            return True
        if self._live is not None and self._live():
            self._deadline = now + self.max_staleness
            self._recovered()
            return True
        return False

    def _recovered(self) -> None:
        if self._stale:
            self._stale = False
            _log.warning("revocations: the revocation list is current again")

    def check(self) -> None:
        """Return if the list may be trusted (or ``fail_open``); else raise.

        Raises:
            RevocationsUnavailableError: the list may miss revocations.
        """
        if self._clock() < self._deadline or self.fresh:  # the hot path: one compare
            return
        if not self._stale:
            # Once per stale spell, not per request: the log must not grow with the traffic.
            self._stale = True
            _log.warning(
                "revocations: the revocation list may be stale (no live feed, no recent "
                "database read); %s",
                "answering from it anyway (fail open)" if self.fail_open else "refusing with 503",
            )
        if not self.fail_open:
            raise RevocationsUnavailableError(retry_after=self.retry_after)


class RevocationList:
    """Revoked tokens held in process memory; implements :class:`jwtauth.types.RevocationView`.

    Args:
        clock: the time source used to drop entries once the token would have expired anyway.
        retention: seconds an entry outlives the token's `exp`, so that a verifier's clock-skew
            leeway (at most 300 s in settings) can never revive a revoked token.
        max_token_lifetime: if set, the longest lifetime of any token revoked here; a subject
            cut-off is forgotten once every token issued before it has expired, so memory stays
            bounded in a long-lived process. ``None`` keeps cut-offs for the process's life.
    """

    __slots__ = (
        "_clock", "_global_before", "_jtis", "_retention", "_sessions", "_subject_horizon",
        "_subjects", "freshness",
    )  # fmt: skip

    def __init__(
        self,
        clock: Clock = time.time,
        *,
        retention: float = 300.0,
        max_token_lifetime: float | None = None,
    ) -> None:
        self._clock = clock
        self._retention = retention
        self._subject_horizon = (
            None if max_token_lifetime is None else max_token_lifetime + retention
        )
        self._jtis: dict[tuple[str, str], float] = {}
        self._sessions: dict[tuple[str, str], float] = {}
        self._subjects: dict[tuple[str, str], float] = {}
        self._global_before: float | None = None
        self.freshness: Freshness | None = None
        """The gate a shared store installs while it keeps this list current; ``None``: the
        list is the whole truth (this process's own revocations), always fresh."""

    def revoke(self, issuer: str, jti: str, expires_at: float) -> None:
        """Revoke one token until ``expires_at`` (its `exp`), after which it is dead anyway."""
        if not jti:
            raise ValueError("a token is revoked by its jti, which must not be empty")
        self._jtis[(issuer, jti)] = expires_at + self._retention

    def revoke_session(self, issuer: str, session_id: str, expires_at: float) -> None:
        """Revoke every token whose `sid` is ``session_id``, until ``expires_at`` (the latest
        `exp` any of them can have)."""
        if not session_id:
            raise ValueError("a session is revoked by its id, which must not be empty")
        key = (issuer, session_id)
        self._sessions[key] = max(expires_at + self._retention, self._sessions.get(key, 0.0))

    def revoke_subject(self, issuer: str, subject: str, before: float) -> None:
        """Revoke every token of ``subject`` issued before ``before`` (logout-all): one write."""
        key = (issuer, subject)
        self._subjects[key] = max(before, self._subjects.get(key, before))

    def revoke_all(self, before: float) -> None:
        """Revoke every token issued before ``before`` (the emergency switch)."""
        self._global_before = max(before, self._global_before or before)

    def is_revoked(self, claims: Claims) -> bool:
        """True when the token is revoked by `jti`, by its subject's cut-off or globally.

        Raises:
            RevocationsUnavailableError: the :attr:`freshness` gate cannot vouch for the list.
        """
        if self.freshness is not None:
            self.freshness.check()
        iat: Any = claims.get("iat", 0)
        if self._global_before is not None and iat < self._global_before:
            return True
        iss = claims.get("iss", "")
        cutoff = self._subjects.get((iss, claims.get("sub", "")))
        if cutoff is not None and iat < cutoff:
            return True
        sid = claims.get("sid")
        if sid is not None and self._live(self._sessions, (iss, sid)):
            return True
        return self._live(self._jtis, (iss, claims.get("jti", "")))

    def _live(self, entries: dict[tuple[str, str], float], key: tuple[str, Any]) -> bool:
        expires_at = entries.get(key)
        if expires_at is None:
            return False
        if expires_at <= self._clock():
            entries.pop(key, None)
            return False
        return True

    def purge(self) -> int:
        """Drop entries for tokens that have expired; return how many were dropped."""
        now = self._clock()
        dropped = 0
        for entries in (self._jtis, self._sessions):
            dead = [k for k, exp in entries.items() if exp <= now]
            for k in dead:
                entries.pop(k, None)
            dropped += len(dead)
        if self._subject_horizon is not None:
            # A cut-off matters only while a token issued before it can still be alive.
            oldest_alive = now - self._subject_horizon
            dead = [k for k, before in self._subjects.items() if before <= oldest_alive]
            for k in dead:
                self._subjects.pop(k, None)
            dropped += len(dead)
        return dropped
