"""The two users a verified token can stand for in Django.

* :class:`TokenUser` (``USER = "stateless"``): built from the claims alone, no query. Its
  ``id`` is `sub`; it is authenticated and active because its token verified and is not revoked.
* The database user (``USER = "database"``, the default): the user model's row whose
  ``USER_ID_FIELD`` is `sub`, refused when missing or inactive. :class:`UserCache` keeps a
  found user for ``USER_CACHE_SECONDS`` (a few seconds), at most ``USER_CACHE_SIZE`` of them.

Changes reach the cache two ways. In the process that saves or deletes a user, Django's
``post_save``/``post_delete`` signals drop the entry at once. Every other process would see the
change only when its entry expires, so a deactivated or deleted user is also revoked as a
subject (every token issued before now), which the shared revocation store delivers to every
process within milliseconds; see :func:`user_changed`.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from jwtauth.types import Claims, Clock

__all__ = ["TokenUser", "UserCache", "load_database_user"]

_log = logging.getLogger("jwtauth.integrations.django")


class TokenUser:
    """A user known only by its verified claims (simplejwt's ``TokenUser``); no query."""

    is_active = True
    is_authenticated = True
    is_anonymous = False
    is_staff = False
    is_superuser = False

    __slots__ = ("claims", "id", "pk")

    def __init__(self, claims: Claims) -> None:
        self.claims = claims
        self.id = self.pk = str(claims["sub"])

    def __str__(self) -> str:
        return f"TokenUser {self.id}"

    def __repr__(self) -> str:
        return f"TokenUser(id={self.id!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TokenUser) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    def get_username(self) -> str:
        """The `sub` claim (there is no username without a query)."""
        return self.id

    def has_perm(self, perm: str, obj: object = None) -> bool:
        """Always False: permissions live in the database this user never reads."""
        return False

    def has_perms(self, perms: Any, obj: object = None) -> bool:
        """Always False, as :meth:`has_perm`."""
        return False

    def has_module_perms(self, module: str) -> bool:
        """Always False, as :meth:`has_perm`."""
        return False


class UserCache:
    """Users by `sub`, each kept ``ttl`` seconds, the ``size`` most recent; thread-safe.

    A hit returns a shallow copy, so that a view changing ``request.user`` does not change the
    object other requests (threads) are given.
    """

    __slots__ = ("_clock", "_entries", "_lock", "size", "ttl")

    def __init__(self, ttl: float, size: int, clock: Clock = time.monotonic) -> None:
        self.ttl = ttl
        self.size = size
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, subject: str) -> Any:
        """The cached user of ``subject``, or ``None``."""
        with self._lock:
            entry = self._entries.get(subject)
            if entry is None:
                return None
            if entry[0] <= self._clock():
                del self._entries[subject]
                return None
            self._entries.move_to_end(subject)
        return copy.copy(entry[1])

    def put(self, subject: str, user: Any) -> None:
        """Remember ``user`` for ``subject`` (nothing when the cache is off)."""
        if self.ttl <= 0 or self.size <= 0:
            return
        with self._lock:
            self._entries[subject] = (self._clock() + self.ttl, user)
            self._entries.move_to_end(subject)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def discard(self, subject: str) -> None:
        """Forget ``subject`` (its user changed)."""
        with self._lock:
            self._entries.pop(subject, None)

    def __len__(self) -> int:
        return len(self._entries)


def load_database_user(subject: str, find: Callable[[str], Any], cache: UserCache) -> Any:
    """The active user of ``subject`` through ``cache``; ``None`` when missing or inactive."""
    user = cache.get(subject)
    if user is not None:
        return user
    user = find(subject)
    if user is None or not getattr(user, "is_active", True):
        return None
    cache.put(subject, user)
    return copy.copy(user)
