"""Rate limits at the HTTP edge: which policies a request counts against, with which keys.

The arithmetic lives in :mod:`jwtauth.ratelimit`; this module only names the keys (the client
address as :func:`~jwtauth.server.deps.client_info` resolved it, the lower-cased account email,
the user id) and turns a refusal into :class:`~jwtauth.errors.RateLimitedError`, which the
problem handlers answer with ``429``, ``Retry-After`` and the ``RateLimit`` headers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from jwtauth.errors import RateLimitedError
from jwtauth.ratelimit import RateDecision, RateLimiter, RatePolicy, rate_limit_headers

__all__ = ["Throttle"]


@dataclass(frozen=True)
class Throttle:
    """The server's limiter and its policies by name; ``enabled=False`` counts nothing."""

    limiter: RateLimiter
    policies: Mapping[str, RatePolicy]
    enabled: bool = True

    async def check(self, *hits: tuple[str, str]) -> dict[str, str]:
        """Count one hit per ``(policy name, key)``; the ``RateLimit`` headers for the answer.

        Every hit is counted even when an earlier one refused, so a client blocked per address
        still uses up the account's quota: switching addresses does not reset the account.

        Raises:
            RateLimitedError: any policy refused; it carries the headers of every decision.
        """
        if not self.enabled:
            return {}
        decisions: list[RateDecision] = [
            await self.limiter.hit(self.policies[name], key) for name, key in hits
        ]
        headers = rate_limit_headers(*decisions)
        refused = [d for d in decisions if not d.allowed]
        if refused:
            raise RateLimitedError(retry_after=max(d.retry_after for d in refused), headers=headers)
        return headers

    async def forget(self, name: str, key: str) -> None:
        """Clear ``key``'s use of policy ``name`` (a successful login clears its account)."""
        if self.enabled:
            await self.limiter.reset(self.policies[name], key)
