"""FastAPI: dependencies for claims, users and scopes, and deny-by-default protection.

::

    auth = JWTAuth(manager, user_loader=load_user)
    app = FastAPI()
    auth.protect(app)                     # from here on, every route needs a valid token ...

    @app.get("/health")
    @public                               # ... unless it is marked public
    async def health() -> dict[str, str]: ...

    @app.get("/me")
    async def me(user: Annotated[User, Depends(current_user)]) -> User: ...

    @app.post("/items", dependencies=[Depends(require_scopes("items:write"))])
    async def create_item() -> None: ...

Every dependency is ``async`` (FastAPI would run a plain ``def`` in a worker thread, which costs
far more than a cached verification) and shows in the OpenAPI schema as one HTTP bearer scheme
with its 401 and 403 answers. Refusals are problem+json with an RFC 6750 challenge, from
:mod:`jwtauth.integrations._http`.
"""

# No `from __future__ import annotations`: FastAPI reads the dependencies' signatures at run
# time, and the dependencies are instances, whose string annotations it could not resolve.
import inspect
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal, TypeVar, overload

from fastapi import Depends, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.models import HTTPBearer as HTTPBearerModel
from fastapi.routing import APIRoute
from fastapi.security.base import SecurityBase
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

from jwtauth.audit import RouteRow
from jwtauth.errors import (
    ConfigurationError,
    InsufficientScopeError,
    JWTAuthError,
    TokenError,
    UnknownSubjectError,
)
from jwtauth.integrations._http import (
    PROBLEM_JSON,
    Authenticator,
    UserLoader,
    is_public,
    mark_public,
)
from jwtauth.integrations._http import require_scopes as check_scopes
from jwtauth.integrations.starlette import audit_routes as audit_middleware_routes
from jwtauth.integrations.starlette import (
    authorization_of,
    cookie_reader,
    middleware_options,
    walk_routes,
)
from jwtauth.manager import TokenManager
from jwtauth.types import Claims

__all__ = [
    "SCHEME_NAME",
    "JWTAuth",
    "audit_routes",
    "authenticated",
    "current_claims",
    "current_user",
    "public",
    "require_scopes",
]

SCHEME_NAME = "JWTBearer"
_STATE = "jwtauth_integration"  # the attribute of app.state holding the JWTAuth
_CLAIMS = "jwtauth.claims"  # the request scope key of the claims, verified once per request
F = TypeVar("F", bound=Callable[..., Any])


class _Bearer(SecurityBase):
    """The OpenAPI bearer scheme every dependency here declares (FastAPI lists SecurityBase
    dependencies as security requirements)."""

    scopes: tuple[str, ...] = ()

    def __init__(self) -> None:
        self.model = HTTPBearerModel(bearerFormat="JWT", description="A jwtauth access token")
        self.scheme_name = SCHEME_NAME


class _CurrentClaims(_Bearer):
    async def __call__(self, connection: HTTPConnection) -> Claims:
        """The verified claims of the request's bearer token."""
        scope = connection.scope
        claims: Claims | None = scope.get(_CLAIMS)
        if claims is None:
            authenticator = _auth_of(connection).authenticator
            claims = await authenticator.authenticate(authorization_of(scope), cookie_reader(scope))
            scope[_CLAIMS] = claims
        return claims


class _Authenticated(_Bearer):
    async def __call__(self, connection: HTTPConnection) -> None:
        """Deny by default: verify the token unless the matched route is marked public."""
        route = connection.scope.get("route")
        if route is None or not _auth_of(connection).route_is_public(route):
            await current_claims(connection)


class _RequireScopes(_Bearer):
    def __init__(self, scopes: tuple[str, ...]) -> None:
        super().__init__()
        self.scopes = scopes

    async def __call__(self, connection: HTTPConnection) -> Claims:
        """The claims, when they grant every scope required."""
        claims = await current_claims(connection)
        check_scopes(claims, self.scopes)
        return claims


current_claims = _CurrentClaims()
"""Dependency: the verified claims (``Annotated[Claims, Depends(current_claims)]``)."""

authenticated = _Authenticated()
"""Dependency: what :meth:`JWTAuth.protect` adds to the app; skips routes marked public."""


def require_scopes(*scopes: str) -> _RequireScopes:
    """Dependency requiring every one of ``scopes`` (403 ``insufficient_scope`` otherwise)."""
    if not scopes or not all(isinstance(s, str) and s and " " not in s for s in scopes):
        raise ConfigurationError("require_scopes needs one or more scope names without spaces")
    return _RequireScopes(tuple(sorted(set(scopes))))


async def current_user(
    connection: HTTPConnection, claims: Annotated[Claims, Depends(current_claims)]
) -> Any:
    """Dependency: the application's user, from the ``user_loader`` given to :class:`JWTAuth`.

    Raises:
        UnknownSubjectError: the loader found no user for the token (401).
    """
    loader = _auth_of(connection).user_loader
    if loader is None:
        raise ConfigurationError("current_user needs JWTAuth(..., user_loader=...)")
    user = await loader(claims)
    if user is None:
        raise UnknownSubjectError()
    return user


class _Public:
    """``@public`` on an endpoint, or ``Depends(public)``: reachable without a token."""

    # As a dependency it takes no parameter (FastAPI reads this signature, not __call__'s); it
    # then runs, doing nothing, in FastAPI's threadpool, so the decorator is the cheaper form.
    __signature__ = inspect.Signature()

    @overload
    def __call__(self) -> None: ...
    @overload
    def __call__(self, endpoint: F) -> F: ...
    def __call__(self, endpoint: F | None = None) -> F | None:
        return None if endpoint is None else mark_public(endpoint)


public = _Public()
"""Marks a route public: ``@public`` under the route decorator, or ``Depends(public)``."""


class JWTAuth:
    """jwtauth in one FastAPI application.

    Args:
        authenticator: an :class:`Authenticator`, or a :class:`TokenManager` to make one of.
        user_loader: ``async`` function from claims to the application's user (or ``None``),
            for :func:`current_user`.
    """

    def __init__(
        self, authenticator: Authenticator | TokenManager, *, user_loader: UserLoader | None = None
    ) -> None:
        if isinstance(authenticator, TokenManager):
            authenticator = Authenticator(authenticator)
        self.authenticator = authenticator
        self.user_loader = user_loader
        self._public: dict[int, bool] = {}

    def install(self, app: FastAPI) -> None:
        """Serve this app's dependencies: error answers, lifespan, OpenAPI. Routes stay opt-in
        (``Depends(current_claims)``); :meth:`protect` makes them opt-out."""
        if getattr(app.state, _STATE, self) is not self:
            raise ConfigurationError("another JWTAuth is already installed on this app")
        setattr(app.state, _STATE, self)
        for error in (TokenError, InsufficientScopeError):
            app.add_exception_handler(error, self._answer)
        app.router.lifespan_context = self._lifespan(app.router.lifespan_context)
        app.openapi = _documented(app)  # type: ignore[method-assign]

    def protect(self, app: FastAPI) -> None:
        """:meth:`install`, and deny by default: every FastAPI route (``@app.get`` and the
        like, routers included, WebSocket routes too) added from now on requires a valid token
        unless marked :data:`public`. The API docs routes stay public.

        Not covered: plain Starlette routes (``app.add_route``) and mounted apps
        (``app.mount``), which FastAPI dependencies never reach. ``jwtauth audit-routes``
        reports them as unprotected; protect them with
        :class:`jwtauth.integrations.starlette.JWTAuthMiddleware` or mark them public.

        Raises:
            ConfigurationError: routes were added before; they would be left unprotected.
        """
        early = [r.path for r in app.routes if isinstance(r, APIRoute)]
        if early:
            raise ConfigurationError(
                f"protect(app) must come before the routes; unprotected: {', '.join(early)}"
            )
        self.install(app)
        app.router.dependencies.insert(0, Depends(authenticated))
        docs = {app.openapi_url, app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url}
        for route in app.routes:
            if isinstance(route, Route) and route.path in docs:
                mark_public(route.endpoint)

    def route_is_public(self, route: object) -> bool:
        """True when ``route`` (a matched route) is marked public; decided once per route."""
        decided = self._public.get(id(route))
        if decided is None:
            decided = _marked_public(route)
            self._public[id(route)] = decided
        return decided

    async def _answer(self, request: Request, exc: Exception) -> Response:
        if not isinstance(exc, JWTAuthError):  # Starlette types handlers for any Exception
            raise exc
        answer = self.authenticator.answer(exc)
        return Response(answer.body, answer.status, headers=dict(answer.headers))

    def _lifespan(self, inner: Any) -> Callable[[Any], Any]:
        authenticator = self.authenticator

        @asynccontextmanager
        async def lifespan(app: Any) -> AsyncIterator[Any]:
            await authenticator.start()
            try:
                async with inner(app) as state:
                    yield state
            finally:
                await authenticator.close()

        return lifespan


def _documented(app: FastAPI) -> Callable[[], dict[str, Any]]:
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        fresh = app.openapi_schema is None  # FastAPI generates once, then serves its copy
        schema = generate()
        if fresh:
            _document(app, schema)
        return schema

    return openapi


def _auth_of(connection: HTTPConnection) -> JWTAuth:
    auth: JWTAuth | None = getattr(connection.app.state, _STATE, None)
    if auth is None:
        raise ConfigurationError("JWTAuth(...).install(app) or .protect(app) was not called")
    return auth


def _calls(dependant: Dependant) -> Iterator[Any]:
    for sub in dependant.dependencies:
        yield sub.call
        yield from _calls(sub)


def _marked_public(route: object) -> bool:
    if is_public(route):
        return True
    if isinstance(route, APIRoute):
        return is_public(route.endpoint) or any(c is public for c in _calls(route.dependant))
    if isinstance(route, Mount):
        return is_public(route.app)
    return is_public(getattr(route, "endpoint", None))


def _protection(route: BaseRoute) -> tuple[Literal["protected", "public", "unprotected"], str]:
    """The effective protection of one route of a FastAPI app, and the scopes it requires."""
    if not isinstance(route, APIRoute):
        if _marked_public(route):
            return "public", ""
        return "unprotected", "not an APIRoute: FastAPI dependencies never run for it"
    bearers = [c for c in _calls(route.dependant) if isinstance(c, _Bearer)]
    scopes = sorted({s for c in bearers for s in c.scopes})
    explicit = any(not isinstance(c, _Authenticated) for c in bearers)
    if explicit or (bearers and not _marked_public(route)):
        return "protected", " ".join(scopes)
    return ("public" if _marked_public(route) else "unprotected"), ""


def audit_routes(app: FastAPI) -> list[RouteRow]:
    """Every route of ``app`` with its effective protection (see :mod:`jwtauth.audit`)."""
    if middleware_options(app) is not None:  # the Starlette middleware guards every route
        return audit_middleware_routes(app)
    return [
        RouteRow(path, methods, *_protection(route)) for path, methods, route in walk_routes(app)
    ]


_PROBLEM = {"content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
_RESPONSES = {
    "401": {"description": "Missing, invalid, expired or revoked access token", **_PROBLEM},
    "403": {"description": "The access token lacks a required scope", **_PROBLEM},
}
_PROBLEM_SCHEMA = {
    "type": "object",
    "description": "RFC 9457 problem details",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
    },
}


def _document(app: FastAPI, schema: dict[str, Any]) -> None:
    """Make each operation's security say what the routes enforce: one bearer requirement with
    its scopes on protected routes, none on public ones, and the 401/403 answers."""
    paths = schema.get("paths", {})
    for route in app.routes:
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        kind, scopes = _protection(route)
        for method in route.methods or ():
            operation = paths.get(route.path_format, {}).get(method.lower())
            if operation is None:
                continue
            others = [r for r in operation.pop("security", []) if SCHEME_NAME not in r]
            if kind == "protected":
                others.insert(0, {SCHEME_NAME: scopes.split()})
                responses = operation.setdefault("responses", {})
                responses.setdefault("401", _RESPONSES["401"])
                if scopes:
                    responses.setdefault("403", _RESPONSES["403"])
            if others:
                operation["security"] = others
    components = schema.setdefault("components", {})
    components.setdefault("schemas", {}).setdefault("Problem", _PROBLEM_SCHEMA)
    components.setdefault("securitySchemes", {}).setdefault(
        SCHEME_NAME, current_claims.model.model_dump(mode="json", by_alias=True, exclude_none=True)
    )
