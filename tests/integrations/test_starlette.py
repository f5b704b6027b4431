"""The Starlette middleware: the shared contract, public paths and markers, WebSockets."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, MutableMapping
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Host, Mount, Route, Router

from jwtauth.errors import ConfigurationError
from jwtauth.integrations._http import Authenticator
from jwtauth.integrations.audit import audit
from jwtauth.integrations.starlette import JWTAuthMiddleware, claims_of, public, require_scopes
from tests.integrations.contract import (
    CASES,
    PROTECTED,
    PUBLIC,
    REQUIRED_SCOPE,
    SCOPED,
    Case,
    Get,
    Reply,
    Tokens,
    bearer,
    check,
    check_logout_all_propagates,
    lifespan,
)

pytestmark = pytest.mark.anyio


async def claims(request: Request) -> Response:
    return JSONResponse(dict(claims_of(request)))


async def ok(request: Request) -> Response:
    return JSONResponse({"ok": True})


def app_with(authenticator: Authenticator, routes: list[Any], **options: Any) -> Starlette:
    middleware = Middleware(JWTAuthMiddleware, authenticator=authenticator, **options)
    return Starlette(routes=routes, middleware=[middleware])


def contract_app(authenticator: Authenticator) -> Starlette:
    return app_with(
        authenticator,
        [
            Route(PROTECTED, claims),
            Route(SCOPED, require_scopes(REQUIRED_SCOPE)(ok)),
            public(Route(PUBLIC, ok)),
        ],
    )


@asynccontextmanager
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with lifespan(app), httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        yield http


@asynccontextmanager
async def serve(authenticator: Authenticator) -> AsyncIterator[Get]:
    async with client(contract_app(authenticator)) as http:

        async def get(path: str, headers: Mapping[str, str]) -> Reply:
            answer = await http.get(path, headers=dict(headers))
            return Reply(answer.status_code, answer.headers, answer.content)

        yield get


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
async def test_contract(case: Case) -> None:
    await check(serve, case)


async def test_logout_all_from_another_process_is_honoured_within_a_second(
    redis_url: str,
) -> None:
    assert await check_logout_all_propagates(serve, redis_url) < 1.0


# Public paths and markers ------------------------------------------------------------------------


async def test_public_paths_are_exact_or_explicit_prefixes() -> None:
    routes = [Route(p, ok) for p in ("/health", "/healthz", "/static/a.css", "/staticx")]
    app = app_with(Tokens().authenticator(), routes, public_paths=["/health", "/static/*"])
    async with client(app) as http:
        assert (await http.get("/health")).status_code == 200
        assert (await http.get("/static/a.css")).status_code == 200
        assert (await http.get("/healthz")).status_code == 401  # not a prefix match
        assert (await http.get("/staticx")).status_code == 401  # the prefix ends with its '/'


@pytest.mark.parametrize("bad", ["health", "/static*", "/a/*/b"])
def test_a_malformed_public_path_is_refused(bad: str) -> None:
    with pytest.raises(ConfigurationError):
        JWTAuthMiddleware(Starlette(), Tokens().authenticator(), public_paths=[bad])


async def test_a_public_marker_opens_only_its_methods_and_its_pattern() -> None:
    async def item(request: Request) -> Response:
        return JSONResponse({"id": request.path_params["id"]})

    routes = [
        public(Route("/items/{id:int}", item, methods=["GET"])),
        Route("/items/{id:int}", ok, methods=["DELETE"]),
        Mount("/docs", routes=[Route("/page", ok)]),
    ]
    app = app_with(Tokens().authenticator(), routes)
    async with client(app) as http:
        assert (await http.get("/items/7")).json() == {"id": 7}
        assert (await http.delete("/items/7")).status_code == 401
        assert (await http.get("/items/x")).status_code == 401  # no public route matches
        assert (await http.get("/docs/page")).status_code == 401


async def test_a_public_route_opens_only_the_requests_dispatched_to_it() -> None:
    # The router runs the first route that matches, on the matching host; a public pattern
    # further down, or a public route of another host, must not open a protected one.
    routes = [
        Route("/users/me", claims, methods=["GET", "POST"]),
        public(Route("/users/{uid}", ok, methods=["GET", "POST"])),
        Host("admin.example.com", app=Router(routes=[Route("/", claims)])),
        Host("www.example.com", app=Router(routes=[public(Route("/", ok))])),
    ]
    app = app_with(Tokens().authenticator(), routes)
    async with client(app) as http:
        assert (await http.post("/users/me")).status_code == 401
        assert (await http.post("/users/42")).status_code == 200
        assert (await http.get("/", headers={"host": "admin.example.com"})).status_code == 401
        assert (await http.get("/", headers={"host": "www.example.com"})).status_code == 200


async def test_require_scopes_on_a_public_route_still_requires_a_token() -> None:
    tokens = Tokens()
    routes = [public(Route("/odd", require_scopes(REQUIRED_SCOPE)(ok)))]
    app = app_with(tokens.authenticator(), routes)
    async with client(app) as http:
        assert (await http.get("/odd")).status_code == 401
        granted = bearer(tokens.issue(scope=REQUIRED_SCOPE))
        assert (await http.get("/odd", headers=granted)).status_code == 200
    assert [r.protection for r in audit(app)] == ["protected"]


def test_the_audit_reports_what_the_middleware_enforces() -> None:
    routes = [Route("/a", ok), public(Route("/b", ok)), Route("/c", require_scopes("x")(ok))]
    app = app_with(Tokens().authenticator(), [*routes, Route("/d", ok)], public_paths=["/d"])
    rows = {r.path: (r.protection, r.detail) for r in audit(app)}
    assert rows == {
        "/a": ("protected", ""),
        "/b": ("public", ""),
        "/c": ("protected", "x"),
        "/d": ("public", ""),
    }
    bare = Starlette(routes=routes)
    assert {r.protection for r in audit(bare)} == {"unprotected", "public"}


async def test_marking_an_endpoint_function_opens_every_route_serving_it() -> None:
    async def shared(request: Request) -> Response:
        return JSONResponse({"ok": True})

    app = app_with(Tokens().authenticator(), [Route("/one", public(shared)), Route("/two", shared)])
    async with client(app) as http:
        assert (await http.get("/one")).status_code == 200
        assert (await http.get("/two")).status_code == 200
    assert {r.protection for r in audit(app)} == {"public"}


# WebSockets and lifespan -------------------------------------------------------------------------


async def test_an_unauthenticated_websocket_is_closed_before_the_app_sees_it() -> None:
    reached: list[bool] = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        reached.append(True)

    middleware = JWTAuthMiddleware(inner, Tokens().authenticator())
    sent: list[dict[str, Any]] = []

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(dict(message))

    async def receive() -> dict[str, Any]:
        return {"type": "websocket.connect"}

    scope = {"type": "websocket", "path": "/ws", "headers": [], "app": inner}
    await middleware(scope, receive, send)
    assert sent == [{"type": "websocket.close", "code": 1008}]
    assert reached == []


async def test_the_lifespan_starts_and_closes_the_key_source() -> None:
    from tests.integrations.test_fastapi import Recorder

    recorder = Recorder()
    app = app_with(Authenticator(Tokens().manager, keys=recorder), [Route("/", ok)])
    async with lifespan(app):
        assert recorder.events == ["start"]
    assert recorder.events == ["start", "close"]
