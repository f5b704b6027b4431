"""One WSGI request answered by an ASGI app on the process's background loop.

The synchronous adapters (Flask, Django) mount :class:`jwtauth.server.EmbeddedAuth`'s ASGI app
this way: the request thread hands the request to the :class:`SyncRuntime` loop, which already
runs the stores, and waits for the answer. Never a loop per request, and the auth routes run the
same code as ``jwtauth serve`` (docs/decisions/022-embedded-auth.md says why not a2wsgi or
asgiref: both run the ASGI app on a loop of their own, apart from the stores').
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from jwtauth.config import Settings
from jwtauth.integrations._sync import SyncRuntime

__all__ = ["MAX_BODY", "Reply", "call_asgi"]

MAX_BODY: Final[int] = Settings.model_fields["max_request_body"].default
"""The default of ``JWTAUTH_MAX_REQUEST_BODY``: the most a host reads ahead for the auth routes
(a hook may have spent the WSGI stream). The limit itself is the embedded app's
:class:`~jwtauth.server.middleware.BodyLimitMiddleware`, with the configured value, which this
bridge feeds chunk by chunk, so the two cannot disagree."""

_CHUNK = 16 * 1024

ASGIApp = Any  # starlette.types.ASGIApp, without importing a framework here


@dataclass(frozen=True, slots=True)
class Reply:
    """What the ASGI app answered, for the WSGI framework to send."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes


def call_asgi(runtime: SyncRuntime, app: ASGIApp, environ: Mapping[str, Any]) -> Reply:
    """Answer the WSGI request ``environ`` with ``app``, on ``runtime``'s loop.

    The path the app sees is the whole path (``SCRIPT_NAME`` + ``PATH_INFO``) with
    ``SCRIPT_NAME`` as its root path; the client address is ``REMOTE_ADDR``, which the auth
    app resolves through its trusted proxies as the server does. The body is read as the app
    pulls it, up to ``CONTENT_LENGTH`` (PEP 3333), so the app's body limit decides how much is
    read: a declared length over it is refused before anything is.
    """
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0  # the app sees the header and refuses it (400)
    stream = environ["wsgi.input"] if length > 0 else None
    return runtime.call(_run(app, _scope(environ), stream, max(length, 0)))


def _scope(environ: Mapping[str, Any]) -> dict[str, Any]:
    root = environ.get("SCRIPT_NAME", "")
    # WSGI servers decode the path as latin-1 (PEP 3333); re-encode to get the bytes back.
    path = root + environ.get("PATH_INFO", "")
    headers = [
        (name[5:].replace("_", "-").lower().encode("latin-1"), str(value).encode("latin-1"))
        for name, value in environ.items()
        if name.startswith("HTTP_")
    ]
    for name, header in (("CONTENT_TYPE", b"content-type"), ("CONTENT_LENGTH", b"content-length")):
        if environ.get(name):
            headers.append((header, str(environ[name]).encode("latin-1")))
    protocol = str(environ.get("SERVER_PROTOCOL", "HTTP/1.1"))
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": protocol.partition("/")[2] or "1.1",
        "method": str(environ.get("REQUEST_METHOD", "GET")).upper(),
        "scheme": environ.get("wsgi.url_scheme", "http"),
        "path": path.encode("latin-1").decode("utf-8", "replace"),
        "raw_path": path.encode("latin-1"),
        "root_path": root,
        "query_string": str(environ.get("QUERY_STRING", "")).encode("latin-1"),
        "headers": headers,
        "client": (environ.get("REMOTE_ADDR") or "", int(environ.get("REMOTE_PORT") or 0)),
        "server": (environ.get("SERVER_NAME", ""), int(environ.get("SERVER_PORT") or 0)),
        "state": {},
    }


async def _run(app: ASGIApp, scope: dict[str, Any], stream: Any, length: int) -> Reply:
    status = 500
    headers: list[tuple[str, str]] = []
    chunks: list[bytes] = []
    remaining = length
    finished = False

    async def receive() -> dict[str, Any]:
        nonlocal remaining, finished
        if finished:  # the body was read: the next event is the end of the request
            return {"type": "http.disconnect"}
        chunk = b""
        if stream is not None and remaining > 0:
            size = min(remaining, _CHUNK)
            if isinstance(stream, io.BytesIO):  # read ahead by the host: already in memory
                chunk = stream.read(size)
            else:  # a socket: a slow client must not stall the loop the stores run on
                chunk = await asyncio.to_thread(stream.read, size)
            remaining -= len(chunk)
        finished = not chunk or remaining <= 0
        return {"type": "http.request", "body": chunk, "more_body": not finished}

    async def send(message: Mapping[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])
            headers.extend(
                (name.decode("latin-1"), value.decode("latin-1"))
                for name, value in message.get("headers", ())
            )
        elif message["type"] == "http.response.body":
            chunks.append(bytes(message.get("body", b"")))

    await app(scope, receive, send)
    return Reply(status, headers, b"".join(chunks))
