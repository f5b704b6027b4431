"""The FastAPI adapter: the shared contract, deny by default, the OpenAPI schema, users."""

# No `from __future__ import annotations`: FastAPI reads the endpoints' annotations at run time.
import sys
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from types import ModuleType
from typing import Annotated, Any

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, WebSocket
from fastapi.routing import APIRoute

from jwtauth.errors import ConfigurationError
from jwtauth.integrations._http import Authenticator
from jwtauth.integrations.audit import audit
from jwtauth.integrations.fastapi import (
    SCHEME_NAME,
    JWTAuth,
    current_claims,
    current_user,
    public,
    require_scopes,
)
from jwtauth.types import Claims
from tests.integrations.contract import (
    CASES,
    PROTECTED,
    PUBLIC,
    REALM,
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


def contract_app(auth: JWTAuth) -> FastAPI:
    app = FastAPI()
    auth.protect(app)

    @app.get(PROTECTED)
    async def claims(claims: Annotated[Claims, Depends(current_claims)]) -> dict[str, Any]:
        return dict(claims)

    @app.get(SCOPED, dependencies=[Depends(require_scopes(REQUIRED_SCOPE))])
    async def scoped() -> dict[str, bool]:
        return {"ok": True}

    @app.get(PUBLIC)
    @public
    async def open_to_all() -> dict[str, bool]:
        return {"ok": True}

    return app


@asynccontextmanager
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with lifespan(app), httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        yield http


@asynccontextmanager
async def serve(authenticator: Authenticator) -> AsyncIterator[Get]:
    async with client(contract_app(JWTAuth(authenticator))) as http:

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


# Deny by default ---------------------------------------------------------------------------------


async def test_a_route_without_any_dependency_is_protected() -> None:
    tokens = Tokens()
    app = FastAPI()
    JWTAuth(tokens.authenticator()).protect(app)

    @app.get("/plain")
    async def plain() -> dict[str, bool]:
        return {"ok": True}

    async with client(app) as http:
        assert (await http.get("/plain")).status_code == 401
        assert (await http.get("/plain", headers=bearer(tokens.issue()))).status_code == 200


async def test_depends_public_marks_a_route_public() -> None:
    app = FastAPI()
    JWTAuth(Tokens().authenticator()).protect(app)

    @app.get("/open", dependencies=[Depends(public)])
    async def open_route() -> dict[str, bool]:
        return {"ok": True}

    async with client(app) as http:
        assert (await http.get("/open")).status_code == 200
    assert [r.protection for r in audit(app) if r.path == "/open"] == ["public"]


async def test_a_router_included_later_is_protected_too() -> None:
    app = FastAPI()
    JWTAuth(Tokens().authenticator()).protect(app)
    router = APIRouter()

    @router.get("/routed")
    async def routed() -> dict[str, bool]:
        return {"ok": True}

    app.include_router(router, prefix="/v1")
    async with client(app) as http:
        assert (await http.get("/v1/routed")).status_code == 401


def test_protect_after_routes_refuses_rather_than_leave_them_open() -> None:
    app = FastAPI()

    @app.get("/early")
    async def early() -> None:
        return None

    with pytest.raises(ConfigurationError, match="/early"):
        JWTAuth(Tokens().authenticator()).protect(app)


async def test_docs_stay_public_and_routes_added_with_add_route_are_flagged() -> None:
    app = FastAPI()
    JWTAuth(Tokens().authenticator()).protect(app)

    async def raw(request: Any) -> Any:
        from starlette.responses import PlainTextResponse

        return PlainTextResponse("raw")

    app.add_route("/raw", raw)
    async with client(app) as http:
        assert (await http.get("/openapi.json")).status_code == 200
    rows = {r.path: r.protection for r in audit(app)}
    assert rows["/openapi.json"] == rows["/docs"] == "public"
    assert rows["/raw"] == "unprotected"


# OpenAPI -----------------------------------------------------------------------------------------


async def test_openapi_shows_the_bearer_scheme_scopes_and_answers() -> None:
    app = contract_app(JWTAuth(Tokens().authenticator()))
    async with client(app) as http:
        schema = (await http.get("/openapi.json")).json()
    scheme = schema["components"]["securitySchemes"][SCHEME_NAME]
    assert scheme == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "A jwtauth access token",
    }
    protected = schema["paths"][PROTECTED]["get"]
    assert protected["security"] == [{SCHEME_NAME: []}]
    assert "401" in protected["responses"]
    assert "403" not in protected["responses"]
    scoped = schema["paths"][SCOPED]["get"]
    assert scoped["security"] == [{SCHEME_NAME: [REQUIRED_SCOPE]}]
    assert {"401", "403"} <= set(scoped["responses"])
    assert "application/problem+json" in scoped["responses"]["403"]["content"]
    assert "security" not in schema["paths"][PUBLIC]["get"]


# Users -------------------------------------------------------------------------------------------


async def test_current_user_loads_the_user_and_refuses_an_unknown_one() -> None:
    tokens = Tokens()

    async def load(claims: Claims) -> dict[str, str] | None:
        return {"name": claims["sub"]} if claims["sub"] == "alice" else None

    app = FastAPI()
    JWTAuth(tokens.authenticator(), user_loader=load).protect(app)

    @app.get("/me")
    async def me(user: Annotated[dict[str, str], Depends(current_user)]) -> dict[str, str]:
        return user

    async with client(app) as http:
        known = await http.get("/me", headers=bearer(tokens.issue()))
        ghost = await http.get("/me", headers=bearer(tokens.manager.issue("bob")))
    assert known.json() == {"name": "alice"}
    assert ghost.status_code == 401
    assert ghost.json()["type"] == "urn:jwtauth:problem:unknown_subject"
    assert 'error="invalid_token"' in ghost.headers["www-authenticate"]


# Lifespan ----------------------------------------------------------------------------------------


class Recorder:
    """A key source that records its lifecycle."""

    def __init__(self) -> None:
        self.events: list[str] = []

    async def start(self) -> None:
        self.events.append("start")

    async def close(self) -> None:
        self.events.append("close")

    async def refresh_unknown(self) -> bool:
        self.events.append("refresh")
        return False


async def test_the_lifespan_starts_and_closes_the_key_source_around_the_apps_own() -> None:
    recorder = Recorder()
    authenticator = Authenticator(Tokens().manager, keys=recorder)

    @asynccontextmanager
    async def own(app: FastAPI) -> AsyncIterator[None]:
        recorder.events.append("app up")
        yield
        recorder.events.append("app down")

    app = FastAPI(lifespan=own)
    JWTAuth(authenticator).protect(app)
    async with lifespan(app):
        assert recorder.events == ["start", "app up"]
    assert recorder.events == ["start", "app up", "app down", "close"]


# Included routers --------------------------------------------------------------------------------
# FastAPI keeps an included router as one entry of app.routes and resolves its routes lazily,
# copying the dependencies of the inclusion; every case is checked over HTTP, where it counts.

BEFORE_AND_AFTER = pytest.mark.parametrize("when", ["before", "after"])


def protected_app(tokens: Tokens, *, routers: Sequence[APIRouter] = (), when: str) -> FastAPI:
    """An app protected by ``tokens``, with ``routers`` included before or after protect."""
    app = FastAPI()
    auth = JWTAuth(tokens.authenticator())
    if when == "after":
        auth.protect(app)
    for router in routers:
        app.include_router(router)
    if when == "before":
        auth.protect(app)
    return app


def ok_routes(router: APIRouter, *paths: str) -> None:
    for path in paths:
        router.add_api_route(path, ok, name=path)


async def ok() -> dict[str, bool]:
    return {"ok": True}


async def statuses(app: FastAPI, *paths: str, token: str | None = None) -> dict[str, int]:
    async with client(app) as http:
        return {p: (await http.get(p, headers=bearer(token))).status_code for p in paths}


@BEFORE_AND_AFTER
async def test_a_router_included_before_or_after_protect_is_protected(when: str) -> None:
    tokens = Tokens()
    router = APIRouter()
    ok_routes(router, "/secret-data")
    app = protected_app(tokens, routers=[router], when=when)
    assert await statuses(app, "/secret-data") == {"/secret-data": 401}
    assert await statuses(app, "/secret-data", token=tokens.issue()) == {"/secret-data": 200}


async def test_the_refusal_of_an_included_route_is_that_of_a_direct_route() -> None:
    tokens = Tokens()
    router = APIRouter()
    ok_routes(router, "/routed")
    app = FastAPI()
    app.include_router(router)
    JWTAuth(tokens.authenticator()).protect(app)
    app.add_api_route("/direct", ok)
    async with client(app) as http:
        for headers in ({}, bearer(tokens.forged())):
            routed = await http.get("/routed", headers=headers)
            direct = await http.get("/direct", headers=headers)
            assert routed.status_code == direct.status_code == 401
            assert routed.content == direct.content
            for header in ("content-type", "www-authenticate"):
                assert routed.headers[header] == direct.headers[header]
    assert direct.headers["content-type"].startswith("application/problem+json")
    assert direct.headers["www-authenticate"].startswith(f'Bearer realm="{REALM}", error=')


@BEFORE_AND_AFTER
async def test_public_opens_exactly_its_route_inside_an_included_router(when: str) -> None:
    router = APIRouter()

    @router.get("/decorated")
    @public
    async def decorated() -> dict[str, bool]:
        return {"ok": True}

    router.add_api_route("/depends", ok, dependencies=[Depends(public)])
    ok_routes(router, "/closed")
    app = protected_app(Tokens(), routers=[router], when=when)
    assert await statuses(app, "/decorated", "/depends", "/closed") == {
        "/decorated": 200,
        "/depends": 200,
        "/closed": 401,
    }


@pytest.mark.parametrize("inner_when", ["before", "after"])
@pytest.mark.parametrize("outer_when", ["before", "after"])
async def test_nested_routers_are_protected(inner_when: str, outer_when: str) -> None:
    # inner is included into outer before or after outer is included into the app, and outer
    # before or after protect.
    tokens = Tokens()
    app = FastAPI()
    auth = JWTAuth(tokens.authenticator())
    inner, outer = APIRouter(prefix="/inner"), APIRouter(prefix="/outer")
    ok_routes(inner, "/deep")
    if inner_when == "before":
        outer.include_router(inner)
    if outer_when == "after":
        auth.protect(app)
    app.include_router(outer)
    if outer_when == "before":
        auth.protect(app)
    if inner_when == "after":
        outer.include_router(inner)
    assert await statuses(app, "/outer/inner/deep") == {"/outer/inner/deep": 401}
    ok = await statuses(app, "/outer/inner/deep", token=tokens.issue())
    assert ok == {"/outer/inner/deep": 200}


@BEFORE_AND_AFTER
async def test_routes_added_to_an_already_included_router_are_protected(when: str) -> None:
    tokens = Tokens()
    router = APIRouter()
    ok_routes(router, "/first")
    app = protected_app(tokens, routers=[router], when=when)
    # A request first, so FastAPI has resolved (and cached) the router's routes.
    assert await statuses(app, "/first") == {"/first": 401}

    @router.get("/decorated")
    async def decorated() -> dict[str, bool]:
        return {"ok": True}

    router.add_api_route("/added", ok)

    @router.api_route("/any", methods=["GET", "POST"])
    async def any_method() -> dict[str, bool]:
        return {"ok": True}

    late = ("/decorated", "/added", "/any")
    assert await statuses(app, *late) == dict.fromkeys(late, 401)
    assert await statuses(app, *late, token=tokens.issue()) == dict.fromkeys(late, 200)
    async with client(app) as http:
        assert (await http.post("/any")).status_code == 401


async def test_protect_reaches_the_routes_fastapi_resolved_before_it() -> None:
    router = APIRouter()
    ok_routes(router, "/resolved")
    app = FastAPI()
    app.include_router(router)
    assert app.url_path_for("/resolved") == "/resolved"  # FastAPI resolves and caches the route
    JWTAuth(Tokens().authenticator()).protect(app)
    assert await statuses(app, "/resolved") == {"/resolved": 401}


async def test_app_add_api_route_and_api_route_are_protected() -> None:
    tokens = Tokens()
    app = FastAPI()
    JWTAuth(tokens.authenticator()).protect(app)
    app.add_api_route("/added", ok)

    @app.api_route("/any", methods=["GET", "PUT"])
    async def any_method() -> dict[str, bool]:
        return {"ok": True}

    assert await statuses(app, "/added", "/any") == {"/added": 401, "/any": 401}
    async with client(app) as http:
        assert (await http.put("/any")).status_code == 401
        assert (await http.put("/any", headers=bearer(tokens.issue()))).status_code == 200


@BEFORE_AND_AFTER
async def test_a_routers_own_prefix_and_dependencies_come_after_the_token(when: str) -> None:
    tokens = Tokens()
    ran: list[str] = []

    async def record() -> None:
        ran.append("router dependency")

    router = APIRouter(prefix="/reports", dependencies=[Depends(record)])
    ok_routes(router, "/daily")
    app = FastAPI()
    auth = JWTAuth(tokens.authenticator())
    if when == "after":
        auth.protect(app)
    app.include_router(router, prefix="/v1", dependencies=[Depends(require_scopes("reports:read"))])
    if when == "before":
        auth.protect(app)
    path = "/v1/reports/daily"
    async with client(app) as http:
        assert (await http.get(path)).status_code == 401
        assert ran == []  # refused before the router's own dependency ran
        unscoped = await http.get(path, headers=bearer(tokens.issue()))
        assert unscoped.status_code == 403
        scoped = await http.get(path, headers=bearer(tokens.issue(scope="reports:read")))
        assert scoped.status_code == 200
    assert ran == ["router dependency"]
    assert [(r.protection, r.detail) for r in audit(app) if r.path == path] == [
        ("protected", "reports:read")
    ]


async def test_an_inclusion_marked_public_opens_that_inclusion_only() -> None:
    router = APIRouter()
    ok_routes(router, "/page")
    app = FastAPI()
    app.include_router(router, prefix="/open", dependencies=[Depends(public)])
    JWTAuth(Tokens().authenticator()).protect(app)
    app.include_router(router, prefix="/closed")
    assert await statuses(app, "/open/page", "/closed/page") == {
        "/open/page": 200,
        "/closed/page": 401,
    }
    rows = {r.path: r.protection for r in audit(app)}
    assert rows["/open/page"] == "public"
    assert rows["/closed/page"] == "protected"


@pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")
@BEFORE_AND_AFTER
def test_a_websocket_route_of_an_included_router_is_protected(when: str) -> None:
    from starlette.testclient import TestClient, WebSocketDenialResponse

    tokens = Tokens()
    router = APIRouter()

    @router.websocket("/ws")
    async def echo(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text("hello")
        await websocket.close()

    app = FastAPI()
    auth = JWTAuth(tokens.authenticator())
    if when == "after":
        auth.protect(app)
    app.include_router(router, prefix="/live")
    if when == "before":
        auth.protect(app)
    with TestClient(app) as http:
        with pytest.raises(WebSocketDenialResponse) as refused:
            http.websocket_connect("/live/ws").__enter__()
        assert refused.value.status_code == 401
        assert refused.value.headers["www-authenticate"] == f'Bearer realm="{REALM}"'
        with http.websocket_connect("/live/ws", headers=bearer(tokens.issue())) as socket:
            assert socket.receive_text() == "hello"
    assert [r.protection for r in audit(app) if r.path == "/live/ws"] == ["protected"]


@BEFORE_AND_AFTER
async def test_frontend_files_are_protected_unless_their_inclusion_is_public(
    when: str, tmp_path: Path
) -> None:
    tokens = Tokens()
    (tmp_path / "index.html").write_text("<h1>shop</h1>")
    site, docs = APIRouter(), APIRouter()
    site.frontend("/site", directory=tmp_path)
    docs.frontend("/manual", directory=tmp_path)
    app = FastAPI()
    auth = JWTAuth(tokens.authenticator())
    if when == "after":
        auth.protect(app)
    app.include_router(site)
    app.include_router(docs, dependencies=[Depends(public)])
    if when == "before":
        auth.protect(app)
    paths = ("/site/index.html", "/manual/index.html")
    assert await statuses(app, *paths) == {paths[0]: 401, paths[1]: 200}
    assert await statuses(app, paths[0], token=tokens.issue()) == {paths[0]: 200}
    rows = {r.path: r.protection for r in audit(app)}
    assert rows["/site/{path:path}"] == "protected"
    assert rows["/manual/{path:path}"] == "public"


# What cannot be covered is refused, loudly ------------------------------------------------------


def test_protect_refuses_a_direct_websocket_route_added_before() -> None:
    app = FastAPI()

    @app.websocket("/early-ws")
    async def early(websocket: WebSocket) -> None:
        await websocket.close()

    with pytest.raises(ConfigurationError, match="/early-ws"):
        JWTAuth(Tokens().authenticator()).protect(app)


def test_protect_refuses_app_frontend_files_added_before(tmp_path: Path) -> None:
    app = FastAPI()
    app.frontend("/", directory=tmp_path)
    with pytest.raises(ConfigurationError, match="frontend"):
        JWTAuth(Tokens().authenticator()).protect(app)


async def test_protect_accepts_direct_routes_added_before_that_are_not_left_open() -> None:
    tokens = Tokens()
    app = FastAPI()

    @app.get("/health")
    @public
    async def health() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/claims")
    async def claims(claims: Annotated[Claims, Depends(current_claims)]) -> dict[str, Any]:
        return dict(claims)

    JWTAuth(tokens.authenticator()).protect(app)
    assert await statuses(app, "/health", "/claims") == {"/health": 200, "/claims": 401}


async def test_a_route_appended_behind_fastapis_back_stops_the_startup() -> None:
    app = FastAPI()
    JWTAuth(Tokens().authenticator()).protect(app)
    app.router.routes.append(APIRoute("/appended", ok))  # bypasses the app's dependencies
    with pytest.raises(ConfigurationError, match="/appended"):
        async with lifespan(app):
            pass


# The audit and the schema of included routers ---------------------------------------------------


def audit_app() -> FastAPI:
    app = FastAPI()
    reports = APIRouter(prefix="/reports")
    reports.add_api_route("/daily", ok, dependencies=[Depends(require_scopes("reports:read"))])
    reports.add_api_route("/sample", ok, dependencies=[Depends(public)])
    admin = APIRouter(prefix="/admin")
    admin.add_api_route("/users", ok)
    reports.include_router(admin)

    async def raw(request: Any) -> Any:
        from starlette.responses import PlainTextResponse

        return PlainTextResponse("raw")

    reports.add_route("/raw", raw)  # a plain Starlette route: FastAPI dependencies never run
    app.include_router(reports, prefix="/v1")
    JWTAuth(Tokens().authenticator()).protect(app)
    return app


def test_audit_routes_lists_included_routes_with_full_paths(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from typer.testing import CliRunner

    from jwtauth.cli import app as cli

    module = ModuleType("included_routers_app")
    module.app = audit_app()  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, module.__name__, module)
    result = CliRunner().invoke(cli, ["audit-routes", f"{module.__name__}:app"])
    assert result.exit_code == 1  # the plain route
    rows = [line.split(maxsplit=3) for line in result.stdout.splitlines()]
    assert ["protected", "GET", "/v1/reports/daily", "reports:read"] in rows
    assert ["public", "GET", "/v1/reports/sample"] in rows
    assert ["protected", "GET", "/v1/reports/admin/users"] in rows
    # FastAPI does not give a router's plain routes its own prefix, only the inclusion's.
    assert [row[:3] for row in rows if row[0] == "UNPROTECTED"] == [
        ["UNPROTECTED", "GET,HEAD", "/v1/raw"]
    ]
    assert all(len(row) >= 3 and row[2].startswith("/") for row in rows[1:])


async def test_the_plain_route_the_audit_flags_is_served_where_it_says() -> None:
    assert await statuses(audit_app(), "/v1/raw", "/v1/reports/raw") == {
        "/v1/raw": 200,  # open: the audit's UNPROTECTED row
        "/v1/reports/raw": 404,
    }


async def test_openapi_documents_the_operations_of_included_routers() -> None:
    app = audit_app()
    async with client(app) as http:
        schema = (await http.get("/openapi.json")).json()
    paths = schema["paths"]
    daily = paths["/v1/reports/daily"]["get"]
    assert daily["security"] == [{SCHEME_NAME: ["reports:read"]}]
    assert {"401", "403"} <= set(daily["responses"])
    users = paths["/v1/reports/admin/users"]["get"]
    assert users["security"] == [{SCHEME_NAME: []}]
    assert "401" in users["responses"]
    assert "403" not in users["responses"]
    sample = paths["/v1/reports/sample"]["get"]
    assert "security" not in sample
    assert "401" not in sample["responses"]
