"""The auth API inside a host FastAPI or Starlette app (EmbeddedAuth): the server's endpoints,
errors and headers under the host's routes, one token check for both, one life."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from jwtauth.config import Settings
from jwtauth.integrations.fastapi import JWTAuth, public, require_scopes
from jwtauth.integrations.starlette import JWTAuthMiddleware
from jwtauth.server import EmbeddedAuth
from jwtauth.stores.sql import SQLStore
from tests.server.support import CLIENT_IP, FAST_HASHER, Api, bearer

pytestmark = pytest.mark.anyio


@pytest.fixture
def settings(tmp_path: Path, clean_env: None) -> Settings:
    return Settings.load(state_dir=tmp_path / "state", rate_limits=False)


def fastapi_host(auth: EmbeddedAuth) -> FastAPI:
    app = FastAPI()
    JWTAuth(auth.authenticator).protect(app)
    orders = APIRouter()

    @orders.get("/orders")
    async def list_orders() -> list[str]:
        return ["o-1"]

    app.include_router(orders)
    app.include_router(auth.router)

    @app.get("/health")
    @public
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


@asynccontextmanager
async def reach(app: object, lifespan: bool = True) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=(CLIENT_IP, 40000))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        if lifespan:
            async with app.router.lifespan_context(app):  # type: ignore[attr-defined]
                yield http
        else:
            yield http


async def test_a_fastapi_host_serves_the_auth_api_and_its_own_routes(settings: Settings) -> None:
    auth = EmbeddedAuth(settings, hasher=FAST_HASHER)
    app = fastapi_host(auth)
    async with reach(app) as http:
        api = Api(http)
        assert (await http.get("/orders")).status_code == 401
        assert (await http.get("/health")).status_code == 200
        tokens = await api.register_and_login()
        access = bearer(tokens["access_token"])
        assert (await http.get("/orders", headers=access)).json() == ["o-1"]
        assert (await api.me(tokens["access_token"])).status_code == 200
        jwks = await http.get("/.well-known/jwks.json")
        assert jwks.status_code == 200
        keys = jwks.json()["keys"]
        assert keys
        assert {key["use"] for key in keys} == {"sig"}
        assert not any("d" in key for key in keys)
        # A logout through the mounted API is honoured by the host's own routes at once.
        assert (await http.post("/auth/logout", headers=access)).status_code == 204
        assert (await http.get("/orders", headers=access)).status_code == 401
    assert not auth.started  # the host's lifespan closed it


async def test_mounted_routes_answer_with_the_servers_errors_and_headers(
    settings: Settings,
) -> None:
    async with reach(fastapi_host(EmbeddedAuth(settings, hasher=FAST_HASHER))) as http:
        for response in (
            await http.get("/auth/no-such-route"),
            await http.get("/auth/login"),  # wrong method
            await http.post(
                "/auth/login", content=b"[]", headers={"content-type": "application/json"}
            ),
            await http.get("/auth/me"),
        ):
            assert response.status_code in {401, 404, 405, 422}
            assert response.headers["content-type"].startswith("application/problem+json")
            assert response.headers["x-frame-options"] == "DENY"
            assert response.headers["cache-control"] == "no-store"


async def test_no_slash_redirect_leaves_the_origin(settings: Settings) -> None:
    async with reach(fastapi_host(EmbeddedAuth(settings, hasher=FAST_HASHER))) as http:
        response = await http.post(
            "/auth/login/",
            json={"email": "a@example.com", "password": "x"},
            headers={"host": "evil.example"},
        )
    assert response.status_code == 404
    assert "location" not in response.headers


async def test_before_its_start_the_auth_api_answers_503_not_500(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    auth = EmbeddedAuth(settings, hasher=FAST_HASHER)
    app = FastAPI()
    app.mount("/auth", auth.app)  # mounted by hand, without the router's lifespan
    async with reach(app, lifespan=False) as http:
        response = await http.post("/auth/login", json={})
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "EmbeddedAuth.start()" in caplog.text


async def test_the_claims_hook_reaches_the_hosts_scope_checks(settings: Settings) -> None:
    auth = EmbeddedAuth(
        settings, hasher=FAST_HASHER, claims_hook=lambda user: {"scope": "orders:write"}
    )
    app = FastAPI()
    JWTAuth(auth.authenticator).protect(app)
    app.include_router(auth.router)

    @app.post("/orders", dependencies=[Depends(require_scopes("orders:write"))])
    async def create_order() -> dict[str, str]:
        return {"id": "o-2"}

    async with reach(app) as http:
        api = Api(http)
        tokens = await api.register_and_login()
        refreshed = (await api.refresh(tokens["refresh_token"])).json()
        for token in (tokens["access_token"], refreshed["access_token"]):
            assert (await http.post("/orders", headers=bearer(token))).status_code == 200


async def test_registration_can_be_left_to_the_host(settings: Settings) -> None:
    auth = EmbeddedAuth(settings, hasher=FAST_HASHER, registration=False)
    async with reach(fastapi_host(auth)) as http:
        response = await http.post(
            "/auth/register", json={"email": "a@example.com", "password": "x" * 20}
        )
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_a_starlette_host_mounts_the_routes(settings: Settings) -> None:
    auth = EmbeddedAuth(settings, hasher=FAST_HASHER)

    async def orders(request: Request) -> JSONResponse:
        return JSONResponse(["o-1"])

    app = Starlette(
        routes=[*auth.routes, Route("/orders", orders)],
        lifespan=lambda _app: auth.lifespan(),
    )
    # The mounted auth routes are marked public: they check their own tokens.
    app.add_middleware(JWTAuthMiddleware, authenticator=auth.authenticator)
    async with reach(app) as http:
        tokens = await Api(http).register_and_login()
        assert (await http.get("/orders")).status_code == 401
        response = await http.get("/orders", headers=bearer(tokens["access_token"]))
        assert response.json() == ["o-1"]


async def test_the_database_pool_is_the_configured_size(settings: Settings) -> None:
    # N processes open up to 2 * N * JWTAUTH_DATABASE_POOL_SIZE connections (docs/capacity.md).
    auth = EmbeddedAuth(settings.model_copy(update={"database_pool_size": 3}), hasher=FAST_HASHER)
    await auth.start()
    try:
        store = auth.state.service.refresh_store if auth.state is not None else None
        assert isinstance(store, SQLStore)
        assert store.engine.pool.size() == 3  # type: ignore[attr-defined]
        assert store.engine.pool._max_overflow == 3  # type: ignore[attr-defined]
    finally:
        await auth.close()
