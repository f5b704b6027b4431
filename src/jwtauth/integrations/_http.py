"""What every framework adapter shares: request credentials in, claims or an HTTP answer out.

Framework-free on purpose (it imports no web framework), so that each adapter only translates:
it reads the ``Authorization`` header (and a cookie reader) from its request object, awaits
:meth:`Authenticator.authenticate` (or calls :meth:`Authenticator.verify` in a synchronous
framework), and turns a :class:`~jwtauth.errors.JWTAuthError` into its own response from
:meth:`Authenticator.answer`: the status, an RFC 9457 problem+json body and the RFC 6750
``WWW-Authenticate`` challenge.

Also here: scope checks (``scope``, space-separated, and ``scp``, a list or a string) and the
``public`` marker every adapter and the route audit read.

Applications import these names from :mod:`jwtauth.integrations` (``Authenticator``, ``Answer``,
``PROBLEM_JSON``, the scope helpers); this module is where the adapters import them from.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, runtime_checkable

from jwtauth.errors import (
    ConfigurationError,
    CSRFError,
    InsufficientScopeError,
    JWTAuthError,
    MissingTokenError,
    ServiceUnavailableError,
    TokenError,
    UnknownKeyError,
)
from jwtauth.manager import TokenManager
from jwtauth.tokens.encoding import json_dumps
from jwtauth.tokens.token_type import ACCESS, TokenType
from jwtauth.transport.bearer import bearer_token
from jwtauth.transport.browser import FINGERPRINT_COOKIE
from jwtauth.transport.fingerprint import FINGERPRINT_CLAIM, check_fingerprint
from jwtauth.types import Claims, RevocationStore

__all__ = [
    "FINGERPRINT_COOKIE",
    "PROBLEM_JSON",
    "PUBLIC_ATTRIBUTE",
    "Answer",
    "Authenticator",
    "CookieReader",
    "KeySource",
    "Managed",
    "UserLoader",
    "granted_scopes",
    "is_public",
    "mark_public",
    "require_scopes",
]

PROBLEM_JSON = "application/problem+json"
PUBLIC_ATTRIBUTE = "__jwtauth_public__"

_log = logging.getLogger("jwtauth.integrations")
_TITLES = {
    401: "Unauthorized",
    403: "Forbidden",
    500: "Internal Server Error",
    503: "Service Unavailable",
}
# RFC 6750 section 3: error_description and scope values are limited to these characters.
_QUOTABLE = frozenset(chr(c) for c in (0x20, 0x21, *range(0x23, 0x5C), *range(0x5D, 0x7F)))

F = TypeVar("F", bound=Callable[..., Any])
CookieReader = Callable[[str], str | None]
"""Returns the value of the request's cookie of that name, or ``None``."""
UserLoader = Callable[[Claims], Awaitable[Any]]
"""Loads the application's user for verified claims; ``None`` when there is no such user."""


@runtime_checkable
class Managed(Protocol):
    """Something the application's lifespan starts and closes (a Redis store, a JWKS client)."""

    async def start(self) -> None:
        """Connect and load; raise if the service cannot work."""
        ...

    async def close(self) -> None:
        """Release connections and background tasks."""
        ...


class KeySource(Managed, Protocol):
    """Where a verify-only keyring comes from (a JWKS client); the manager's keyring is its."""

    async def refresh_unknown(self) -> bool:
        """Refetch after a token named an unknown `kid`, at most once per interval; True when
        new keys were installed (so verification is worth one retry)."""
        ...


@dataclass(frozen=True, slots=True)
class Answer:
    """An HTTP answer for an adapter to send: status, headers and a problem+json body."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


class Authenticator:
    """Verifies a request's credentials and answers refusals; one per application.

    Args:
        manager: verifies the tokens (its keyring, issuer, audience, revocation view).
        realm: the ``realm`` of every ``WWW-Authenticate`` challenge.
        keys: a key source (JWKS client) asked once more when a token names an unknown `kid`.
        revocations: a revocation store the application's lifespan starts and closes; its view
            becomes the manager's revocation view.
        token_type: the type of token accepted (access tokens, ``typ`` ``at+jwt``).
        fingerprint_cookie: the cookie a token carrying `fgp` must come with.
    """

    __slots__ = ("_fingerprint_cookie", "_keys", "_managed", "_manager", "_token_type", "realm")

    def __init__(
        self,
        manager: TokenManager,
        *,
        realm: str = "jwtauth",
        keys: KeySource | None = None,
        revocations: RevocationStore | None = None,
        token_type: TokenType = ACCESS,
        fingerprint_cookie: str = FINGERPRINT_COOKIE,
    ) -> None:
        if not realm or not set(realm) <= _QUOTABLE:
            raise ConfigurationError("the realm must be printable ASCII without quotes")
        if revocations is not None:
            if manager.revocations not in (None, revocations.view):
                raise ConfigurationError("the manager already consults another revocation view")
            manager.revocations = revocations.view
        self._manager = manager
        self._keys = keys
        self._managed: tuple[Managed, ...] = tuple(
            m for m in (revocations, keys) if isinstance(m, Managed)
        )
        self._token_type = token_type
        self._fingerprint_cookie = fingerprint_cookie
        self.realm = realm

    @property
    def manager(self) -> TokenManager:
        """The token manager verification goes through."""
        return self._manager

    # Lifecycle ---------------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the revocation store and the key source (an adapter's lifespan calls this)."""
        started: list[Managed] = []
        try:
            for managed in self._managed:
                await managed.start()
                started.append(managed)
        except BaseException:
            for managed in reversed(started):
                await managed.close()
            raise

    async def close(self) -> None:
        """Close what :meth:`start` started, in reverse order."""
        for managed in reversed(self._managed):
            await managed.close()

    # Verification ------------------------------------------------------------------------------

    def verify(self, authorization: str | None, cookie: CookieReader) -> Claims:
        """The claims of the request's bearer token (synchronous frameworks call this).

        Raises:
            TokenError: no token, or one that does not verify or lacks its fingerprint cookie.
        """
        claims = self._manager.verify(bearer_token(authorization), token_type=self._token_type)
        if FINGERPRINT_CLAIM in claims:  # the cookie is read only for a bound token
            check_fingerprint(claims, cookie(self._fingerprint_cookie))
        return claims

    async def authenticate(self, authorization: str | None, cookie: CookieReader) -> Claims:
        """:meth:`verify`, retried once if the key source fetched new keys for an unknown `kid`.

        Raises:
            TokenError: as :meth:`verify`.
        """
        try:
            return self.verify(authorization, cookie)
        except UnknownKeyError:
            if self._keys is None or not await self._keys.refresh_unknown():
                raise
        return self.verify(authorization, cookie)

    # Answers -----------------------------------------------------------------------------------

    def answer(self, exc: JWTAuthError) -> Answer:
        """The HTTP answer to ``exc``: 401 with a challenge, 403, 503 with ``Retry-After``
        (a backing service, or a revocation view that cannot be trusted now), or an opaque 500."""
        if isinstance(exc, ServiceUnavailableError):
            # Not the token's fault: no challenge, so a client retries rather than logs in again.
            headers = (
                ("content-type", PROBLEM_JSON),
                ("retry-after", str(exc.retry_after)),
            )
            return Answer(503, headers, _problem(503, exc.code, exc.message))
        if isinstance(exc, TokenError):
            return _answer(401, exc, self._challenge(exc))
        if isinstance(exc, InsufficientScopeError):
            return _answer(403, exc, self._challenge(exc))
        if isinstance(exc, CSRFError):
            return _answer(403, exc, None)
        # A configuration mistake of the application: its text is for the log, not the client.
        _log.error("jwtauth: %s (%s) while authenticating", exc.code, type(exc).__name__)
        return Answer(
            500,
            (("content-type", PROBLEM_JSON),),
            _problem(500, "internal_error", "An unexpected error occurred."),
        )

    def _challenge(self, exc: JWTAuthError) -> str:
        """RFC 6750 section 3: no `error` when no token was sent; `scope` for a 403."""
        parts = [f'Bearer realm="{self.realm}"']
        if isinstance(exc, MissingTokenError):
            return parts[0]
        if isinstance(exc, InsufficientScopeError):
            parts.append('error="insufficient_scope"')
        else:
            parts.append('error="invalid_token"')
        parts.append(f'error_description="{_quotable(exc.message)}"')
        if isinstance(exc, InsufficientScopeError) and exc.required:
            parts.append(f'scope="{_quotable(" ".join(exc.required))}"')
        return ", ".join(parts)


def _answer(status: int, exc: JWTAuthError, challenge: str | None) -> Answer:
    headers = [("content-type", PROBLEM_JSON)]
    if challenge is not None:
        headers.append(("www-authenticate", challenge))
    return Answer(status, tuple(headers), _problem(status, exc.code, exc.message))


def _problem(status: int, code: str, detail: str) -> bytes:
    # The same shape as the auth server's problems (jwtauth.server.problems).
    return json_dumps(
        {
            "type": f"urn:jwtauth:problem:{code}",
            "title": _TITLES.get(status, "Error"),
            "status": status,
            "detail": detail,
        }
    )


def _quotable(text: str) -> str:
    return "".join(c for c in text if c in _QUOTABLE)


# Scopes ----------------------------------------------------------------------------------------


def granted_scopes(claims: Claims) -> frozenset[str]:
    """The scopes a token grants: `scope` (RFC 9068, space-separated) and `scp` (a list, or a
    space-separated string); values of any other type grant nothing."""
    granted: set[str] = set()
    for name in ("scope", "scp"):
        value = claims.get(name)
        if isinstance(value, str):
            granted.update(s for s in value.split(" ") if s)
        elif isinstance(value, list | tuple):
            granted.update(s for s in value if isinstance(s, str) and s)
    return frozenset(granted)


def require_scopes(claims: Claims, required: Collection[str]) -> None:
    """Refuse claims that lack any of ``required``.

    Raises:
        InsufficientScopeError: naming every required scope (RFC 6750 section 3.1).
    """
    if required and not granted_scopes(claims).issuperset(required):
        raise InsufficientScopeError(sorted(required))


# The public marker -----------------------------------------------------------------------------


def mark_public(endpoint: F) -> F:
    """Mark ``endpoint`` as deliberately reachable without a token; returns it unchanged."""
    setattr(endpoint, PUBLIC_ATTRIBUTE, True)
    return endpoint


def is_public(endpoint: object) -> bool:
    """True when ``endpoint`` was marked with :func:`mark_public` (or an adapter's ``public``)."""
    return getattr(endpoint, PUBLIC_ATTRIBUTE, False) is True
