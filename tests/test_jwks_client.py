"""Resource-server mode against a real JWKS server on loopback (http.server in a thread)."""

from __future__ import annotations

import asyncio
import json
import secrets
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from jwtauth.errors import (
    ConfigurationError,
    IssuerError,
    KeySetError,
    UnknownKeyError,
)
from jwtauth.jwks_client import JWKSClient, JWKSOptions, keyring_from_jwks
from jwtauth.keys.key import Key, generate_key
from jwtauth.keys.keyring import KeyRing
from jwtauth.manager import TokenManager
from jwtauth.tokens.encoding import b64url_encode

pytestmark = pytest.mark.anyio

ISSUER = "https://auth.jwks.test"
AUDIENCE = "orders"
INTERVAL = 30.0


class JWKSServer:
    """Serves ``document`` at ``/jwks.json``, counting requests; can be stopped and restarted on
    the same port to play an issuer that is briefly down."""

    def __init__(self) -> None:
        self.document = b'{"keys": []}'
        self.status = 200
        self.requests = 0
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.port = 0

    def serve(self, *keys: Key) -> None:
        self.document = json.dumps({"keys": [k.public_jwk() for k in keys]}).encode()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/jwks.json"

    def start(self) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with owner._lock:
                    owner.requests += 1
                self.send_response(owner.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(owner.document)))
                self.end_headers()
                self.wfile.write(owner.document)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


@contextmanager
def jwks_server(*keys: Key) -> Iterator[JWKSServer]:
    server = JWKSServer()
    server.serve(*keys)
    server.start()
    try:
        yield server
    finally:
        server.stop()


class Timer:
    """Monotonic time that moves only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def issuer_of(key: Key, issuer: str = ISSUER) -> TokenManager:
    return TokenManager(KeyRing(key), issuer=issuer, audience=AUDIENCE)


def options(url: str, **overrides: Any) -> JWKSOptions:
    return JWKSOptions(url, ISSUER, AUDIENCE, min_refetch_interval=INTERVAL, **overrides)


@asynccontextmanager
async def started(client: JWKSClient) -> AsyncIterator[JWKSClient]:
    await client.start()
    try:
        yield client
    finally:
        await client.close()


async def test_verifies_with_the_served_keys_and_pins_issuer_and_audience() -> None:
    key = generate_key("ES256")
    with jwks_server(key) as server:
        async with started(JWKSClient(options(server.url))) as client:
            token = issuer_of(key).issue("alice")
            assert client.manager.verify(token)["sub"] == "alice"
            with pytest.raises(IssuerError):  # the right key, another issuer
                client.manager.verify(issuer_of(key, "https://evil.test").issue("alice"))
            assert not client.manager.keyring.find(key.kid).can_sign  # type: ignore[union-attr]
            assert await client.ping()


async def test_a_spray_of_unknown_kids_costs_one_request_per_interval() -> None:
    key = generate_key("ES256")
    timer = Timer()
    with jwks_server(key) as server:
        async with started(JWKSClient(options(server.url), timer=timer)) as client:
            authenticator = client.authenticator()
            timer.now += INTERVAL  # the start-up fetch is long past

            async def spray(count: int) -> None:
                for _ in range(count):
                    stranger = generate_key("ES256", kid=secrets.token_hex(8))
                    header = f"Bearer {issuer_of(stranger).issue('mallory')}"
                    with pytest.raises(UnknownKeyError):
                        await authenticator.authenticate(header, lambda name: None)

            await spray(50)
            assert server.requests == 2  # start-up, then one refetch for the whole spray
            timer.now += INTERVAL - 1
            await spray(10)
            assert server.requests == 2
            timer.now += 1
            await spray(10)
            assert server.requests == 3


async def test_concurrent_unknown_kids_share_one_fetch() -> None:
    key = generate_key("ES256")
    timer = Timer()
    with jwks_server(key) as server:
        async with started(JWKSClient(options(server.url), timer=timer)) as client:
            timer.now += INTERVAL
            results = await asyncio.gather(*(client.refresh_unknown() for _ in range(20)))
            assert server.requests == 2
            assert results == [False] * 20  # nothing new was served


async def test_a_rotated_key_is_picked_up_on_its_first_token() -> None:
    old, new = generate_key("ES256"), generate_key("EdDSA")
    timer = Timer()
    with jwks_server(old) as server:
        async with started(JWKSClient(options(server.url), timer=timer)) as client:
            authenticator = client.authenticator()
            server.serve(old, new)
            timer.now += INTERVAL
            header = f"Bearer {issuer_of(new).issue('alice')}"
            claims = await authenticator.authenticate(header, lambda name: None)
            assert claims["sub"] == "alice"
            assert server.requests == 2


async def test_cached_keys_serve_while_the_issuer_is_down_then_expire() -> None:
    key = generate_key("ES256")
    timer = Timer()
    token = issuer_of(key).issue("alice")
    with jwks_server(key) as server:
        client = JWKSClient(options(server.url, max_stale=600.0), timer=timer)
        async with started(client):
            server.stop()
            timer.now += INTERVAL
            assert await client.refresh() is False  # connection refused: logged, cache kept
            assert client.manager.verify(token)["sub"] == "alice"
            assert await client.ping()
            timer.now += 600
            await client.refresh()
            with pytest.raises(UnknownKeyError):  # fail closed once stale
                client.manager.verify(token)
            assert not await client.ping()
            server.start()  # back, on the same port
            timer.now += INTERVAL
            await client.refresh()
            assert client.manager.verify(token)["sub"] == "alice"


async def test_an_unchanged_refresh_keeps_the_key_objects() -> None:
    key = generate_key("ES256")
    timer = Timer()
    with jwks_server(key) as server:
        async with started(JWKSClient(options(server.url), timer=timer)) as client:
            before = client.manager.keyring.get(key.kid)
            timer.now += INTERVAL
            await client.refresh()
            assert client.manager.keyring.get(key.kid) is before  # the token cache stays valid


@pytest.mark.parametrize(
    ("status", "document"),
    [(404, b"{}"), (200, b"not json"), (200, b'{"keys": {}}'), (200, b"x" * 300_000)],
    ids=["404", "not json", "keys not a list", "too large"],
)
async def test_start_fails_loudly_without_usable_keys(status: int, document: bytes) -> None:
    with jwks_server() as server:
        server.status, server.document = status, document
        client = JWKSClient(options(server.url))
        with pytest.raises(KeySetError):
            await client.start()
        await client.close()


async def test_start_fails_when_the_issuer_is_unreachable() -> None:
    with jwks_server() as server:
        url = server.url
    with pytest.raises(KeySetError, match="ConnectError"):
        await JWKSClient(options(url)).start()


# Parsing -----------------------------------------------------------------------------------------


def test_only_asymmetric_signature_keys_with_kid_and_alg_are_taken() -> None:
    good = generate_key("ES256", kid="good")
    jwk = good.public_jwk()
    document = {
        "keys": [
            jwk,
            {**jwk, "kid": "no-alg", "alg": None},
            {**jwk, "kid": "enc", "use": "enc"},
            {**jwk, "kid": "private", "d": "AAAA"},
            {"kty": "oct", "kid": "secret", "alg": "HS256", "k": "c2VjcmV0c2VjcmV0"},
            {**jwk, "kid": "wrong-alg", "alg": "RS256"},
            {**jwk, "kid": ""},
            "not an object",
        ]
    }
    keyring = keyring_from_jwks(json.dumps(document).encode(), options("https://i.test/j"))
    assert [k.kid for k in keyring] == ["good"]


def test_algorithms_restrict_the_keys_taken() -> None:
    keys = [generate_key("ES256"), generate_key("EdDSA")]
    document = json.dumps({"keys": [k.public_jwk() for k in keys]}).encode()
    only = options("https://i.test/j", algorithms=frozenset({"EdDSA"}))
    assert [k.alg.value for k in keyring_from_jwks(document, only)] == ["EdDSA"]


def test_duplicate_kids_and_too_many_keys_refuse_the_whole_set() -> None:
    jwk = generate_key("ES256", kid="same").public_jwk()
    other = generate_key("ES256", kid="same").public_jwk()
    with pytest.raises(KeySetError, match="share a kid"):
        keyring_from_jwks(json.dumps({"keys": [jwk, other]}).encode(), options("https://i/j"))
    many = json.dumps({"keys": [jwk] * 3}).encode()
    with pytest.raises(KeySetError, match="more than 2"):
        keyring_from_jwks(many, options("https://i/j", max_keys=2))


@pytest.mark.parametrize(
    ("url", "extra"),
    [
        ("http://auth.example.com/jwks.json", {}),
        ("https://user:pw@auth.example.com/jwks.json", {}),
        ("https://auth.example.com/jwks.json", {"algorithms": frozenset({"HS256"})}),
        ("https://auth.example.com/jwks.json", {"min_refetch_interval": 0}),
    ],
    ids=["plain http", "credentials", "hmac", "zero interval"],
)
def test_unsafe_options_are_refused(url: str, extra: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        JWKSOptions(url, ISSUER, AUDIENCE, **extra)


def test_loopback_may_use_plain_http() -> None:
    for host in ("127.0.0.1", "[::1]", "localhost"):
        JWKSOptions(f"http://{host}:8000/jwks.json", ISSUER, AUDIENCE)


def test_small_order_and_non_canonical_ed25519_keys_are_not_taken(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Issue 13 item 12: under a small-order key (the identity here) R = identity, S = 0 verifies
    any token, so a JWKS that publishes one must not make it a verification key."""
    good = generate_key("EdDSA", kid="good")
    identity = b64url_encode(b"\x01" + bytes(31))
    unreduced = b64url_encode((2**255 - 19 + 5).to_bytes(32, "little"))  # y = p + 5
    okp = {"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA"}
    bad = [{**okp, "kid": "identity", "x": identity}, {**okp, "kid": "unreduced", "x": unreduced}]
    document = json.dumps({"keys": [*bad, good.public_jwk()]}).encode()
    with caplog.at_level("WARNING", logger="jwtauth.jwks"):
        keyring = keyring_from_jwks(document, options("https://i.test/j"))
    assert [k.kid for k in keyring] == ["good"]
    for kid, x in (("identity", identity), ("unreduced", unreduced)):
        assert repr(kid) in caplog.text
        assert x not in caplog.text
    with pytest.raises(KeySetError, match="no usable"):
        keyring_from_jwks(json.dumps({"keys": bad}).encode(), options("https://i.test/j"))
