"""Security headers (HSTS only in production and only for HTTPS, as a trusted proxy reports
it) and the HTTPS requirement of production."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from jwtauth.server.middleware import HTTPSRequiredMiddleware, SecurityHeadersMiddleware

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


# The HTTPS requirement of production ------------------------------------------------------------

SECRET = "rhLxsd3g7K-9KVWsNJh_MtbJorFz53o2YRZxJ46_8LiRyReUXCe007RbOLGh_Cqf"


def _production(mode: str, *, peer: str, base: str = "http://testserver") -> httpx.AsyncClient:
    app = Starlette(
        routes=[
            Route("/auth/x", _cached, methods=["GET", "POST"]),
            Route("/healthz", _cached),
            Route("/readyz", _cached),
        ]
    )
    required = HTTPSRequiredMiddleware(
        app, mode=mode, origin="https://auth.example.com", trusted_proxies=["127.0.0.1"]
    )
    wrapped = SecurityHeadersMiddleware(required, production=True, trusted_proxies=["127.0.0.1"])
    transport = httpx.ASGITransport(app=wrapped, client=(peer, 5000))
    return httpx.AsyncClient(transport=transport, base_url=base)


@pytest.mark.parametrize("mode", ["refuse", "redirect"])
async def test_plain_http_posts_are_refused(mode: str) -> None:
    async with _production(mode, peer="198.51.100.9") as client:
        refused = await client.post("/auth/x", json={"password": "hunter2"})
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["type"] == "urn:jwtauth:problem:https_required"
    assert refused.headers["x-content-type-options"] == "nosniff"  # still a server answer
    assert "strict-transport-security" not in refused.headers  # never over plain HTTP


async def test_redirect_mode_sends_gets_to_the_configured_origin_not_the_host_header() -> None:
    async with _production("redirect", peer="198.51.100.9") as client:
        moved = await client.get("/auth/x?a=1", headers={"Host": "evil.example"})
    assert moved.status_code == 308
    assert moved.headers["location"] == "https://auth.example.com/auth/x?a=1"


async def test_refuse_mode_refuses_gets_too() -> None:
    async with _production("refuse", peer="198.51.100.9") as client:
        assert (await client.get("/auth/x")).status_code == 403


@pytest.mark.parametrize(
    ("peer", "base", "forwarded", "allowed"),
    [
        ("127.0.0.1", "http://testserver", "https", True),  # a trusted proxy ended TLS
        ("198.51.100.9", "http://testserver", "https", False),  # a client cannot claim it
        ("198.51.100.9", "https://testserver", None, True),  # TLS on the connection
        # A proxy that appends: the client's own value comes first, the proxy's last.
        ("127.0.0.1", "http://testserver", "https, http", False),
        ("127.0.0.1", "http://testserver", "http, https", True),
    ],
)
async def test_https_is_what_the_connection_or_a_trusted_proxy_says(
    peer: str, base: str, forwarded: str | None, allowed: bool
) -> None:
    headers = {"X-Forwarded-Proto": forwarded} if forwarded else {}
    async with _production("refuse", peer=peer, base=base) as client:
        answer = await client.post("/auth/x", headers=headers)
    assert (answer.status_code == 200) is allowed


async def test_probes_answer_over_plain_http() -> None:
    async with _production("refuse", peer="198.51.100.9") as client:
        for path in ("/healthz", "/readyz"):
            assert (await client.get(path)).status_code == 200


def test_production_with_an_http_issuer_refuses_to_start(clean_env: None) -> None:
    from jwtauth.config import Settings
    from jwtauth.errors import ConfigurationError
    from jwtauth.server import create_app

    plain = {"env": "production", "algorithm": "HS256", "secret": SECRET}
    with pytest.raises(ConfigurationError, match="https://"):
        create_app(Settings.load(**plain, issuer="http://auth.example.com"))
    create_app(Settings.load(**plain, issuer="http://auth.example.com", https="off"))
    create_app(Settings.load(**plain, issuer="https://auth.example.com"))
