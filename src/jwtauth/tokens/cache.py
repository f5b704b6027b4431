"""A bounded cache of verified tokens, keyed by the full token string.

A client sends the same access token many times; re-checking its signature each time is the
dominant cost. The cache stores only the outcome of a full, successful verification of exactly
that string, so it cannot be poisoned; a hit still re-checks everything that can change with
time or state: `exp`, key retirement, and revocation (done by the caller).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import NamedTuple

from jwtauth.keys.key import Key
from jwtauth.tokens.token_type import canonical_typ
from jwtauth.types import Claims

__all__ = ["CachedToken", "VerifiedTokenCache"]


class CachedToken(NamedTuple):
    """What a successful verification established about one token string.

    In the cache, ``typ`` is in canonical form (:func:`canonical_typ`), whatever the entry was
    made with, so that a hit can compare it with a :class:`TokenType`'s ``typ`` as it is.
    """

    claims: Claims
    typ: str
    kid: str | None
    key: Key
    not_before: float
    expires_at: float


class VerifiedTokenCache:
    """A size-bounded map from token string to :class:`CachedToken`; oldest entries go first.

    Args:
        max_entries: the bound; ``0`` disables caching.
    """

    __slots__ = ("_entries", "max_entries")

    def __init__(self, max_entries: int = 4096) -> None:
        if max_entries < 0:
            raise ValueError("max_entries must not be negative")
        self.max_entries = max_entries
        # OrderedDict, not dict: evicting the oldest entry of a dict again and again makes each
        # `next(iter(...))` rescan the deleted slots at its front.
        self._entries: OrderedDict[str, CachedToken] = OrderedDict()

    def get(self, token: str) -> CachedToken | None:
        """The cached verification of ``token``, if any."""
        return self._entries.get(token)

    def put(self, token: str, entry: CachedToken) -> None:
        """Remember a successful verification, evicting the oldest entry when full."""
        if self.max_entries == 0:
            return
        # The header's `typ` as sent ("JWT" from PyJWT) against the canonical `jwt` of the
        # TokenType that accepted it would make the next verification of the token, a hit,
        # refuse it.
        typ = canonical_typ(entry.typ)
        if typ != entry.typ:
            entry = entry._replace(typ=typ)
        entries = self._entries
        if len(entries) >= self.max_entries:
            # Another thread may have emptied it meanwhile. (Not contextlib.suppress: on this
            # path it costs more than the eviction itself.)
            try:  # noqa: SIM105
                entries.popitem(last=False)
            except KeyError:
                pass
        entries[token] = entry

    def discard(self, token: str) -> None:
        """Forget ``token`` (expired, revoked or signed by a retired key)."""
        self._entries.pop(token, None)

    def clear(self) -> None:
        """Forget everything (after a key is retired, for example)."""
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
