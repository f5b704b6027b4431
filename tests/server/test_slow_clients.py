"""Slow clients (issue 14): a connection that never completes its request head, or a request
whose body never completes, is answered ``408`` and closed at a deadline, where uvicorn alone
held it for as long as the client liked (decision 032).

The server tests run ``jwtauth serve``'s app under a real uvicorn server, with the protocol and
options ``serve`` passes, on a loopback port, driven by raw sockets: the defences live in the
HTTP protocol and in how the body reaches the app, which an in-process ASGI client bypasses.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import orjson
import pytest
import uvicorn
from starlette.types import Message, Receive, Scope, Send

from jwtauth import cli
from jwtauth.config import Settings
from jwtauth.server import create_app
from jwtauth.server.middleware import BodyDeadlineMiddleware
from jwtauth.server.protocol import HeadTimeoutProtocol, head_timeout_protocol
from tests.server.support import FAST_HASHER

pytestmark = pytest.mark.anyio

HEADER_TIMEOUT = 1.0
# Longer than the head's, so that a body sent over more than HEADER_TIMEOUT seconds shows the
# head deadline does not cut a request whose head was complete.
BODY_TIMEOUT = 3.0
# What a deadline may overrun on a loaded test machine; a missing defence overruns it by ever.
SLACK = 1.5
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
    "x-xss-protection": "0",
}
LOGIN = orjson.dumps({"email": "nobody@example.com", "password": "not the password"})


@dataclass
class Live:
    port: int

    async def connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection("127.0.0.1", self.port)


@pytest.fixture
def settings(tmp_path: Path, clean_env: None) -> Settings:
    return Settings.load(
        state_dir=tmp_path / "state",
        rate_limits=False,
        header_timeout=HEADER_TIMEOUT,
        body_timeout=BODY_TIMEOUT,
    )


@pytest.fixture
async def live(settings: Settings) -> AsyncIterator[Live]:
    """``jwtauth serve``'s app under uvicorn in this test's loop, as ``serve`` configures it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        create_app(settings, hasher=FAST_HASHER),
        **_serve_options(settings),
        log_config=None,
        # A test that fails leaves a request waiting; the teardown must not wait with it.
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        with anyio.fail_after(30):
            while not server.started:
                assert not task.done(), "the server did not start"
                await asyncio.sleep(0.01)
        yield Live(sock.getsockname()[1])
    finally:
        server.should_exit = True
        await task
        sock.close()


def _serve_options(settings: Settings) -> dict[str, Any]:
    """The options ``jwtauth serve`` gives ``uvicorn.run`` (its call, captured)."""
    captured: dict[str, Any] = {}
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: captured.update(kwargs))
    monkeypatch.setattr(cli, "_load_settings", lambda: settings)
    try:
        cli.serve(host="127.0.0.1", port=0)
    finally:
        monkeypatch.undo()
    return {
        key: captured[key]
        for key in ("http", "ws", "proxy_headers", "server_header")
        if key in captured
    }


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def problem(self) -> dict[str, Any]:
        assert self.headers["content-type"] == "application/problem+json"
        document: dict[str, Any] = orjson.loads(self.body)
        return document


async def read_answer(reader: asyncio.StreamReader) -> Answer:
    """One HTTP/1.1 response (framed by Content-Length, as every answer here is)."""
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").rstrip("\r\n").split("\r\n")
    headers: dict[str, str] = {}
    for line in lines:
        name, _, value = line.partition(":")
        assert name.lower() not in headers, f"repeated field {name}"
        headers[name.lower()] = value.strip()
    body = await reader.readexactly(int(headers["content-length"]))
    return Answer(int(status_line.split(" ")[1]), headers, body)


async def closed(reader: asyncio.StreamReader) -> bool:
    """Whether the server closed the connection (EOF, or a reset) with nothing more sent."""
    try:
        return await reader.read(1) == b""
    except ConnectionResetError:
        return True


async def timed(work: Callable[[], Any], limit: float) -> tuple[Any, float]:
    """``work()`` awaited at most ``limit`` seconds, and how long it took."""
    started = anyio.current_time()
    with anyio.fail_after(limit):
        result = await work()
    return result, anyio.current_time() - started


def assert_request_timeout(answer: Answer) -> None:
    assert answer.status == 408
    assert answer.problem()["type"] == "urn:jwtauth:problem:request_timeout"
    assert answer.problem()["status"] == 408
    assert answer.headers["connection"] == "close"
    assert answer.headers.items() >= SECURITY_HEADERS.items()


def request(method: str, path: str, body: bytes = b"", **fields: str) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    if body or method == "POST":
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in fields.items()]
    return "\r\n".join(lines).encode() + b"\r\n\r\n" + body


# The head ---------------------------------------------------------------------------------------


async def test_a_partial_head_is_answered_408_and_closed_at_the_deadline(live: Live) -> None:
    reader, writer = await live.connect()
    writer.write(b"POST /auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: app")

    async def answer_then_close() -> Answer:
        answer = await read_answer(reader)
        assert await closed(reader)
        return answer

    answer, elapsed = await timed(answer_then_close, HEADER_TIMEOUT + SLACK)
    writer.close()
    assert_request_timeout(answer)
    assert answer.headers["cache-control"] == "no-store"
    assert "date" in answer.headers
    assert "server" not in answer.headers  # serve turns uvicorn's off; the raw answer too
    assert elapsed >= HEADER_TIMEOUT - 0.1


async def test_bytes_trickled_into_a_head_do_not_extend_its_deadline(live: Live) -> None:
    reader, writer = await live.connect()
    head = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"x" * 200
    sent = 0

    async def trickle() -> None:
        nonlocal sent
        for byte in head:  # one byte per 0.2 s: uvicorn's own timer restarts at each
            if writer.is_closing():
                return
            try:
                writer.write(bytes([byte]))
                await writer.drain()
            except ConnectionError:
                return
            sent += 1
            await asyncio.sleep(0.2)

    async def answer_then_close() -> Answer:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(trickle)
            answer = await read_answer(reader)
            assert await closed(reader)
            tasks.cancel_scope.cancel()
        return answer

    answer, elapsed = await timed(answer_then_close, HEADER_TIMEOUT + SLACK)
    writer.close()
    assert_request_timeout(answer)
    assert elapsed >= HEADER_TIMEOUT - 0.1
    assert sent >= 3  # bytes kept arriving up to the deadline


async def test_a_connection_that_sends_nothing_is_closed(live: Live) -> None:
    reader, writer = await live.connect()
    is_closed, elapsed = await timed(lambda: closed(reader), HEADER_TIMEOUT + SLACK)
    writer.close()
    assert is_closed  # and with no answer: there was no request to answer
    assert elapsed >= HEADER_TIMEOUT - 0.1


async def test_an_idle_keep_alive_connection_with_a_partial_next_head_gets_408(
    live: Live,
) -> None:
    """The deadline starts again when an answer is sent: here for a pipelined second head
    that never completes, behind a first request that did."""
    reader, writer = await live.connect()
    writer.write(request("GET", "/healthz") + b"GET /healthz HTTP/1.1\r\nHo")
    first = await read_answer(reader)
    assert first.status == 200
    answer, _ = await timed(lambda: read_answer(reader), HEADER_TIMEOUT + SLACK)
    assert_request_timeout(answer)
    assert await closed(reader)
    writer.close()


# The body ---------------------------------------------------------------------------------------


async def test_an_incomplete_body_is_answered_408_and_the_connection_closed(live: Live) -> None:
    reader, writer = await live.connect()
    head = request("POST", "/auth/login").replace(b"Content-Length: 0", b"Content-Length: 100")
    writer.write(head + LOGIN[:10])

    async def answer_then_close() -> Answer:
        answer = await read_answer(reader)
        assert await closed(reader)
        return answer

    answer, elapsed = await timed(answer_then_close, BODY_TIMEOUT + SLACK)
    writer.close()
    assert_request_timeout(answer)
    assert (
        answer.problem()["detail"]
        == f"The request body was not received within {BODY_TIMEOUT:g} s."
    )
    assert answer.headers["cache-control"] == "no-store"  # through the app's header middleware
    assert elapsed >= BODY_TIMEOUT - 0.1


# What must still work ----------------------------------------------------------------------------


async def test_a_request_and_a_keep_alive_second_one_are_answered_at_once(live: Live) -> None:
    reader, writer = await live.connect()
    for _ in range(2):
        writer.write(request("GET", "/healthz"))
        answer, elapsed = await timed(lambda: read_answer(reader), HEADER_TIMEOUT)
        assert answer.status == 200
        assert answer.headers.get("connection") != "close"
        assert elapsed < HEADER_TIMEOUT / 2  # nothing waits for a deadline
    writer.close()


async def test_a_slow_body_within_its_deadline_is_not_cut_by_the_head_deadline(
    live: Live,
) -> None:
    """The head arrives at once, the body over more than HEADER_TIMEOUT seconds (less than
    BODY_TIMEOUT): the request is answered, and the connection stays usable after it."""
    reader, writer = await live.connect()
    writer.write(request("POST", "/auth/login", LOGIN)[: -len(LOGIN)])
    await writer.drain()
    pieces = [LOGIN[:10], LOGIN[10:20], LOGIN[20:]]
    started = anyio.current_time()
    for piece in pieces:
        await asyncio.sleep(HEADER_TIMEOUT / 2)
        writer.write(piece)
    answer, _ = await timed(lambda: read_answer(reader), BODY_TIMEOUT)
    assert anyio.current_time() - started > HEADER_TIMEOUT
    assert answer.status == 401  # no such user: the route read the whole body and ran
    assert answer.problem()["type"] != "urn:jwtauth:problem:request_timeout"
    writer.write(request("GET", "/healthz"))
    again, _ = await timed(lambda: read_answer(reader), HEADER_TIMEOUT)
    assert again.status == 200
    writer.close()


async def test_pipelined_requests_in_one_write_are_both_answered(live: Live) -> None:
    reader, writer = await live.connect()
    writer.write(request("POST", "/auth/login", LOGIN) + request("GET", "/healthz"))
    first, _ = await timed(lambda: read_answer(reader), HEADER_TIMEOUT)
    second, _ = await timed(lambda: read_answer(reader), HEADER_TIMEOUT)
    assert (first.status, second.status) == (401, 200)
    writer.close()


def test_serve_pins_the_head_deadline_protocol(settings: Settings) -> None:
    """With httptools installed uvicorn's "auto" would take it, which has no head deadline;
    a protocol class is used as given."""
    options = _serve_options(settings)
    protocol = options["http"]
    assert issubclass(protocol, HeadTimeoutProtocol)
    assert protocol.header_timeout == HEADER_TIMEOUT
    assert options["ws"] == "none"
    config = uvicorn.Config(lambda *_: None, http=protocol)
    config.load()
    assert config.http_protocol_class is protocol


def test_the_head_deadline_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        head_timeout_protocol(0)


def test_the_timeouts_have_their_defaults(clean_env: None, tmp_path: Path) -> None:
    defaults = Settings.load(state_dir=tmp_path)
    assert (defaults.header_timeout, defaults.body_timeout) == (10.0, 30.0)


# BodyDeadlineMiddleware alone --------------------------------------------------------------------


class Recorder:
    """An app that reads the whole body, then answers 200 with its length; and what was sent."""

    def __init__(self) -> None:
        self.sent: list[Message] = []
        self.body = b""

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise OSError("the client left")  # as a route fails on a body that never came
            self.body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"%d" % len(self.body)})

    async def send(self, message: Message) -> None:
        self.sent.append(message)


SCOPE: Scope = {"type": "http", "method": "POST", "path": "/auth/login", "headers": []}


async def test_the_middleware_answers_408_when_trickled_chunks_outlast_the_deadline() -> None:
    recorder = Recorder()
    chunks = 0

    async def trickle() -> Message:
        nonlocal chunks
        await anyio.sleep(0.05)
        chunks += 1
        return {"type": "http.request", "body": b"x", "more_body": True}  # never the last

    middleware = BodyDeadlineMiddleware(recorder.app, timeout=0.5)
    _, elapsed = await timed(lambda: middleware(SCOPE, trickle, recorder.send), 0.5 + SLACK)
    assert chunks >= 5  # each chunk came well within the deadline; their sum did not
    assert elapsed >= 0.5
    start, body = recorder.sent  # only the 408: the app's failure was dropped
    assert start["status"] == 408
    assert (b"connection", b"close") in start["headers"]
    assert orjson.loads(body["body"])["type"] == "urn:jwtauth:problem:request_timeout"


async def test_the_middleware_passes_a_complete_body_and_stops_timing_after_it() -> None:
    recorder = Recorder()
    messages = [
        {"type": "http.request", "body": b"ab", "more_body": True},
        {"type": "http.request", "body": b"c", "more_body": False},
    ]
    left = anyio.Event()

    async def receive() -> Message:
        if messages:
            return messages.pop(0)
        await left.wait()  # after the body: only the client leaving, however late
        return {"type": "http.disconnect"}

    async def app(scope: Scope, timed_receive: Receive, send: Send) -> None:
        await recorder.app(scope, timed_receive, send)
        # Past the deadline, a receive after the complete body still waits for the client.
        await anyio.sleep(0.3)
        with anyio.move_on_after(0.2) as waited:
            await timed_receive()
        assert waited.cancelled_caught

    middleware = BodyDeadlineMiddleware(app, timeout=0.2)
    await middleware(SCOPE, receive, recorder.send)
    assert [message.get("status") for message in recorder.sent] == [200, None]
    assert recorder.sent[1]["body"] == b"3"
