"""Rate limiting: GCRA quotas per (policy, key) with progressive penalties, framework-free.

A :class:`RatePolicy` names a quota (``login-ip``: 5 a minute) and its :class:`Penalty`; a
:class:`RateLimiter` answers each hit with a :class:`RateDecision`, which
:func:`rate_limit_headers` renders as ``RateLimit``, ``RateLimit-Policy`` and ``Retry-After``.

Limiters: :class:`MemoryRateLimiter` (one process, the default) and
``jwtauth.ratelimit.redis.RedisRateLimiter`` (shared by every process; imported by its path,
so that importing this package never imports redis). Keys per client address come from
:func:`address_key`: one key per address however it is written, one per IPv6 ``/64``::

    limiter = MemoryRateLimiter()
    decision = await limiter.hit(DEFAULT_POLICIES["login-ip"], address_key(client_ip))
    if not decision.allowed:
        ...  # 429 with rate_limit_headers(decision)
"""

from jwtauth.ratelimit.addresses import TrustedProxies, address_key, normalise_address
from jwtauth.ratelimit.headers import rate_limit_headers
from jwtauth.ratelimit.memory import MemoryRateLimiter
from jwtauth.ratelimit.policy import (
    DEFAULT_POLICIES,
    Penalty,
    RateDecision,
    RateLimiter,
    RatePolicy,
    hash_key,
)

__all__ = [
    "DEFAULT_POLICIES",
    "MemoryRateLimiter",
    "Penalty",
    "RateDecision",
    "RateLimiter",
    "RatePolicy",
    "TrustedProxies",
    "address_key",
    "hash_key",
    "normalise_address",
    "rate_limit_headers",
]
