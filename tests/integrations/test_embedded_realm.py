# mypy: disable-error-code="import-untyped,misc,untyped-decorator"
# (Django and DRF ship no type information.)
"""The configured realm on every 401 of the embedded auth API and of the host's protected
routes, per framework; by default the server's, ``jwtauth`` (issue 12)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integrations.django_project import configure, jwtauth_settings

configure()  # before DRF is imported: its views read the settings at import

from django.test import override_settings  # noqa: E402
from django.urls import include, path  # noqa: E402
from fastapi import FastAPI  # noqa: E402
from flask import Flask  # noqa: E402
from rest_framework.response import Response  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402
from rest_framework.views import APIView  # noqa: E402
from starlette.applications import Starlette  # noqa: E402
from starlette.requests import Request  # noqa: E402
from starlette.responses import JSONResponse  # noqa: E402
from starlette.routing import Route  # noqa: E402

from jwtauth.config import Settings  # noqa: E402
from jwtauth.errors import ConfigurationError  # noqa: E402
from jwtauth.integrations.django_app.auth_api import jwtauth_urls  # noqa: E402
from jwtauth.integrations.fastapi import JWTAuth as FastAPIJWTAuth  # noqa: E402
from jwtauth.integrations.flask import JWTAuth as FlaskJWTAuth  # noqa: E402
from jwtauth.integrations.flask import jwt_required  # noqa: E402
from jwtauth.integrations.starlette import JWTAuthMiddleware  # noqa: E402
from jwtauth.server import EmbeddedAuth  # noqa: E402
from jwtauth.server.app import create_app  # noqa: E402
from tests.server.support import FAST_HASHER  # noqa: E402

REALM = "shop api"
DEFAULT = "jwtauth"  # what `jwtauth serve` answers
FORGED = {"Authorization": "Bearer not.a.token"}


def assert_challenges(missing: Any, refused: Any, realm: str) -> None:
    """``missing``: a 401 to no token; ``refused``: a 401 to a bad one (RFC 6750 section 3)."""
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == f'Bearer realm="{realm}"'
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"].startswith(
        f'Bearer realm="{realm}", error="invalid_token"'
    )


# Django: JWTAUTH['REALM'] ---------------------------------------------------------------------


class OrdersView(APIView):  # protected by the app's deny-by-default permission
    def get(self, request: Any) -> Response:
        return Response(["o-1"])


urlpatterns = [path("orders", OrdersView.as_view()), path("", include(jwtauth_urls))]


@pytest.mark.parametrize("configured", [REALM, None], ids=["REALM", "unset"])
def test_django_honours_realm_on_the_auth_api_and_the_views(configured: str | None) -> None:
    settings = jwtauth_settings(REALM=configured)
    if configured is None:
        del settings["REALM"]
    with override_settings(JWTAUTH=settings, ROOT_URLCONF=__name__):
        client = APIClient()
        # The auth API refuses plain HTTP in production (DEBUG is off): these are HTTPS.
        auth_api = (
            client.get("/auth/me", secure=True),
            client.get("/auth/me", headers=FORGED, secure=True),
        )
        views = client.get("/orders"), client.get("/orders", headers=FORGED)
    realm = configured or DEFAULT
    assert_challenges(*auth_api, realm)
    assert_challenges(*views, realm)


# Flask: the EmbeddedAuth's settings or realm=, app.config without one ---------------------------


@pytest.fixture
def settings(tmp_path: Path, clean_env: None) -> Settings:
    return Settings.load(state_dir=tmp_path / "state", rate_limits=False)


def flask_answers(app: Flask) -> list[Any]:
    @app.get("/orders")
    @jwt_required()
    def orders() -> list[str]:
        return ["o-1"]

    with app.test_client() as client:
        return [client.get(p, headers=h) for p in ("/auth/me", "/orders") for h in ({}, FORGED)]


@pytest.mark.parametrize("how", ["settings", "argument", "default"])
def test_flask_embedded_honours_the_realm(settings: Settings, how: str) -> None:
    if how == "settings":
        auth = EmbeddedAuth(settings.model_copy(update={"realm": REALM}), hasher=FAST_HASHER)
    else:
        realm = REALM if how == "argument" else None
        auth = EmbeddedAuth(settings, hasher=FAST_HASHER, realm=realm)
    app = Flask("host")
    extension = FlaskJWTAuth(app, auth)
    try:
        me, me_forged, orders, orders_forged = flask_answers(app)
    finally:
        extension.runtime.close()
    realm = DEFAULT if how == "default" else REALM
    assert_challenges(me, me_forged, realm)
    assert_challenges(orders, orders_forged, realm)


def test_flask_reads_the_realm_from_app_config(clean_env: None) -> None:
    app = Flask("host")
    app.config.update(
        JWTAUTH_ISSUER="https://issuer.example",
        JWTAUTH_ALGORITHM="HS256",
        JWTAUTH_SECRET=secrets.token_urlsafe(48),
        JWTAUTH_REALM=REALM,
    )
    extension = FlaskJWTAuth(app)
    try:
        _, _, orders, orders_forged = flask_answers(app)
    finally:
        extension.runtime.close()
    assert_challenges(orders, orders_forged, REALM)


# FastAPI and Starlette: EmbeddedAuth(..., realm=...) or the settings' -------------------------


@asynccontextmanager
async def reach(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as http,
        app.router.lifespan_context(app),
    ):
        yield http


def fastapi_host(auth: EmbeddedAuth) -> FastAPI:
    app = FastAPI()
    FastAPIJWTAuth(auth.authenticator).protect(app)

    @app.get("/orders")
    async def orders() -> list[str]:
        return ["o-1"]

    app.include_router(auth.router)
    return app


def starlette_host(auth: EmbeddedAuth) -> Starlette:
    async def orders(request: Request) -> JSONResponse:
        return JSONResponse(["o-1"])

    app = Starlette(
        routes=[*auth.routes, Route("/orders", orders)], lifespan=lambda _app: auth.lifespan()
    )
    app.add_middleware(JWTAuthMiddleware, authenticator=auth.authenticator)
    return app


@pytest.mark.anyio
@pytest.mark.parametrize("host", [fastapi_host, starlette_host], ids=["fastapi", "starlette"])
@pytest.mark.parametrize("how", ["settings", "argument", "default"])
async def test_asgi_hosts_honour_the_realm(settings: Settings, host: Any, how: str) -> None:
    if how == "settings":
        auth = EmbeddedAuth(settings.model_copy(update={"realm": REALM}), hasher=FAST_HASHER)
    else:
        realm = REALM if how == "argument" else None
        auth = EmbeddedAuth(settings, hasher=FAST_HASHER, realm=realm)
    async with reach(host(auth)) as http:
        paths = ("/auth/me", "/orders")
        found = [await http.get(p, headers=h) for p in paths for h in ({}, FORGED)]
    realm = DEFAULT if how == "default" else REALM
    assert_challenges(found[0], found[1], realm)
    assert_challenges(found[2], found[3], realm)


@pytest.mark.anyio
async def test_jwtauth_serve_reads_jwtauth_realm(
    tmp_path: Path, clean_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JWTAUTH_REALM", REALM)
    app = create_app(Settings.load(state_dir=tmp_path / "state"), hasher=FAST_HASHER)
    async with reach(app) as http:
        missing, refused = await http.get("/auth/me"), await http.get("/auth/me", headers=FORGED)
    assert_challenges(missing, refused, REALM)


@pytest.mark.parametrize("realm", ['a"b', "a\\b", "caf\u00e9", ""])
def test_a_realm_that_cannot_be_quoted_is_refused(settings: Settings, realm: str) -> None:
    with pytest.raises(ConfigurationError, match="realm"):
        EmbeddedAuth(settings, hasher=FAST_HASHER, realm=realm)
    with pytest.raises(ConfigurationError, match="REALM"):
        Settings.load(realm=realm)


@pytest.fixture(autouse=True)
def fresh_django_state() -> Iterator[None]:
    # The other modules' state is built from their settings: rebuilt after ours.
    from django.apps import apps

    yield
    apps.get_app_config("jwtauth").reset()
