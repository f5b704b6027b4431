"""Resource-server mode: verify a jwtauth server's tokens with keys from its JWKS URL.

A service that only verifies needs no key of its own: :class:`JWKSClient` fetches the issuer's
JSON Web Key Set from the one configured URL (never from a token: `jku`, `x5u` and `jwk` headers
are refused by the engine), builds a verify-only :class:`~jwtauth.keys.keyring.KeyRing` from it
and keeps :attr:`JWKSClient.manager` (issuer and audience pinned by :class:`JWKSOptions`) on the
current keys:

* at :meth:`~JWKSClient.start`, once, failing loudly if no usable key can be had;
* every ``refresh_interval`` in the background;
* when a token names an unknown `kid` (a rotation), at most once per ``min_refetch_interval``,
  however many such tokens arrive: concurrent callers share one fetch, and a client spraying
  random `kid` values costs the JWKS server one request per interval;
* when a fetch fails, the cached keys keep serving, for at most ``max_stale`` seconds after the
  last good fetch; after that every token is refused (fail closed) until a fetch succeeds.

Uses httpx, so it is not part of the core's import graph (``import jwtauth`` does not load it).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from jwtauth.errors import ConfigurationError, KeyConfigurationError, KeySetError
from jwtauth.integrations._http import Authenticator
from jwtauth.keys.algorithms import Algorithm
from jwtauth.keys.key import Key, key_from_jwk
from jwtauth.keys.keyring import KeyRing
from jwtauth.manager import TokenManager
from jwtauth.tokens.encoding import json_loads_object
from jwtauth.types import Clock, RevocationStore

__all__ = ["JWKSClient", "JWKSOptions", "keyring_from_jwks"]

_log = logging.getLogger("jwtauth.jwks")
_LOOPBACK_NAMES = frozenset({"localhost"})


@dataclass(frozen=True, slots=True)
class JWKSOptions:
    """Where the keys come from and whose tokens they verify.

    Args:
        url: the issuer's JWKS (``https://``; plain ``http://`` only to a loopback address).
        issuer: the exact `iss` every token must carry.
        audience: the `aud` every token must contain (``None``: tokens must carry no `aud`).
        algorithms: the algorithms accepted from the set (``None``: every asymmetric one);
            HMAC keys are never taken from a JWKS.
        refresh_interval: seconds between background refreshes.
        min_refetch_interval: the least seconds between two fetches, whatever asks for them.
        max_stale: seconds the last good keys keep serving while fetches fail.
        timeout: seconds for one fetch.
        max_bytes: the largest JWKS document accepted.
        max_keys: the most keys a JWKS may hold.
        leeway: tolerated clock skew on `exp`, `nbf` and `iat`, in seconds.
    """

    url: str
    issuer: str
    audience: str | None
    algorithms: frozenset[str] | None = None
    refresh_interval: float = 300.0
    min_refetch_interval: float = 30.0
    # An hour: while the JWKS URL is unreachable (which an attacker may arrange), a key the
    # issuer retired as compromised keeps verifying here until this runs out.
    max_stale: float = 3600.0
    timeout: float = 5.0
    max_bytes: int = 256 * 1024
    max_keys: int = 32
    leeway: float = 0.0

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme != "https" and not (parts.scheme == "http" and _loopback(parts.hostname)):
            raise ConfigurationError("the JWKS URL must be https:// (http:// only to loopback)")
        if parts.username is not None or parts.password is not None:
            raise ConfigurationError("the JWKS URL must not carry credentials")
        intervals = (self.refresh_interval, self.min_refetch_interval, self.max_stale)
        if min(intervals) <= 0 or self.timeout <= 0 or self.max_bytes <= 0 or self.max_keys <= 0:
            raise ConfigurationError("JWKS intervals, timeout and limits must be positive")
        if self.algorithms is not None:
            for alg in self.algorithms:
                if Algorithm.parse(alg).family == "HS":
                    raise ConfigurationError("HMAC algorithms cannot come from a JWKS")


def _loopback(host: str | None) -> bool:
    if host is None:
        return False
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def keyring_from_jwks(
    document: bytes, options: JWKSOptions, reuse: KeyRing | None = None
) -> KeyRing:
    """A verify-only keyring of the usable keys of a JWKS document.

    A key is used when it has a `kid`, an `alg` (the key decides the algorithm, so one without
    is ambiguous), `use` absent or ``sig``, an asymmetric algorithm in ``options.algorithms``,
    and no private members. Keys of ``reuse`` with an identical public JWK are kept as they
    are, so the manager's verified-token cache survives a refresh that changed nothing.

    Raises:
        KeySetError: not a JSON object with a `keys` array, too many keys, two keys sharing a
            `kid`, or not one usable key.
    """
    try:
        keys = json_loads_object(document).get("keys")
    except ValueError:
        raise KeySetError("the JWKS is not a JSON object") from None
    if not isinstance(keys, list):
        raise KeySetError("the JWKS has no `keys` array")
    if len(keys) > options.max_keys:
        raise KeySetError(f"the JWKS holds more than {options.max_keys} keys")
    usable = [key for jwk in keys if (key := _usable(jwk, options)) is not None]
    if not usable:
        raise KeySetError("the JWKS holds no usable signature key")
    if reuse is not None:
        usable = [_same_or(reuse.find(k.kid), k) for k in usable]
    try:
        return KeyRing(None, usable)
    except KeyConfigurationError:
        raise KeySetError("two keys of the JWKS share a kid") from None


def _usable(jwk: Any, options: JWKSOptions) -> Key | None:
    if not isinstance(jwk, dict) or not isinstance(jwk.get("kid"), str) or not jwk["kid"]:
        return None
    alg = jwk.get("alg")
    wanted = options.algorithms is None or alg in options.algorithms
    if jwk.get("use", "sig") != "sig" or not isinstance(alg, str) or not wanted:
        return None
    if "d" in jwk or jwk.get("kty") == "oct":
        _log.warning("jwks: ignoring key %.64r: it carries secret material", jwk["kid"])
        return None
    try:
        if Algorithm.parse(alg).family == "HS":
            return None
        return key_from_jwk(jwk)
    except KeyConfigurationError:
        _log.warning("jwks: ignoring key %.64r: not a usable %.16s key", jwk["kid"], alg)
        return None


def _same_or(old: Key | None, new: Key) -> Key:
    if old is not None and old.alg == new.alg and old.public_jwk() == new.public_jwk():
        return old
    return new


class JWKSClient:
    """Keeps a verify-only :class:`TokenManager` on the keys of one JWKS URL.

    Implements :class:`jwtauth.integrations._http.KeySource`; pass it to an
    :class:`Authenticator` (or use :meth:`authenticator`) and the application's lifespan starts
    and closes it.

    Args:
        options: the URL, the pinned issuer and audience, intervals and limits.
        clock: wall time for token validation.
        timer: monotonic time for the refetch intervals (inject one in tests).
    """

    def __init__(
        self,
        options: JWKSOptions,
        *,
        clock: Clock = time.time,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self.options = options
        self.manager = TokenManager(
            KeyRing(None),
            issuer=options.issuer,
            audience=options.audience,
            leeway=options.leeway,
            clock=clock,
        )
        self._timer = timer
        self._http: httpx.AsyncClient | None = None
        self._task: asyncio.Task[None] | None = None
        self._inflight: asyncio.Task[bool] | None = None
        self._last_attempt: float | None = None
        self._last_success: float | None = None

    def authenticator(
        self, *, realm: str = "jwtauth", revocations: RevocationStore | None = None
    ) -> Authenticator:
        """An :class:`Authenticator` over :attr:`manager` that refetches on unknown `kid`."""
        return Authenticator(self.manager, realm=realm, keys=self, revocations=revocations)

    async def start(self) -> None:
        """Fetch the keys, then refresh them in the background.

        Raises:
            KeySetError: the JWKS cannot be fetched or holds no usable key.
        """
        if self._http is not None:
            raise RuntimeError("the JWKS client is already started")
        self._http = httpx.AsyncClient(timeout=self.options.timeout, follow_redirects=False)
        try:
            self._install(await self._download())
        except BaseException:
            await self.close()
            raise
        self._task = asyncio.create_task(self._refresh_forever(), name="jwtauth-jwks")

    async def close(self) -> None:
        """Stop refreshing and close the connection pool; safe to call twice."""
        for task in (self._task, self._inflight):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self._task = self._inflight = None
        http, self._http = self._http, None
        if http is not None:
            await http.aclose()

    async def ping(self) -> bool:
        """True while the keys are fresh enough to serve (a good fetch within ``max_stale``)."""
        return self._last_success is not None and not self._stale()

    async def refresh(self) -> bool:
        """Fetch now, or join the fetch under way; True when a new `kid` was installed.

        A failed fetch is logged and keeps the cached keys.
        """
        inflight = self._inflight
        if inflight is None:
            inflight = self._inflight = asyncio.create_task(self._refresh_once())
        # Shielded: a caller that gives up (its request cancelled) must not cancel the fetch
        # the other callers are waiting for.
        return await asyncio.shield(inflight)

    async def refresh_unknown(self) -> bool:
        """:meth:`refresh` for a token with an unknown `kid`, unless a fetch happened (or began)
        less than ``min_refetch_interval`` ago: then False at once, without a request."""
        last = self._last_attempt
        recent = last is not None and self._timer() - last < self.options.min_refetch_interval
        if self._inflight is None and recent:
            return False
        return await self.refresh()

    # Internals ----------------------------------------------------------------------------------

    async def _refresh_once(self) -> bool:
        try:
            return self._install(await self._download())
        except KeySetError as exc:
            _log.warning("jwks: refresh failed, serving the cached keys: %s", exc.message)
            return False
        finally:
            self._inflight = None
            self._drop_if_stale()

    async def _refresh_forever(self) -> None:
        while True:
            fresh = self._last_success is not None and self._last_attempt == self._last_success
            wait = self.options.refresh_interval if fresh else self.options.min_refetch_interval
            await asyncio.sleep(wait)
            await self.refresh()

    async def _download(self) -> bytes:
        if self._http is None:
            raise RuntimeError("the JWKS client is not started")
        self._last_attempt = self._timer()
        try:
            async with self._http.stream("GET", self.options.url) as response:
                if response.status_code != 200:
                    raise KeySetError(f"the JWKS URL answered HTTP {response.status_code}")
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > self.options.max_bytes:
                        raise KeySetError("the JWKS is larger than max_bytes")
        except httpx.HTTPError as exc:
            raise KeySetError(f"the JWKS could not be fetched ({type(exc).__name__})") from None
        return bytes(body)

    def _install(self, document: bytes) -> bool:
        before = self.manager.keyring
        keyring = keyring_from_jwks(document, self.options, reuse=before)
        self.manager.keyring = keyring
        self._last_success = self._last_attempt
        return any(key.kid not in before for key in keyring)

    def _stale(self) -> bool:
        last = self._last_success
        return last is None or self._timer() - last > self.options.max_stale

    def _drop_if_stale(self) -> None:
        if self._last_success is not None and self._stale() and len(self.manager.keyring):
            _log.error("jwks: no good fetch for max_stale seconds; refusing every token")
            self.manager.keyring = KeyRing(None)
