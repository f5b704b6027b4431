"""The ``RateLimit``, ``RateLimit-Policy`` and ``Retry-After`` header values for decisions.

Syntax per draft-ietf-httpapi-ratelimit-headers-10 (September 2025; the form has been the same
since revision 08): both fields are structured-field Lists (RFC 9651) of Items whose value is
the policy name as a String::

    RateLimit-Policy: "login-ip";q=5;w=60
    RateLimit: "login-ip";r=0;t=37

``q`` is the quota and ``w`` the window in seconds; ``r`` the remaining quota and ``t`` the
seconds until more quota is available. The draft asks that ``Retry-After`` never point earlier
than ``t``; a refused decision's ``t`` equals its ``retry_after``, so it cannot.
https://datatracker.ietf.org/doc/draft-ietf-httpapi-ratelimit-headers/
"""

from __future__ import annotations

from jwtauth.ratelimit.policy import RateDecision

__all__ = ["rate_limit_headers"]


def rate_limit_headers(*decisions: RateDecision) -> dict[str, str]:
    """Header values for a response to a request that these decisions were made for.

    Several policies may apply to one request (login: per IP and per account); each becomes
    one member of each list, in the order given. ``Retry-After`` is present only when a
    decision refused, and is then the longest wait among the refusals.

    Args:
        decisions: one or more decisions, e.g. from :meth:`RateLimiter.hit`.

    Raises:
        ValueError: no decision was given (the draft forbids empty lists).
    """
    if not decisions:
        raise ValueError("rate_limit_headers needs at least one decision")
    policies: dict[str, str] = {}
    for decision in decisions:
        # Policy names are restricted to [A-Za-z0-9._-], so they need no escaping in a String.
        policy = decision.policy
        policies.setdefault(policy.name, f'"{policy.name}";q={policy.limit};w={policy.period}')
    headers = {
        "RateLimit-Policy": ", ".join(policies.values()),
        "RateLimit": ", ".join(f'"{d.policy.name}";r={d.remaining};t={d.reset}' for d in decisions),
    }
    waits = [d.retry_after for d in decisions if not d.allowed]
    if waits:
        headers["Retry-After"] = str(max(waits))
    return headers
