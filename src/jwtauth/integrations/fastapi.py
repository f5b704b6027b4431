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

Deny by default covers every FastAPI route, however and whenever it is added: ``@app.get`` and
``app.add_api_route`` after :meth:`JWTAuth.protect`, and every route of included routers
(nested ones too), whether the router was included before or after ``protect`` and whether its
routes were added before or after it was included.

Every dependency is ``async`` (FastAPI would run a plain ``def`` in a worker thread, which costs
far more than a cached verification) and shows in the OpenAPI schema as one HTTP bearer scheme
with its 401 and 403 answers. Refusals are problem+json with an RFC 6750 challenge, from
:mod:`jwtauth.integrations._http`.
"""

# No `from __future__ import annotations`: FastAPI reads the dependencies' signatures at run
# time, and the dependencies are instances, whose string annotations it could not resolve.
import inspect
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, suppress
from types import SimpleNamespace
from typing import Annotated, Any, Literal, TypeVar, overload

from fastapi import Depends, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.models import HTTPBearer as HTTPBearerModel

# FastAPI (0.165) keeps an included router as one _IncludedRouter entry and resolves its routes
# lazily into _EffectiveRouteContext objects (the inclusion's prefix and dependencies applied);
# only the private names reach them. A FastAPI that renames them fails this import loudly rather
# than leaving included routes unprotected.
from fastapi.routing import (
    APIRoute,
    _EffectiveRouteContext,
    _FrontendRouteGroup,
    _get_scope_effective_route_context,
    _IncludedRouter,
    _iter_routes_with_context,
    _join_frontend_paths,
)
from fastapi.security.base import SecurityBase
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.types import Scope

from jwtauth.errors import (
    ConfigurationError,
    InsufficientScopeError,
    JWTAuthError,
    ServiceUnavailableError,
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
from jwtauth.integrations.audit import RouteRow
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
_DECIDED = "_jwtauth_public"  # the attribute of a route caching route_is_public's answer
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
        route = _dispatched(connection.scope)
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

    def install(self, app: FastAPI) -> None:
        """Serve this app's dependencies: error answers, lifespan, OpenAPI. Routes stay opt-in
        (``Depends(current_claims)``); :meth:`protect` makes them opt-out."""
        if getattr(app.state, _STATE, self) is not self:
            raise ConfigurationError("another JWTAuth is already installed on this app")
        setattr(app.state, _STATE, self)
        for error in (TokenError, InsufficientScopeError, ServiceUnavailableError):
            app.add_exception_handler(error, self._answer)
        app.router.lifespan_context = self._lifespan(app, app.router.lifespan_context)
        app.openapi = _documented(app)  # type: ignore[method-assign]

    def protect(self, app: FastAPI) -> None:
        """:meth:`install`, and deny by default: every FastAPI route (``@app.get`` and the
        like, ``app.add_api_route``, WebSocket routes, ``app.frontend`` files) added from now
        on, and every route of every router included, before or after this call, nested or
        not, requires a valid token unless marked :data:`public`. The API docs stay public.

        Not covered: plain Starlette routes (``app.add_route``, ``router.add_route``) and
        mounted apps (``app.mount``), which FastAPI dependencies never reach.
        ``jwtauth audit-routes`` reports them as unprotected; protect them with
        :class:`jwtauth.integrations.starlette.JWTAuthMiddleware` or mark them public.

        Raises:
            ConfigurationError: FastAPI routes were added to the app itself before (their
                dependencies are fixed when they are added, so they would be left open).
        """
        early = _unguarded(app, included=False)
        if early:
            raise ConfigurationError(
                f"protect(app) must come before the routes; unprotected: {', '.join(early)}"
            )
        self.install(app)
        guard = Depends(authenticated)
        # Routes added to the app, and routers included from now on, copy these dependencies.
        app.router.dependencies.insert(0, guard)
        # A router included before copied the app's dependencies at that time: give its
        # inclusion the guard, and make FastAPI rebuild the routes it resolved from it (nested
        # inclusions are rebuilt from this one).
        for route in app.router.routes:
            if isinstance(route, _IncludedRouter):
                route.include_context.dependencies.insert(0, guard)
                route.original_router._mark_routes_changed()
        docs = {app.openapi_url, app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url}
        for route in app.routes:
            if isinstance(route, Route) and route.path in docs:
                mark_public(route.endpoint)
        _refuse_unguarded(app)

    def route_is_public(self, route: object) -> bool:
        """True when ``route`` (a matched route, or FastAPI's effective context of a route of an
        included router) is marked public; decided once per route."""
        decided = getattr(route, _DECIDED, None)
        if not isinstance(decided, bool):
            decided = _marked_public(route)
            # On the route itself, not in a table by id(): FastAPI rebuilds the contexts of an
            # included router when its routes change, and a new one could reuse a freed id.
            with suppress(AttributeError):  # a route class with __slots__: decide every time
                setattr(route, _DECIDED, decided)
        return decided

    async def _answer(self, request: Request, exc: Exception) -> Response:
        if not isinstance(exc, JWTAuthError):  # Starlette types handlers for any Exception
            raise exc
        answer = self.authenticator.answer(exc)
        return Response(answer.body, answer.status, headers=dict(answer.headers))

    def _lifespan(self, protected: FastAPI, inner: Any) -> Callable[[Any], Any]:
        authenticator = self.authenticator

        @asynccontextmanager
        async def lifespan(app: Any) -> AsyncIterator[Any]:
            # Every public way of adding a FastAPI route is covered; this catches the others
            # (a route appended to app.router.routes) before the app serves anything.
            if _is_protected(protected):
                _refuse_unguarded(protected)
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


def _dispatched(scope: Scope) -> object | None:
    """What FastAPI runs the request's dependencies for: the effective context of a route of an
    included router (its inclusion's prefix and dependencies applied), else the matched route."""
    route = scope.get("route")
    context = _get_scope_effective_route_context(scope)
    if isinstance(context, _EffectiveRouteContext):
        if route is not None and (
            route is context.original_route or route is context.starlette_route
        ):
            return context
        if route is None and isinstance(context.original_route, _FrontendRouteGroup):
            return context
    return route


def _dependant_of(route: object) -> Dependant | None:
    """The dependencies FastAPI solves for ``route``; ``None`` for a plain Starlette route."""
    if isinstance(route, _EffectiveRouteContext) and route.starlette_route is not None:
        route = route.starlette_route  # a WebSocket route (or a plain one) rebuilt with them
    dependant = getattr(route, "dependant", None)
    return dependant if isinstance(dependant, Dependant) else None


def _marked_public(route: object) -> bool:
    if isinstance(route, _EffectiveRouteContext):
        original = route.original_route
        if is_public(original) or is_public(getattr(original, "endpoint", None)):
            return True
        if isinstance(original, Mount) and is_public(original.app):
            return True
    if is_public(route) or is_public(getattr(route, "endpoint", None)):
        return True
    if isinstance(route, Mount):
        return is_public(route.app)
    dependant = _dependant_of(route)
    return dependant is not None and any(c is public for c in _calls(dependant))


def _protection(
    route: object, *, markable: bool = True
) -> tuple[Literal["protected", "public", "unprotected"], str]:
    """The effective protection of one route of a FastAPI app, and the scopes it requires.
    ``markable`` is false where the request path cannot see the route's public mark."""
    marked = markable and _marked_public(route)
    dependant = _dependant_of(route)
    if dependant is None:
        if marked:
            return "public", ""
        return "unprotected", "not an APIRoute: FastAPI dependencies never run for it"
    bearers = [c for c in _calls(dependant) if isinstance(c, _Bearer)]
    scopes = sorted({s for c in bearers for s in c.scopes})
    explicit = any(not isinstance(c, _Authenticated) for c in bearers)
    if explicit or (bearers and not marked):
        return "protected", " ".join(scopes)
    return ("public" if marked else "unprotected"), ""


def _frontends(app: FastAPI) -> Iterator[tuple[_FrontendRouteGroup, _EffectiveRouteContext | None]]:
    """The ``frontend()`` file groups of the app, and of its included routers with their
    effective contexts."""
    for candidate in app.router._iter_low_priority_routes():
        if isinstance(candidate, _FrontendRouteGroup):
            yield candidate, None
        elif isinstance(candidate, _EffectiveRouteContext) and isinstance(
            candidate.original_route, _FrontendRouteGroup
        ):
            yield candidate.original_route, candidate


def _served(app: FastAPI) -> Iterator[tuple[str, tuple[str, ...], object, bool]]:
    """Every route the app dispatches to: its full path, methods, what decides its protection
    (see :func:`_dispatched`), and whether a public mark on it counts."""
    for route, context in _iter_routes_with_context(app.router.routes):
        if context is None:
            yield from ((*row, True) for row in walk_routes(SimpleNamespace(routes=[route])))
        elif context.starlette_route is None:  # an APIRoute of an included router
            yield context.path, tuple(sorted(context.methods or ("*",))), context, True
        else:
            rebuilt = context.starlette_route
            for path, methods, leaf in walk_routes(SimpleNamespace(routes=[rebuilt])):
                yield path, methods, context if leaf is rebuilt else leaf, True
    for group, context in _frontends(app):
        prefix = context.frontend_prefix if context is not None else ""
        for page in group.routes:
            path = _join_frontend_paths(prefix, page.path).rstrip("/") + "/{path:path}"
            # The request path finds the effective context of an included group, not the app's
            # own group (nor so its public mark).
            yield path, tuple(sorted(page.methods)), context or group, context is not None


def _unguarded(app: FastAPI, *, included: bool = True) -> list[str]:
    """The paths of the routes FastAPI solves dependencies for (the app's own, and with
    ``included`` its included routers', not those of mounted apps) that are neither protected
    nor marked public."""
    routes: list[tuple[object, bool, str]] = []
    for route, context in _iter_routes_with_context(app.routes):
        if context is None:
            routes.append((route, True, str(getattr(route, "path", ""))))
        elif included:
            path = getattr(context.starlette_route, "path", None) or context.path
            routes.append((context, True, str(path)))
    for group, context in _frontends(app):
        if context is None or included:
            prefix = context.frontend_prefix if context is not None else ""
            pages = (_join_frontend_paths(prefix, page.path) for page in group.routes)
            routes.append((context or group, context is not None, f"frontend {' '.join(pages)}"))
    return [
        path
        for route, markable, path in routes
        if _dependant_of(route) is not None
        and _protection(route, markable=markable)[0] == "unprotected"
    ]


def _refuse_unguarded(app: FastAPI) -> None:
    unguarded = _unguarded(app)
    if unguarded:
        raise ConfigurationError(
            f"deny by default did not reach these routes, left open: {', '.join(unguarded)}"
        )


def _is_protected(app: FastAPI) -> bool:
    return any(getattr(d, "dependency", None) is authenticated for d in app.router.dependencies)


def audit_routes(app: FastAPI) -> list[RouteRow]:
    """Every route of ``app`` with its effective protection (see
    :mod:`jwtauth.integrations.audit`), the routes of included routers with their full paths."""
    if middleware_options(app) is not None:  # the Starlette middleware guards every route
        return audit_middleware_routes(app)
    return [
        RouteRow(path, methods, *_protection(route, markable=markable))
        for path, methods, route, markable in _served(app)
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
    for original, context in _iter_routes_with_context(app.routes):
        if not isinstance(original, APIRoute):
            continue
        route: APIRoute | _EffectiveRouteContext = original if context is None else context
        if not route.include_in_schema:
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
