"""Password policy (length, common passwords, guessability) and argon2id hashing off the loop.

The policy and the hash see different strings, on purpose:

* The policy judges a password by its *skeleton* (:func:`password_skeleton`): NFKC, without
  Unicode format characters (category Cf: zero-width spaces and joiners, soft hyphens, bidi
  controls) and combining marks, with look-alike characters folded to their UTS #39 prototype
  and case folded. ``password1234`` typed in fullwidth forms, with a zero-width space or a
  combining accent inside, or with a Cyrillic U+0440 in place of the Latin ``p`` is judged as
  the common password it imitates, since that is what a guesser who folds input alike tries.
* The hash is made from the password exactly as typed, as it always has been. Hashing a
  normalised form instead would lock out every user whose stored hash was made from a password
  that normalisation changes (fullwidth forms, ligatures, decomposed accents), and trying both
  forms at login would double the argon2 work of every wrong guess.
"""

from __future__ import annotations

import asyncio
import functools
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import zxcvbn
from argon2 import PasswordHasher as Argon2Hasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from disarm import skeleton_key
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from jwtauth.errors import WeakPasswordError

__all__ = ["PasswordHasher", "PasswordPolicy", "password_skeleton"]


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

        Every rule after the upper bound judges :func:`password_skeleton`, and the length floor
        counts characters without format characters and combining marks, so invisible or
        stacked code points neither lengthen a password nor disguise a common one.

        Args:
            password: the candidate.
            context: words the password must not lean on (the account's email, the site's
                name): zxcvbn counts them as known words.
        """
        # The bound applies to the input as sent: it is what normalisation has to work through.
        if len(password) > self.max_length:
            raise WeakPasswordError(f"The password must have at most {self.max_length} characters.")
        visible = _visible(password)
        if not visible.strip():
            raise WeakPasswordError("The password must not be only spaces or invisible characters.")
        if len(visible) < self.min_length:
            raise WeakPasswordError(
                f"The password must have at least {self.min_length} characters."
            )
        skeleton = _fold(visible)
        if len(set(skeleton)) < 4:
            raise WeakPasswordError("The password repeats too few characters.")
        if _spaceless(skeleton) in _common_passwords():
            raise WeakPasswordError("The password is one of the most commonly used passwords.")
        if self.min_score > 0 and _score(skeleton, context) < self.min_score:
            raise WeakPasswordError(
                "The password is too easy to guess; a few unrelated words make a strong one."
            )


def password_skeleton(password: str) -> str:
    """What the policy judges ``password`` as: NFKC, format characters (Cf) and combining marks
    removed, case folded, then the UTS #39 confusable skeleton, whitespace collapsed.

    Two passwords with one skeleton look alike to a person and to a guesser who normalises;
    the skeleton is for judging only and is never hashed or stored.
    """
    return _fold(_visible(password))


def _fold(visible: str) -> str:
    # Case first: the skeleton alone folds a capital I to l (the "paypaI" spoof), and the list
    # has "iloveyou", not "lloveyou".
    return skeleton_key(visible.casefold())


def _visible(password: str) -> str:
    # NFKC first (fullwidth and compatibility forms become what they stand for), then NFD so
    # that every combining mark stands apart, precomposed or typed, and can be dropped.
    decomposed = unicodedata.normalize("NFD", unicodedata.normalize("NFKC", password))
    kept = "".join(c for c in decomposed if unicodedata.category(c) not in _INVISIBLE)
    return unicodedata.normalize("NFC", kept)


# Format characters draw nothing; nonspacing and enclosing marks only decorate a base letter.
_INVISIBLE = frozenset({"Cf", "Mn", "Me"})


def _spaceless(text: str) -> str:
    # "Q W E R T Y" is the list's "qwerty": spacing a common password out adds no guesses.
    return "".join(text.split())


@functools.cache
def _common_passwords() -> frozenset[str]:
    # zxcvbn ships the 30,000 most common passwords of its corpus (leaked password sets); the
    # list is already installed and already what the estimate below is measured against. Kept
    # as skeletons, so that both sides of the comparison are folded alike (about 20 ms, once).
    return frozenset(_spaceless(password_skeleton(p)) for p in FREQUENCY_LISTS["passwords"])


# zxcvbn refuses longer input; the first 72 characters of a longer password decide its score
# (bcrypt's limit too, a common length for generated passphrases).
_ZXCVBN_MAX = 72


def _score(password: str, context: Sequence[str]) -> int:
    inputs = [word for item in context for word in _words(password_skeleton(item))]
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
