"""Password policy (length, common passwords, guessability) and argon2id hashing off the loop."""

from __future__ import annotations

import asyncio
import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import zxcvbn
from argon2 import PasswordHasher as Argon2Hasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from jwtauth.errors import WeakPasswordError

__all__ = ["PasswordHasher", "PasswordPolicy"]


@dataclass(frozen=True, slots=True)
class PasswordPolicy:
    """What a new password must satisfy.

    NIST SP 800-63B section 3.1.1.2: a length floor, a bounded length, and refusal of passwords
    found in lists of common or breached ones; no composition rules.

    Args:
        min_length: fewest characters (NIST asks for at least 8; we default to 12).
        max_length: most characters: argon2 hashes anything, but an unbounded input is a
            denial-of-service lever.
        min_score: the lowest zxcvbn score (0-4) accepted; 3 is "safely unguessable: moderate
            protection from an offline slow-hash scenario", which argon2id storage is. 0 turns
            the estimate off (the common-password list still applies).
    """

    min_length: int = 12
    max_length: int = 256
    min_score: int = 3

    def check(self, password: str, *, context: Sequence[str] = ()) -> None:
        """Raise :class:`WeakPasswordError` with a reason that never quotes the password.

        Args:
            password: the candidate.
            context: words the password must not lean on (the account's email, the site's
                name): zxcvbn counts them as known words.
        """
        if len(password) < self.min_length:
            raise WeakPasswordError(
                f"The password must have at least {self.min_length} characters."
            )
        if len(password) > self.max_length:
            raise WeakPasswordError(f"The password must have at most {self.max_length} characters.")
        if len(set(password)) < 4:
            raise WeakPasswordError("The password repeats too few characters.")
        if _normalised(password) in _common_passwords():
            raise WeakPasswordError("The password is one of the most commonly used passwords.")
        if self.min_score > 0 and _score(password, context) < self.min_score:
            raise WeakPasswordError(
                "The password is too easy to guess; a few unrelated words make a strong one."
            )


def _normalised(password: str) -> str:
    return "".join(password.split()).lower()


@functools.cache
def _common_passwords() -> frozenset[str]:
    # zxcvbn ships the 30,000 most common passwords of its corpus (leaked password sets); the
    # list is already installed and already what the estimate below is measured against.
    return frozenset(FREQUENCY_LISTS["passwords"])


# zxcvbn refuses longer input; the first 72 characters of a longer password decide its score
# (bcrypt's limit too, a common length for generated passphrases).
_ZXCVBN_MAX = 72


def _score(password: str, context: Sequence[str]) -> int:
    inputs = [word for item in context for word in _words(item)]
    estimate: Callable[..., dict[str, Any]] = zxcvbn.zxcvbn  # untyped library
    score: int = estimate(password[:_ZXCVBN_MAX], user_inputs=inputs)["score"]
    return score


def _words(text: str) -> list[str]:
    # "alice.smith@example.com" -> the whole, then alice, smith, example, com
    lowered = text.lower()
    return [lowered, *re.findall(r"[^\W_]+", lowered)]


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
