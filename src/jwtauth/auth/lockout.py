"""Account lockout: failed attempts counted per key, and the lockout they lead to.

One mechanism for the login's accounts and the second factor's users (decisions 014, 016):
a :class:`~jwtauth.types.LockoutStore` holds the counts, a :class:`~jwtauth.types.LockoutPolicy`
says when they lock. :class:`Lockout` without a store is switched off and answers as if nothing
were ever on record.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

from jwtauth.errors import AccountLockedError
from jwtauth.types import Clock, LockoutPolicy, LockoutStore

__all__ = ["Attempt", "Lockout"]

security_log = logging.getLogger("jwtauth.security")


@dataclass(frozen=True, slots=True)
class Attempt:
    """An attempt :meth:`Lockout.reserve` let through, to settle once it is evaluated."""

    key: bytes
    counted: bool  # a store counted it (lockout on)
    locks: bool  # it reached the threshold: the lockout runs unless it succeeds


class Lockout:
    """Failed attempts per key (a known account's, whichever name found it; an unknown name's
    hash; a remembered device's; a user's second-factor key).

    Every attempt is reserved (counted as failed) before it is evaluated and cleared if it
    succeeds, so ``policy.threshold`` bounds the guesses evaluated per lockout period however
    many arrive at once (issue 13, item 1).

    Args:
        store: where the counts live; ``None`` switches lockout off.
        policy: how many failures within how long lock, and for how long.
        clock: the time source.
    """

    __slots__ = ("clock", "policy", "store")

    def __init__(
        self,
        store: LockoutStore | None = None,
        policy: LockoutPolicy | None = None,
        clock: Clock = time.time,
    ) -> None:
        self.store = store
        self.policy = policy or LockoutPolicy()
        self.clock = clock

    async def reserve(self, key: bytes) -> Attempt:
        """Count an attempt on ``key`` before it is evaluated.

        Raises:
            AccountLockedError: a lockout of ``key`` is running; nothing is to be evaluated.
        """
        if self.store is None:
            return Attempt(key, counted=False, locks=False)
        now = self.clock()
        reservation = await self.store.reserve(key, now, self.policy)
        if reservation.locked_until is not None:
            raise AccountLockedError(retry_after=max(1, math.ceil(reservation.locked_until - now)))
        return Attempt(key, counted=True, locks=reservation.locks)

    def failed(self, attempt: Attempt, ip: str | None) -> bool:
        """The attempt failed (it is counted already); ``True`` when it locked its key."""
        if not attempt.locks:
            return False
        security_log.warning(
            "account locked after repeated failed logins",
            # A prefix of the key's hash ties events together without naming the account.
            extra={"event": "account_locked", "account": attempt.key.hex()[:16], "ip": ip},
        )
        return True

    async def succeeded(self, attempt: Attempt) -> None:
        """The attempt succeeded: forget its key's failures (and the lockout it started)."""
        if self.store is not None and attempt.counted:
            await self.store.clear(attempt.key)

    async def clear(self, key: bytes) -> bool:
        """Forget ``key``'s failures and lockout; ``True`` if anything was on record."""
        return self.store is not None and await self.store.clear(key)
