"""Secrets held by a secrets manager (Vault/OpenBao KV v2, AWS Secrets Manager): fetched once,
served from memory, fetched again after a TTL.

The manager's client libraries (hvac, boto3) are imported only by :func:`remote_secret`, when a
setting asks for them, so the core never loads them (``tests/test_layering.py``).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Protocol

from jwtauth.errors import ConfigurationError, SecretsManagerError
from jwtauth.sources.managers import ManagerConfig, VaultConfig
from jwtauth.types import Clock

__all__ = ["CachedSecret", "SecretFetcher", "remote_secret"]

logger = logging.getLogger("jwtauth.keys")


class SecretFetcher(Protocol):
    """Reads the current value of one secret from a secrets manager."""

    #: Where the secret lives (``vault``, ``aws``), for messages; never anything secret.
    source: str

    def fetch(self) -> bytes:
        """The secret's current value.

        Raises:
            SecretsManagerError: unreachable, refused, or no such secret; never with the value.
        """
        ...


class CachedSecret:
    """A secret from a :class:`SecretFetcher`, served from memory for ``ttl`` seconds.

    The first :meth:`get` must succeed. After that, a refresh that fails logs a warning (the
    error, never the value) and keeps serving the value already held until the next attempt,
    one TTL later: a secrets manager that is down must neither stop token issuance nor be
    asked again on every call.

    Args:
        fetcher: reads the secret from the manager.
        ttl: seconds between fetches.
        clock: the time source (``time.monotonic``); tests pass a ``FrozenClock``.
    """

    __slots__ = ("_clock", "_fetched_at", "_fetcher", "_lock", "_value", "ttl")

    def __init__(self, fetcher: SecretFetcher, *, ttl: float, clock: Clock = time.monotonic):
        if ttl <= 0:
            raise ConfigurationError("a cached secret needs a positive refresh interval")
        self._fetcher = fetcher
        self._clock = clock
        self._lock = threading.Lock()
        self._value: bytes | None = None
        self._fetched_at = 0.0
        self.ttl = ttl

    @property
    def source(self) -> str:
        """Where the secret comes from (``vault``, ``aws``)."""
        return self._fetcher.source

    def get(self) -> bytes:
        """The secret: fetched on the first call and after each TTL, otherwise from memory.

        Raises:
            SecretsManagerError: when the first fetch fails.
        """
        # One fetch at a time: threads arriving during a refresh wait for it rather than each
        # asking the manager.
        with self._lock:
            now = self._clock()
            if self._value is None:
                self._value = self._fetcher.fetch()
                self._fetched_at = now
            elif now - self._fetched_at >= self.ttl:
                self._refresh(now)
            return self._value

    def _refresh(self, now: float) -> None:
        try:
            value = self._fetcher.fetch()
        except SecretsManagerError as exc:
            logger.warning(
                "%s: refreshing the secret failed (%s); serving the cached value, next attempt "
                "in %s s",
                self.source,
                exc.message,
                self.ttl,
            )
        else:
            if value != self._value:
                logger.info("%s: the secret has changed", self.source)
            self._value = value
        self._fetched_at = now

    def __repr__(self) -> str:
        return f"CachedSecret(source={self.source!r}, ttl={self.ttl!r})"


def remote_secret(
    manager: ManagerConfig, *, ttl: float, clock: Clock = time.monotonic
) -> CachedSecret:
    """The secret ``manager`` names (``JWTAUTH_SECRET_SOURCE``), cached for ``ttl`` seconds
    (``JWTAUTH_SECRET_REFRESH``). Nothing is fetched until :meth:`CachedSecret.get`."""
    fetcher: SecretFetcher
    # The client libraries are imported here, only when configured: the core never loads them.
    if isinstance(manager, VaultConfig):
        from jwtauth.sources.vault import VaultSecret  # noqa: PLC0415

        fetcher = VaultSecret.from_config(manager)
    else:
        from jwtauth.sources.aws import AWSSecret  # noqa: PLC0415

        fetcher = AWSSecret.from_config(manager)
    return CachedSecret(fetcher, ttl=ttl, clock=clock)
