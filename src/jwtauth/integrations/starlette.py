"""Starlette: a pure ASGI middleware that verifies every request, deny by default.

::

    app = Starlette(
        routes=[Route("/health", public(health)), Route("/items", items)],
        middleware=[Middleware(JWTAuthMiddleware, authenticator=auth, public_paths=["/static/*"])],
    )

Every HTTP and WebSocket request needs a valid token unless its path is in ``public_paths``
(exact, or a prefix written ``/prefix/*``) or its route's endpoint is marked :func:`public`.
The claims are in the request scope (:func:`claims_of`); :func:`require_scopes` guards an
endpoint. Refusals are problem+json with an RFC 6750 challenge. Pure ASGI rather than
``BaseHTTPMiddleware``: no task per request and no buffering of streamed bodies. The middleware
also starts and closes the authenticator's stores in the application's lifespan.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Awaitable, Callable, Collection, Iterator
from typing import Any

from starlette.requests import Request, cookie_parser
from starlette.responses import Response
from starlette.routing import (
    BaseRoute,
    Host,
    Match,
    Mount,
    Route,
    WebSocketRoute,
    compile_path,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from jwtauth.errors import ConfigurationError, JWTAuthError
from jwtauth.integrations._http import Authenticator, is_public, mark_public
from jwtauth.integrations._http import require_scopes as check_scopes
from jwtauth.integrations.audit import RouteRow
from jwtauth.manager import TokenManager
from jwtauth.types import Claims

__all__ = [
    "JWTAuthMiddleware",
    "audit_routes",
    "authorization_of",
    "claims_of",
    "cookie_reader",
    "middleware_options",
    "public",
    "require_scopes",
    "walk_routes",
]

_CLAIMS = "jwtauth.claims"
_AUTHENTICATOR = "jwtauth.authenticator"
_SCOPES_ATTRIBUTE = "__jwtauth_scopes__"
_WEBSOCKET_POLICY_VIOLATION = 1008

public = mark_public
"""Marks a route reachable without a token: ``public(Route("/health", health))`` opens that
route; ``@public`` on an endpoint function opens every route serving that function."""

Endpoint = Callable[[Request], Awaitable[Response]]


class JWTAuthMiddleware:
    """Verify every request's bearer token before it reaches a route.

    Args:
        app: the ASGI application to protect.
        authenticator: an :class:`Authenticator`, or a :class:`TokenManager` to make one of.
        public_paths: paths reachable without a token: exact (``/health``), or every path
            under a prefix (``/static/*``). Marking the endpoint :func:`public` is the other way.
    """

    def __init__(
        self,
        app: ASGIApp,
        authenticator: Authenticator | TokenManager,
        *,
        public_paths: Collection[str] = (),
    ) -> None:
        if isinstance(authenticator, TokenManager):
            authenticator = Authenticator(authenticator)
        self.app = app
        self.authenticator = authenticator
        self._paths = _PublicPaths(public_paths)
        self._marked: _PublicPaths | None = None  # built from the routes on the first request

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self._lifespan(scope, receive, send)
            return
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        scope[_AUTHENTICATOR] = self.authenticator
        if self._is_public(scope):
            await self.app(scope, receive, send)
            return
        try:
            claims = await self.authenticator.authenticate(
                authorization_of(scope), cookie_reader(scope)
            )
        except JWTAuthError as exc:
            await self._refuse(exc, scope, send)
            return
        scope[_CLAIMS] = claims
        await self.app(scope, receive, send)

    def _is_public(self, scope: Scope) -> bool:
        path = _route_path(scope)
        method = scope.get("method", "WEBSOCKET")
        if self._paths.covers(path, method):
            return True
        app = scope.get("app", self.app)
        if self._marked is None:
            self._marked = _PublicPaths.of_routes(app)
        # The patterns only pre-select (a protected request pays nothing more); what decides is
        # the route Starlette will dispatch to, in its order and for this host: a public
        # `/users/{uid}` must not open a protected `/users/me` listed before it, nor a public
        # `/` on one Host open `/` on another.
        if not self._marked.covers(path, method):
            return False
        route = _dispatched(getattr(app, "routes", ()), scope)
        return route is not None and _marked(route)

    async def _refuse(self, exc: JWTAuthError, scope: Scope, send: Send) -> None:
        if scope["type"] == "websocket":
            # Closing before accepting makes the server answer the handshake with 403.
            await send({"type": "websocket.close", "code": _WEBSOCKET_POLICY_VIOLATION})
            return
        answer = self.authenticator.answer(exc)
        await send(
            {
                "type": "http.response.start",
                "status": answer.status,
                "headers": [
                    *((k.encode("latin-1"), v.encode("latin-1")) for k, v in answer.headers),
                    (b"content-length", str(len(answer.body)).encode("latin-1")),
                ],
            }
        )
        await send({"type": "http.response.body", "body": answer.body})

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def startup_first() -> Message:
            nonlocal started
            message = await receive()
            if message["type"] == "lifespan.startup":
                # Raising here makes the application report lifespan.startup.failed.
                await self.authenticator.start()
                started = True
            return message

        async def shutdown_last(message: Message) -> None:
            done = message["type"] in ("lifespan.shutdown.complete", "lifespan.shutdown.failed")
            if started and done:
                await self.authenticator.close()
            await send(message)

        await self.app(scope, startup_first, shutdown_last)


def claims_of(request: Request) -> Claims:
    """The verified claims of a request the middleware let through.

    Raises:
        ConfigurationError: there are none (a public route, or no middleware).
    """
    claims: Claims | None = request.scope.get(_CLAIMS)
    if claims is None:
        raise ConfigurationError("no verified claims: a public route, or no JWTAuthMiddleware")
    return claims


def require_scopes(*scopes: str) -> Callable[[Endpoint], Endpoint]:
    """Decorate an endpoint so it answers 403 unless the token grants every one of ``scopes``.

    On a route the middleware lets through unverified (a public one), the endpoint verifies the
    token itself: a scope requirement always means a token is required.
    """
    if not scopes or not all(isinstance(s, str) and s and " " not in s for s in scopes):
        raise ConfigurationError("require_scopes needs one or more scope names without spaces")
    required = tuple(sorted(set(scopes)))

    def decorate(endpoint: Endpoint) -> Endpoint:
        @functools.wraps(endpoint)
        async def guarded(request: Request) -> Response:
            authenticator: Authenticator | None = request.scope.get(_AUTHENTICATOR)
            if authenticator is None:
                raise ConfigurationError("require_scopes needs the JWTAuthMiddleware")
            claims: Claims | None = request.scope.get(_CLAIMS)
            try:
                if claims is None:
                    claims = await authenticator.authenticate(
                        request.headers.get("authorization"), request.cookies.get
                    )
                check_scopes(claims, required)
            except JWTAuthError as exc:
                answer = authenticator.answer(exc)
                return Response(answer.body, answer.status, headers=dict(answer.headers))
            return await endpoint(request)

        setattr(guarded, _SCOPES_ATTRIBUTE, required)
        return guarded

    return decorate


# Public paths -----------------------------------------------------------------------------------


class _PublicPaths:
    """Exact paths, prefixes and route patterns reachable without a token, by method."""

    __slots__ = ("_exact", "_patterns", "_prefixes")

    def __init__(self, paths: Collection[str] = ()) -> None:
        self._exact: dict[str, frozenset[str] | None] = {}
        self._prefixes: list[str] = []
        self._patterns: list[tuple[re.Pattern[str], frozenset[str] | None]] = []
        for path in paths:
            if not isinstance(path, str) or not path.startswith("/"):
                raise ConfigurationError("public paths must start with '/'")
            if path.endswith("/*"):
                self._prefixes.append(path[:-1])
            elif "*" in path:
                raise ConfigurationError("a public prefix is written /prefix/* (nothing else)")
            else:
                self._exact[path] = None

    @classmethod
    def of_routes(cls, app: object) -> _PublicPaths:
        """The routes of ``app`` whose endpoint (or mounted app) is marked public."""
        public = cls()
        for path, methods, route in walk_routes(app):
            if not _marked(route):
                continue
            allowed = None if "*" in methods else frozenset(methods)
            if isinstance(route, Mount) or "{" in path:
                public._patterns.append((compile_path(path)[0], allowed))
            else:
                public._exact[path] = allowed
        return public

    def covers(self, path: str, method: str) -> bool:
        if path in self._exact:
            allowed = self._exact[path]
            if allowed is None or method in allowed:
                return True
        if any(path.startswith(prefix) for prefix in self._prefixes):
            return True
        return any(
            (allowed is None or method in allowed) and pattern.match(path)
            for pattern, allowed in self._patterns
        )


def _dispatched(routes: Collection[BaseRoute], scope: Scope) -> BaseRoute | None:
    """The route Starlette's router would run for ``scope``: the first full match, in order,
    descending into unmarked mounts and hosts; ``None`` when none matches."""
    for route in routes:
        match, child = route.matches(scope)
        if match is not Match.FULL:
            continue
        if isinstance(route, Mount | Host) and route.routes and not _marked(route):
            return _dispatched(route.routes, {**scope, **child})
        return route
    return None


def _marked(route: BaseRoute) -> bool:
    if is_public(route):
        return True
    if isinstance(route, Mount):
        return is_public(route.app)
    return is_public(getattr(route, "endpoint", None))


def _route_path(scope: Scope) -> str:
    # As Starlette's router sees it: the path without the root_path the server may prefix.
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root) and path[len(root) : len(root) + 1] in ("", "/"):
        return path[len(root) :]
    return path


def authorization_of(scope: Scope) -> str | None:
    """The request's first ``Authorization`` header, read straight from the ASGI scope (as
    Starlette's ``Headers.get`` would, without building the object)."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            return str(value.decode("latin-1"))
    return None


def cookie_reader(scope: Scope) -> Callable[[str], str | None]:
    """A reader of the request's cookies that parses the ``Cookie`` header only if called."""

    def cookie(name: str) -> str | None:
        for header, value in scope["headers"]:
            if header == b"cookie":
                return cookie_parser(value.decode("latin-1")).get(name)
        return None

    return cookie


# The route audit --------------------------------------------------------------------------------


def walk_routes(app: object, prefix: str = "") -> Iterator[tuple[str, tuple[str, ...], BaseRoute]]:
    """Every route of a Starlette (or FastAPI) app with its full path and methods (``*``: any),
    mounted routers included; a mounted app without routes is one row, ``/mount/{path:path}``."""
    for route in getattr(app, "routes", ()):
        if isinstance(route, Mount):
            if route.routes and not _marked(route):
                yield from walk_routes(route, prefix + route.path)
            else:
                yield f"{prefix}{route.path}/{{path:path}}", ("*",), route
        elif isinstance(route, Host):
            yield from walk_routes(route, prefix)
        elif isinstance(route, WebSocketRoute):
            yield prefix + route.path, ("WEBSOCKET",), route
        elif isinstance(route, Route):
            yield prefix + route.path, tuple(sorted(route.methods or ("*",))), route
        else:
            yield prefix + str(getattr(route, "path", "")), ("*",), route


def middleware_options(app: object) -> dict[str, Any] | None:
    """The keyword arguments :class:`JWTAuthMiddleware` was added with, or ``None``."""
    for entry in getattr(app, "user_middleware", ()):
        if entry.cls is JWTAuthMiddleware:
            options: dict[str, Any] = dict(entry.kwargs)
            return options
    return None


def audit_routes(app: object) -> list[RouteRow]:
    """Every route of ``app`` with what the middleware enforces (see
    :mod:`jwtauth.integrations.audit`)."""
    options = middleware_options(app)
    paths = _PublicPaths(options.get("public_paths", ()) if options is not None else ())
    rows = []
    for path, methods, route in walk_routes(app):
        endpoint = getattr(route, "endpoint", None)
        scopes = " ".join(getattr(endpoint, _SCOPES_ATTRIBUTE, ()))
        if options is not None and scopes:
            rows.append(RouteRow(path, methods, "protected", scopes))
        elif _marked(route) or all(paths.covers(path, m) for m in methods):
            rows.append(RouteRow(path, methods, "public"))
        elif options is not None:
            rows.append(RouteRow(path, methods, "protected", scopes))
        else:
            rows.append(RouteRow(path, methods, "unprotected", "no JWTAuthMiddleware"))
    return rows
