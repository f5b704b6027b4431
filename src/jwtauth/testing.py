"""Helpers for tests of code that uses jwtauth: a frozen clock and ready-made managers."""

from __future__ import annotations

from jwtauth.keys.algorithms import Algorithm
from jwtauth.keys.key import generate_key
from jwtauth.keys.keyring import KeyRing
from jwtauth.manager import TokenManager
from jwtauth.revocation import RevocationList

__all__ = ["FrozenClock", "make_manager"]


class FrozenClock:
    """A clock that stands still until told to move; pass it wherever jwtauth takes ``clock``."""

    __slots__ = ("now",)

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds``."""
        self.now += seconds


def make_manager(
    alg: Algorithm | str = Algorithm.ES256,
    *,
    issuer: str = "https://auth.test",
    audience: str = "api",
    clock: FrozenClock | None = None,
    revocations: RevocationList | None = None,
) -> TokenManager:
    """A :class:`TokenManager` with a freshly generated key, for tests."""
    return TokenManager(
        KeyRing(generate_key(alg)),
        issuer=issuer,
        audience=audience,
        clock=clock or FrozenClock(),
        revocations=revocations,
    )
