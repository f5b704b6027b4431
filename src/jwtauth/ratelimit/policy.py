"""Rate-limit policies, the decision a limiter returns for one hit, and the limiter Protocol."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Protocol

__all__ = [
    "DEFAULT_POLICIES",
    "Penalty",
    "RateDecision",
    "RateLimiter",
    "RatePolicy",
    "hash_key",
]

# A policy name goes verbatim into a Redis key and into a structured-field String in the
# RateLimit headers, so it is kept to characters that need no escaping in either place.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


@dataclass(frozen=True, slots=True)
class Penalty:
    """Progressive blocking of a key that keeps exceeding its policy.

    Each refusal by the rate (outside a block) is a *strike* and blocks the key for
    ``base * factor ** (strikes - 1)`` seconds, at most ``cap``. While blocked every hit is
    refused and does not add a strike, so hammering neither helps nor makes the block endless.
    After a block ends, each full ``decay`` seconds without a new strike forgets one strike.

    Args:
        base: seconds of the first block.
        factor: how much longer each further block is (2: doubling).
        cap: the longest block, seconds.
        decay: seconds of good behaviour, after a block ends, that forget one strike.
    """

    base: float = 60.0
    factor: float = 2.0
    cap: float = 900.0
    decay: float = 900.0

    def __post_init__(self) -> None:
        if not (self.base > 0 and self.factor >= 1 and self.cap >= self.base and self.decay > 0):
            raise ValueError("penalty needs base > 0, factor >= 1, cap >= base and decay > 0")


@dataclass(frozen=True, slots=True)
class RatePolicy:
    """A named quota: at most ``limit`` hits per ``period`` seconds per key, GCRA-paced.

    The GCRA (a token bucket of ``limit`` tokens refilling one every ``period / limit``
    seconds) allows a burst of ``limit`` and then one hit per ``period / limit``; it never
    lets ``2 * limit`` through around a window boundary as a fixed window does.

    Args:
        name: the policy's name in headers and Redis keys: letters, digits, ``.``, ``_``,
            ``-``; at most 64 characters.
        limit: the quota (burst size), at least 1.
        period: the window in whole seconds (``w`` of ``RateLimit-Policy``), at least 1.
        penalty: progressive blocking on repeated violations, or ``None`` for the rate alone.
    """

    name: str
    limit: int
    period: int
    penalty: Penalty | None = field(default_factory=Penalty)

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.name):
            raise ValueError("a policy name is 1-64 letters, digits, '.', '_' or '-'")
        if self.limit < 1 or self.period < 1:
            raise ValueError("a policy needs limit >= 1 and period >= 1 second")
        if self.limit > self.period * 1000:  # time is kept in milliseconds
            raise ValueError("a policy allows at most one hit per millisecond")


DEFAULT_POLICIES: Mapping[str, RatePolicy] = MappingProxyType(
    {
        policy.name: policy
        for policy in (
            RatePolicy("login-ip", 5, 60),  # key: address_key(client address)
            RatePolicy("login-account", 5, 60),  # key: the lower-cased account email
            RatePolicy("register-ip", 3, 60),  # key: address_key(client address)
            RatePolicy("refresh-user", 10, 60),  # key: the user id (live refresh tokens)
            RatePolicy("refresh-ip", 10, 60),  # key: address_key(...) (tokens that cannot refresh)
        )
    }
)
"""The policies of ``API.md``, by name; build your own :class:`RatePolicy` to tune them."""


@dataclass(frozen=True, slots=True)
class RateDecision:
    """The answer to one hit, with all a ``429`` and the rate-limit headers need.

    :func:`~jwtauth.ratelimit.rate_limit_headers` renders it as ``RateLimit``,
    ``RateLimit-Policy`` and ``Retry-After``.

    Attributes:
        allowed: the hit may proceed.
        policy: the policy that decided (its ``name``, ``limit`` and ``period``).
        remaining: hits still allowed right now after this one (0 when refused).
        reset: whole seconds, rounded up, until quota beyond ``remaining`` comes back (0 when
            the bucket is full); equals ``retry_after`` when refused.
        retry_after: whole seconds, rounded up, until a hit can succeed: 0 when allowed, at
            least 1 when refused.
        blocked: refused by a penalty block rather than by the rate alone.
        strikes: violations not yet forgotten.
    """

    allowed: bool
    policy: RatePolicy
    remaining: int
    reset: int
    retry_after: int
    blocked: bool = False
    strikes: int = 0

    @property
    def limit(self) -> int:
        """The policy's quota (``q`` of ``RateLimit-Policy``)."""
        return self.policy.limit

    @property
    def window(self) -> int:
        """The policy's window in seconds (``w`` of ``RateLimit-Policy``)."""
        return self.policy.period


class RateLimiter(Protocol):
    """Counts hits per (policy, key) and decides; state may be shared between processes.

    Keys are hashed before they are stored (see :func:`hash_key`), so a store never holds a raw
    email or IP address.
    """

    async def hit(self, policy: RatePolicy, key: str) -> RateDecision:
        """Count one hit of ``key`` against ``policy`` and decide, atomically."""
        ...

    async def peek(self, policy: RatePolicy, key: str) -> RateDecision:
        """Decide as :meth:`hit` would, without counting anything (``allowed``: would be)."""
        ...

    async def reset(self, policy: RatePolicy, key: str) -> None:
        """Forget ``key``'s quota use and strikes under ``policy`` (admin unlock, good login)."""
        ...


def hash_key(key: str, secret: bytes | None = None) -> str:
    """The hex digest a limiter stores in place of ``key``: SHA-256, or HMAC-SHA-256 with a secret.

    A plain hash keeps raw emails and addresses out of the store; a ``secret`` (the same in
    every process) also stops whoever reads the store from confirming a guessed email.
    """
    data = key.encode("utf-8", "surrogatepass")
    if secret is None:
        return hashlib.sha256(data).hexdigest()
    return hmac.new(secret, data, hashlib.sha256).hexdigest()
