"""Request bodies over JWTAUTH_MAX_REQUEST_BODY are refused with 413 problem+json before they
are buffered (issue 13 item 11: 8 concurrent 64 MB bodies took the server from 143 MB to 876 MB
RSS): a declared length before anything is read, a chunked body at the first chunk past it."""

from __future__ import annotations

import select
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
import pytest
from fastapi import FastAPI
from starlette.types import Message

from jwtauth.config import Settings
from jwtauth.errors import ConfigurationError
from jwtauth.integrations._wsgi import MAX_BODY
from jwtauth.server import create_app
from tests.live import live_server
from tests.server.support import HOSTS, serve

pytestmark = pytest.mark.anyio

LIMIT = Settings.model_fields["max_request_body"].default
CHUNK = 1024
# Chunks of a body that does not end: 16 MB, so that without the limit a test fails rather
# than reads forever.
ENDLESS = 16 * 1024 * 1024 // CHUNK


def test_the_default_is_64_kib_on_the_server_and_the_wsgi_bridge() -> None:
    assert LIMIT == MAX_BODY == 64 * 1024


@pytest.fixture
def settings(tmp_path: Path, clean_env: None) -> Settings:
    return Settings.load(state_dir=tmp_path / "state", rate_limits=False)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


class Client:
    """A client on the other side of a raw ASGI call that counts the body chunks it was
    asked for: what the server had to read."""

    def __init__(self, *, chunks: int = ENDLESS) -> None:
        self.chunks = chunks
        self.pulled = 0

    async def receive(self) -> Message:
        self.pulled += 1
        more = self.pulled < self.chunks
        return {"type": "http.request", "body": b" " * CHUNK, "more_body": more}


async def post(
    app: Any, client: Client, headers: list[tuple[bytes, bytes]], path: str = "/auth/login"
) -> tuple[int, dict[str, str], bytes]:
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver"), (b"content-type", b"application/json"), *headers],
        "client": ("198.51.100.9", 5000),
        "server": ("testserver", 80),
    }
    await app(scope, client.receive, send)
    [start] = [m for m in sent if m["type"] == "http.response.start"]
    answer = {k.decode(): v.decode() for k, v in start["headers"]}
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], answer, body


def assert_too_large(status: int, headers: dict[str, str], body: bytes, limit: int) -> None:
    assert status == 413
    assert headers["content-type"] == "application/problem+json"
    problem = orjson.loads(body)
    assert problem["type"] == "urn:jwtauth:problem:content_too_large"
    assert problem["title"] == "Content Too Large"
    assert str(limit) in problem["detail"]
    assert headers["x-content-type-options"] == "nosniff"  # a server answer like any other
    assert headers["connection"] == "close"  # the rest of the body is not read to be dropped


async def test_a_declared_length_over_the_limit_is_refused_before_anything_is_read(
    app: FastAPI,
) -> None:
    client = Client()
    answer = await post(app, client, [(b"content-length", str(LIMIT + 1).encode())])
    assert_too_large(*answer, LIMIT)
    assert client.pulled == 0


async def test_a_chunked_body_is_read_only_up_to_the_first_chunk_past_the_limit(
    app: FastAPI,
) -> None:
    client = Client()  # no Content-Length, and it does not end
    answer = await post(app, client, [])
    assert_too_large(*answer, LIMIT)
    assert client.pulled == LIMIT // CHUNK + 1


async def test_a_body_of_exactly_the_limit_is_read_and_answered(app: FastAPI) -> None:
    client = Client(chunks=LIMIT // CHUNK)  # only spaces: not valid JSON, so 422
    status, _, body = await post(app, client, [(b"content-length", str(LIMIT).encode())])
    assert status == 422, body
    assert client.pulled == LIMIT // CHUNK


@pytest.mark.parametrize("length", [b"-1", b"twelve", b"1e3", b"10, 20", b""])
async def test_a_content_length_that_is_not_one_number_is_a_400(
    app: FastAPI, length: bytes
) -> None:
    client = Client(chunks=1)
    status, headers, body = await post(app, client, [(b"content-length", length)])
    assert status == 400
    assert headers["content-type"] == "application/problem+json"
    assert orjson.loads(body)["type"] == "urn:jwtauth:problem:invalid_content_length"
    assert client.pulled == 0


async def test_repeated_equal_content_lengths_are_one(app: FastAPI) -> None:
    client = Client(chunks=1)
    declared = str(CHUNK).encode()
    status, _, _ = await post(app, client, [(b"content-length", declared)] * 2)
    assert status == 422  # read and parsed, not refused


async def test_the_limit_is_the_setting(tmp_path: Path, clean_env: None) -> None:
    limit = 32 * 1024
    settings = Settings.load(state_dir=tmp_path / "state", max_request_body=limit)
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        client = Client()
        assert_too_large(*await post(application, client, []), limit)
        assert client.pulled == limit // CHUNK + 1


def test_the_setting_has_bounds(clean_env: None) -> None:
    for value in (1024, 16 * 1024 * 1024):
        with pytest.raises(ConfigurationError, match="JWTAUTH_MAX_REQUEST_BODY"):
            Settings.load(max_request_body=value)


# Every host of the auth API: the server, a FastAPI host (its router), a Flask host (WSGI) ----


@pytest.mark.parametrize("host", HOSTS)
async def test_every_host_refuses_a_large_body(settings: Settings, host: str) -> None:
    async with serve(settings, host=host) as http:
        refused = await http.post(
            "/auth/login", content=b" " * (LIMIT + 1), headers={"Content-Type": "application/json"}
        )
        assert refused.status_code == 413
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["type"] == "urn:jwtauth:problem:content_too_large"
        fits = await http.post(
            "/auth/login", content=b" " * LIMIT, headers={"Content-Type": "application/json"}
        )
        assert fits.status_code == 422


@pytest.mark.parametrize("host", ["server", "fastapi"])
async def test_an_asgi_host_stops_pulling_a_chunked_body_at_the_limit(
    settings: Settings, host: str
) -> None:
    pulled = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal pulled
        while pulled < ENDLESS:
            pulled += 1
            yield b" " * CHUNK

    async with serve(settings, host=host) as http:
        refused = await http.post(
            "/auth/login", content=endless(), headers={"Content-Type": "application/json"}
        )
    assert refused.status_code == 413
    assert "content-length" not in refused.request.headers
    assert pulled <= LIMIT // CHUNK + 2  # httpx may have the next chunk in hand


def test_the_wsgi_bridge_takes_the_configured_limit(tmp_path: Path, clean_env: None) -> None:
    import orjson as json
    from werkzeug.test import EnvironBuilder

    from jwtauth.integrations import SyncRuntime
    from jwtauth.integrations._wsgi import call_asgi
    from jwtauth.server import EmbeddedAuth

    limit = 32 * 1024
    auth = EmbeddedAuth(Settings.load(state_dir=tmp_path / "state", max_request_body=limit))
    runtime = SyncRuntime(auth.authenticator)
    runtime.start()
    try:
        for size, status in ((limit + 1, 413), (limit, 422)):
            environ = EnvironBuilder(
                path="/auth/login", method="POST", data=b" " * size, content_type="application/json"
            ).get_environ()
            reply = call_asgi(runtime, auth.app, environ)
            assert reply.status == status
            if status == 413:
                assert json.loads(reply.body)["type"] == "urn:jwtauth:problem:content_too_large"
    finally:
        runtime.close()


# Over HTTP: jwtauth serve answers before the client has sent the body ----------------------


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, int]]:
    with live_server(tmp_path) as base:
        parts = urlsplit(base)
        assert parts.hostname is not None
        assert parts.port is not None
        yield parts.hostname, parts.port


def _response(conn: socket.socket) -> tuple[int, dict[str, str], bytes]:
    data = b""
    conn.setblocking(True)
    conn.settimeout(10)
    while b"\r\n\r\n" not in data or len(data.partition(b"\r\n\r\n")[2]) < _length(data):
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    return int(status_line.split()[1]), headers, body


def _length(data: bytes) -> int:
    for line in data.partition(b"\r\n\r\n")[0].split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 1 << 30


HEAD = "POST /auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"


def test_over_http_a_declared_64_mb_body_is_refused_before_it_is_sent(
    server: tuple[str, int],
) -> None:
    with socket.create_connection(server, timeout=10) as conn:
        conn.sendall(f"{HEAD}Content-Length: {64 << 20}\r\n\r\n".encode() + b" " * CHUNK)
        status, headers, body = _response(conn)  # the other 64 MB are never sent
        assert conn.recv(1) == b""  # closed: the server will not read them either
    assert status == 413
    assert headers["content-type"] == "application/problem+json"
    assert orjson.loads(body)["type"] == "urn:jwtauth:problem:content_too_large"


def test_over_http_a_chunked_body_is_refused_while_it_is_still_coming(
    server: tuple[str, int],
) -> None:
    frame = f"{16 * CHUNK:x}\r\n".encode() + b" " * (16 * CHUNK) + b"\r\n"
    total = 64 << 20
    sent = 0
    with socket.create_connection(server, timeout=10) as conn:
        conn.sendall(f"{HEAD}Transfer-Encoding: chunked\r\n\r\n".encode())
        conn.setblocking(False)
        pending = memoryview(b"")
        while sent < total:
            readable, writable, _ = select.select([conn], [conn], [], 10)
            assert readable or writable, "the server neither read nor answered for 10 s"
            if readable:
                break  # the answer came before the body's end (which is never sent)
            if not pending:
                pending = memoryview(frame)
            try:
                n = conn.send(pending)
            except BlockingIOError:
                continue
            pending = pending[n:]
            sent += n
        status, headers, body = _response(conn)
    assert sent < total
    assert status == 413
    assert headers["content-type"] == "application/problem+json"
    assert orjson.loads(body)["type"] == "urn:jwtauth:problem:content_too_large"
