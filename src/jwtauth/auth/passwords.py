"""Password hashing with argon2id, off the event loop, with equal work for unknown users."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from argon2 import PasswordHasher as Argon2Hasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from jwtauth.errors import WeakPasswordError

__all__ = ["PasswordHasher", "PasswordPolicy"]


@dataclass(frozen=True, slots=True)
class PasswordPolicy:
    """What a new password must satisfy.

    Args:
        min_length: fewest characters (NIST SP 800-63B asks for at least 8; we default to 12).
        max_length: most characters: argon2 hashes anything, but an unbounded input is a
            denial-of-service lever.
    """

    min_length: int = 12
    max_length: int = 256

    def check(self, password: str) -> None:
        """Raise :class:`WeakPasswordError` with a reason that never quotes the password."""
        if len(password) < self.min_length:
            raise WeakPasswordError(
                f"The password must have at least {self.min_length} characters."
            )
        if len(password) > self.max_length:
            raise WeakPasswordError(f"The password must have at most {self.max_length} characters.")
        if len(set(password)) < 4:
            raise WeakPasswordError("The password repeats too few characters.")


class PasswordHasher:
    """argon2id (argon2-cffi) run in a worker thread, so a login never stalls other requests.

    Args:
        time_cost, memory_cost, parallelism: argon2 parameters; argon2-cffi's defaults follow
            RFC 9106's second recommendation. A stored hash made with other parameters is
            reported by :meth:`needs_rehash` so that login can upgrade it.
    """

    def __init__(
        self, *, time_cost: int = 3, memory_cost: int = 65536, parallelism: int = 4
    ) -> None:
        self._argon2 = Argon2Hasher(
            time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism
        )
        # Verified against when the email is unknown, so both failures cost one argon2 run.
        self._dummy = self._argon2.hash("jwtauth timing equaliser")

    async def hash(self, password: str) -> str:
        """The argon2id hash of ``password`` (PHC string format)."""
        return await asyncio.to_thread(self._argon2.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """True when ``password`` matches; with ``None`` (unknown user) does the same work."""
        return await asyncio.to_thread(self._verify, password_hash, password)

    def _verify(self, password_hash: str | None, password: str) -> bool:
        try:
            self._argon2.verify(password_hash or self._dummy, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
        return password_hash is not None

    def needs_rehash(self, password_hash: str) -> bool:
        """True when the stored hash was made with parameters other than ours."""
        return self._argon2.check_needs_rehash(password_hash)
