"""Security headers (HSTS only in production and only for HTTPS, as a trusted proxy reports
it), the HTTPS requirement of production, and the client address behind trusted proxies."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message

from jwtauth.ratelimit.addresses import TrustedProxies
from jwtauth.server.middleware import (
    HTTPSRequiredMiddleware,
    SecurityHeadersMiddleware,
    client_address,
    request_is_https,
)
from jwtauth.stores.sql_database import upgrade
from tests.live import live_server

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
            Route("/metrics", _cached),
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


@pytest.mark.parametrize("mode", ["refuse", "redirect"])
@pytest.mark.parametrize("peer", ["127.0.0.1", "::1"])
async def test_a_loopback_scrape_of_metrics_passes_in_clear(mode: str, peer: str) -> None:
    # The scraper beside the server: its plain-HTTP request never crosses a network, and
    # /metrics decides for itself who reads it.
    async with _production(mode, peer=peer) as client:
        scraped = await client.get("/metrics")
    assert scraped.status_code == 200


@pytest.mark.parametrize("mode", ["refuse", "redirect"])
async def test_metrics_in_clear_from_beyond_the_proxy_is_still_refused(mode: str) -> None:
    # The proxy on loopback forwards a plain-HTTP request of an internet client: not local.
    forwarded = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "http"}
    async with _production(mode, peer="127.0.0.1") as client:
        proxied = await client.get("/metrics", headers=forwarded)
    async with _production(mode, peer="198.51.100.9") as client:
        direct = await client.get("/metrics")
    expected = 403 if mode == "refuse" else 308
    assert (proxied.status_code, direct.status_code) == (expected, expected)


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


# Trusted proxies as CIDR ranges (issue 13 item 16) ------------------------------------------------


@pytest.mark.parametrize(
    ("proxies", "peer", "allowed"),
    [
        (["0.0.0.0/0"], "203.0.113.7", True),  # compared as strings, this never matched
        (["10.0.0.0/8"], "10.20.30.40", True),
        (["10.0.0.0/8"], "11.0.0.1", False),
        (["127.0.0.1"], "::ffff:127.0.0.1", True),  # the loopback proxy via a dual-stack socket
        (["2001:db8::/32"], "2001:db8:5::1", True),
    ],
)
async def test_a_proxy_inside_a_trusted_range_may_report_https(
    proxies: list[str], peer: str, allowed: bool
) -> None:
    app = Starlette(routes=[Route("/auth/x", _cached, methods=["POST"])])
    required = HTTPSRequiredMiddleware(
        app, mode="refuse", origin="https://auth.example.com", trusted_proxies=proxies
    )
    transport = httpx.ASGITransport(app=required, client=(peer, 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        answer = await client.post("/auth/x", headers={"X-Forwarded-Proto": "https"})
    assert (answer.status_code == 200) is allowed


def _scope(peer: str | None, *forwarded_for: str) -> dict[str, object]:
    headers = [(b"x-forwarded-for", value.encode("latin-1")) for value in forwarded_for]
    return {
        "type": "http",
        "client": (peer, 5000) if peer is not None else None,
        "headers": [(b"host", b"testserver"), *headers],
    }


PROXIES = TrustedProxies.parse(["127.0.0.1", "10.0.0.0/8", "2001:db8:ff::/48"])


@pytest.mark.parametrize(
    ("peer", "forwarded_for", "client"),
    [
        # Not a trusted proxy: whatever it claims, the peer is the client.
        ("203.0.113.7", ["192.0.2.1"], "203.0.113.7"),
        ("2001:DB8::0:7", [], "2001:db8::7"),  # normalised, so one address is one key
        ("::ffff:203.0.113.7", [], "203.0.113.7"),
        # A trusted proxy: the rightmost address that is not one of ours.
        ("127.0.0.1", ["192.0.2.1"], "192.0.2.1"),
        ("127.0.0.1", ["198.51.100.1, 192.0.2.1"], "192.0.2.1"),  # the left one is invented
        ("127.0.0.1", ["192.0.2.1, 10.1.2.3"], "192.0.2.1"),  # through a proxy in a range
        ("127.0.0.1", ["192.0.2.1, 10.1.2.3, 10.9.9.9"], "192.0.2.1"),
        ("::ffff:127.0.0.1", ["[2001:DB8::1]"], "2001:db8::1"),
        ("127.0.0.1", ["2001:db8::1%eth0"], "2001:db8::1"),
        ("127.0.0.1", ["2001:db8:ff::9, 192.0.2.1"], "192.0.2.1"),
        # A proxy that adds its own field: every field counts, in order, so the client's own
        # field (first) cannot stand in for the proxy's (last).
        ("127.0.0.1", ["198.51.100.66", "192.0.2.1"], "192.0.2.1"),
        # Only our proxies on the list: the leftmost one is as far as anyone can see.
        ("127.0.0.1", ["10.1.1.1, 10.2.2.2"], "10.1.1.1"),
        ("127.0.0.1", [], "127.0.0.1"),
        ("127.0.0.1", [" , "], "127.0.0.1"),
        # Not an address: the walk ends at the proxy that passed it on.
        ("127.0.0.1", ["unknown"], "127.0.0.1"),
        ("127.0.0.1", ["192.0.2.1, garbage, 10.1.2.3"], "10.1.2.3"),
        ("127.0.0.1", ["192.0.2.1:5555"], "127.0.0.1"),
        (None, ["192.0.2.1"], None),
        ("", ["192.0.2.1"], None),
    ],
)
def test_client_address_walks_forwarded_for_over_trusted_proxies_only(
    peer: str | None, forwarded_for: list[str], client: str | None
) -> None:
    assert client_address(_scope(peer, *forwarded_for), PROXIES) == client


def test_plain_address_lists_are_accepted_where_trusted_proxies_are() -> None:
    scope = _scope("10.4.4.4", "192.0.2.1")
    assert client_address(scope, ["10.0.0.0/8"]) == "192.0.2.1"
    assert client_address(scope, frozenset({"10.4.4.4"})) == "192.0.2.1"
    assert client_address(scope, ()) == "10.4.4.4"
    assert request_is_https({**scope, "scheme": "https"}, ()) is True


# The redirect's target is the origin and a path, whatever the request-target (issue 13 item 7)


async def _asgi(app: ASGIApp, scope: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    """Call ``app`` with a hand-built scope: the path is whatever a client put on the request
    line, as a server that does not normalise it passes it on."""
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in start["headers"]}
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], headers, body


def _plain_get(path: str, query: bytes = b"", method: str = "GET") -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode("utf-8"),
        "query_string": query,
        "headers": [(b"host", b"evil.example")],
        "client": ("198.51.100.9", 5000),
        "server": ("auth.example.com", 80),
    }


def _redirecting() -> ASGIApp:
    app = Starlette(routes=[Route("/auth/x", _cached)])
    return HTTPSRequiredMiddleware(
        app, mode="redirect", origin="https://auth.example.com", trusted_proxies=["127.0.0.1"]
    )


OFF_ORIGIN_TARGETS = [
    ".evil.example",  # glued on: https://auth.example.com.evil.example
    "@evil.example",  # glued on: userinfo, the host is evil.example
    ":8443@evil.example/x",
    "http://evil.example/x",  # the absolute form, as uvicorn's h11 passes it on
    "https://evil.example/x",
    "evil.example/x",
    "*",
    "",
]


@pytest.mark.parametrize("path", OFF_ORIGIN_TARGETS)
async def test_a_request_target_that_is_not_a_path_is_refused_not_redirected(path: str) -> None:
    status, headers, body = await _asgi(_redirecting(), _plain_get(path))
    assert status == 400
    assert "location" not in headers
    assert headers["content-type"] == "application/problem+json"
    assert orjson.loads(body)["type"] == "urn:jwtauth:problem:invalid_request_target"


@pytest.mark.parametrize(
    ("path", "query", "location"),
    [
        ("/auth/x", b"a=1", "https://auth.example.com/auth/x?a=1"),
        ("//evil.example/x", b"", "https://auth.example.com//evil.example/x"),
        ("/\\evil.example", b"", "https://auth.example.com/%5Cevil.example"),
        ("/@evil.example", b"", "https://auth.example.com/@evil.example"),
        ("/a b#c", b"", "https://auth.example.com/a%20b%23c"),  # decoded; encoded again
        ("/x\r\nSet-Cookie: a=b", b"", "https://auth.example.com/x%0D%0ASet-Cookie:%20a=b"),
        ("/x", b"next=https://evil.example/#y", "https://auth.example.com/x?next=https://evil.example/%23y"),
        ("/x", b"a=%2F%zz", "https://auth.example.com/x?a=%2F%zz"),  # as sent
        ("/caf\u00e9", b"", "https://auth.example.com/caf%C3%A9"),
    ],
)  # fmt: skip
async def test_a_path_is_redirected_to_the_origin_with_only_path_characters(
    path: str, query: bytes, location: str
) -> None:
    status, headers, _ = await _asgi(_redirecting(), _plain_get(path, query))
    assert status == 308
    assert headers["location"] == location
    target = urlsplit(headers["location"])
    assert (target.scheme, target.netloc) == ("https", "auth.example.com")


async def test_a_bad_request_target_of_a_post_is_still_the_https_refusal() -> None:
    status, _, body = await _asgi(_redirecting(), _plain_get(".evil.example", method="POST"))
    assert status == 403
    assert orjson.loads(body)["type"] == "urn:jwtauth:problem:https_required"


def _raw_request(base: str, target: str) -> tuple[int, dict[str, str], bytes]:
    """Send ``GET <target>`` as written, over a socket: no client library would send these."""
    parts = urlsplit(base)
    assert parts.hostname is not None
    assert parts.port is not None
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as conn:
        conn.sendall(
            f"GET {target} HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n".encode()
        )
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    return int(status_line.split()[1]), headers, body


def test_request_targets_over_http_never_redirect_off_the_origin(tmp_path: Path) -> None:
    database = f"sqlite+aiosqlite:///{tmp_path / 'jwtauth.db'}"
    upgrade(database)
    env = {
        "JWTAUTH_ENV": "production",
        "JWTAUTH_ISSUER": "https://auth.example.com",
        "JWTAUTH_ALGORITHM": "HS256",
        "JWTAUTH_SECRET": SECRET,
        "JWTAUTH_DATABASE_URL": database,
        "JWTAUTH_HTTPS": "redirect",
    }
    with live_server(tmp_path, env) as base:
        for target in (".evil.example", "@evil.example", "http://evil.example/x"):
            status, headers, body = _raw_request(base, target)
            assert status == 400, (target, status, headers)
            assert "location" not in headers
            assert headers["content-type"] == "application/problem+json"
            assert orjson.loads(body)["type"] == "urn:jwtauth:problem:invalid_request_target"
        status, headers, _ = _raw_request(base, "/auth/me?x=1")
        assert status == 308
        assert headers["location"] == "https://auth.example.com/auth/me?x=1"
