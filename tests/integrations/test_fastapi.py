"""The FastAPI adapter: the shared contract, deny by default, the OpenAPI schema, users."""

# No `from __future__ import annotations`: FastAPI reads the endpoints' annotations at run time.
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Annotated, Any

import httpx
import pytest
from fastapi import Depends, FastAPI

from jwtauth.audit import audit
from jwtauth.errors import ConfigurationError
from jwtauth.integrations._http import Authenticator
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
    from fastapi import APIRouter

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
