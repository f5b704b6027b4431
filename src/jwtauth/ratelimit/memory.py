"""The in-process rate limiter: the default for one process, and the test double."""

from __future__ import annotations

import math
import time
from types import TracebackType
from typing import Self

from jwtauth.ratelimit.gcra import Params, State, step
from jwtauth.ratelimit.policy import RateDecision, RatePolicy, hash_key
from jwtauth.types import Clock

__all__ = ["MemoryRateLimiter"]

_PRUNE_EVERY = 1024  # writes between sweeps of expired entries


class MemoryRateLimiter:
    """Rate limits held in this process; implements :class:`~jwtauth.ratelimit.RateLimiter`.

    Each decision runs without an ``await`` between reading and writing the state, so on one
    event loop it is atomic. Nothing is shared with other processes: run one server process,
    or use :class:`jwtauth.ratelimit.redis.RedisRateLimiter`.

    Memory is bounded: an entry is dropped once it is equivalent to no entry (full bucket, no
    strike left), and beyond ``max_entries`` the least recently written go first. Evicting a
    key forgets its use, so the bound must exceed the keys active within a penalty's life;
    per-IP policies cap how fast one client can create per-account keys.

    Args:
        clock: the time source, seconds since the epoch (a ``FrozenClock`` in tests).
        max_entries: the most (policy, key) states kept.
        key_secret: makes stored keys HMACs rather than plain hashes (see :func:`hash_key`).
    """

    __slots__ = ("_clock", "_entries", "_key_secret", "_max_entries", "_writes")

    def __init__(
        self,
        clock: Clock = time.time,
        *,
        max_entries: int = 100_000,
        key_secret: bytes | None = None,
    ) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._clock = clock
        self._max_entries = max_entries
        self._key_secret = key_secret
        # Insertion order is write order (an entry is re-inserted on every write), which makes
        # the oldest entry the least recently written one to evict.
        self._entries: dict[str, tuple[State, int]] = {}
        self._writes = 0

    def __len__(self) -> int:
        """How many (policy, key) states are held."""
        return len(self._entries)

    async def hit(self, policy: RatePolicy, key: str) -> RateDecision:
        """Count one hit of ``key`` against ``policy`` and decide."""
        return self._decide(policy, key, consume=True)

    async def peek(self, policy: RatePolicy, key: str) -> RateDecision:
        """Decide as :meth:`hit` would, without counting anything."""
        return self._decide(policy, key, consume=False)

    async def reset(self, policy: RatePolicy, key: str) -> None:
        """Forget ``key``'s quota use and strikes under ``policy``."""
        self._entries.pop(self._slot(policy, key), None)

    async def close(self) -> None:
        """Nothing to release; present so every limiter closes alike."""

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def _slot(self, policy: RatePolicy, key: str) -> str:
        return f"{policy.name}:{hash_key(key, self._key_secret)}"

    def _decide(self, policy: RatePolicy, key: str, *, consume: bool) -> RateDecision:
        now = math.floor(self._clock() * 1000)
        params = Params.of(policy)
        slot = self._slot(policy, key)
        entry = self._entries.get(slot)
        state = entry[0] if entry is not None and entry[1] > now else None
        new, outcome = step(state, now, params, consume=consume)
        if new is not state and new is not None:
            self._store(slot, new, new.expires_at(params), now)
        return outcome.decision(policy)

    def _store(self, slot: str, state: State, expires_at: int, now: int) -> None:
        self._entries.pop(slot, None)
        self._entries[slot] = (state, expires_at)
        if len(self._entries) > self._max_entries:  # O(1): the least recently written goes
            del self._entries[next(iter(self._entries))]
        self._writes += 1
        if self._writes % _PRUNE_EVERY == 0:  # a sweep costs O(n), so only now and then
            self._prune(now)

    def _prune(self, now: int) -> None:
        for slot in [s for s, (_, expires_at) in self._entries.items() if expires_at <= now]:
            del self._entries[slot]
