"""Security headers: HSTS only in production and only for HTTPS, as a trusted proxy reports it."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from jwtauth.server.middleware import SecurityHeadersMiddleware

pytestmark = pytest.mark.anyio


async def _cached(request: Request) -> Response:
    return JSONResponse({}, headers={"Cache-Control": "public, max-age=60"})


def _client(*, production: bool, peer: str, base: str = "http://testserver") -> httpx.AsyncClient:
    app = Starlette(routes=[Route("/auth/x", _cached), Route("/public", _cached)])
    wrapped = SecurityHeadersMiddleware(app, production=production, trusted_proxies=["127.0.0.1"])
    transport = httpx.ASGITransport(app=wrapped, client=(peer, 5000))
    return httpx.AsyncClient(transport=transport, base_url=base)


@pytest.mark.parametrize(
    ("production", "peer", "base", "forwarded", "expected"),
    [
        (True, "127.0.0.1", "http://testserver", "https", True),  # trusted proxy says HTTPS
        (True, "198.51.100.9", "http://testserver", "https", False),  # anyone else may lie
        (True, "127.0.0.1", "http://testserver", None, False),  # plain HTTP: RFC 6797 7.2
        (True, "198.51.100.9", "https://testserver", None, True),  # TLS on the connection
        (False, "127.0.0.1", "https://testserver", "https", False),  # development
    ],
)
async def test_hsts_only_over_https_in_production(
    production: bool, peer: str, base: str, forwarded: str | None, expected: bool
) -> None:
    headers = {"X-Forwarded-Proto": forwarded} if forwarded else {}
    async with _client(production=production, peer=peer, base=base) as client:
        response = await client.get("/public", headers=headers)
    assert ("strict-transport-security" in response.headers) is expected


async def test_auth_paths_are_never_cached_even_if_a_route_says_otherwise() -> None:
    async with _client(production=False, peer="127.0.0.1") as client:
        auth = await client.get("/auth/x")
        public = await client.get("/public")
    assert auth.headers.get_list("cache-control") == ["no-store"]
    assert public.headers["cache-control"] == "public, max-age=60"
    for response in (auth, public):
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["x-xss-protection"] == "0"
