"""Account lockout: failed attempts counted per key, and the lockout they lead to.

One mechanism for the login's account names and the second factor's users (decisions 014, 016):
a :class:`~jwtauth.types.LockoutStore` holds the counts, a :class:`~jwtauth.types.LockoutPolicy`
says when they lock. :class:`Lockout` without a store is switched off and answers as if nothing
were ever on record.
"""

from __future__ import annotations

import logging
import math
import time

from jwtauth.errors import AccountLockedError
from jwtauth.types import Clock, LockoutPolicy, LockoutStatus, LockoutStore

__all__ = ["Lockout"]

security_log = logging.getLogger("jwtauth.security")

_NOTHING = LockoutStatus(recorded=False, locked_until=None)


class Lockout:
    """Failed attempts per key (an account name's hash, or a user's second-factor key).

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

    async def check(self, key: bytes) -> LockoutStatus:
        """What is on record for ``key``.

        Raises:
            AccountLockedError: a lockout of ``key`` is running.
        """
        if self.store is None:
            return _NOTHING
        now = self.clock()
        status = await self.store.status(key, now)
        if status.locked_until is not None:
            raise AccountLockedError(retry_after=math.ceil(status.locked_until - now))
        return status

    async def failed(self, key: bytes, ip: str | None) -> bool:
        """Count a failed attempt on ``key``; ``True`` when this one locked it."""
        if self.store is None:
            return False
        until = await self.store.record_failure(key, self.clock(), self.policy)
        if until is None:
            return False
        security_log.warning(
            "account locked after repeated failed logins",
            # A prefix of the key's hash ties events together without naming the account.
            extra={"event": "account_locked", "account": key.hex()[:16], "ip": ip},
        )
        return True

    async def succeeded(self, key: bytes, status: LockoutStatus) -> None:
        """After a success: forget ``key``'s failures, when :meth:`check` found any."""
        if self.store is not None and status.recorded:
            await self.store.clear(key)

    async def clear(self, key: bytes) -> bool:
        """Forget ``key``'s failures and lockout; ``True`` if anything was on record."""
        return self.store is not None and await self.store.clear(key)
