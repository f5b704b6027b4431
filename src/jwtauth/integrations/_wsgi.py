"""One WSGI request answered by an ASGI app on the process's background loop.

The synchronous adapters (Flask, Django) mount :class:`jwtauth.server.EmbeddedAuth`'s ASGI app
this way: the request thread hands the request to the :class:`SyncRuntime` loop, which already
runs the stores, and waits for the answer. Never a loop per request, and the auth routes run the
same code as ``jwtauth serve`` (docs/decisions/022-embedded-auth.md says why not a2wsgi or
asgiref: both run the ASGI app on a loop of their own, apart from the stores').
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jwtauth.integrations._http import PROBLEM_JSON
from jwtauth.integrations._sync import SyncRuntime
from jwtauth.tokens.encoding import json_dumps

__all__ = ["MAX_BODY", "Reply", "call_asgi"]

MAX_BODY = 64 * 1024
"""The largest request body the auth routes read (every one of them takes a small JSON
object); a larger one is refused with 413 before it is read."""

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
    app resolves through its trusted proxies as the server does.
    """
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return _problem(400, "The Content-Length header is not a number.")
    if length < 0:
        return _problem(400, "The Content-Length header is not a number.")
    if length > MAX_BODY:
        return _problem(413, f"The request body exceeds {MAX_BODY} bytes.")
    body = environ["wsgi.input"].read(length) if length else b""
    return runtime.call(_run(app, _scope(environ), body))


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


async def _run(app: ASGIApp, scope: dict[str, Any], body: bytes) -> Reply:
    status = 500
    headers: list[tuple[str, str]] = []
    chunks: list[bytes] = []
    delivered = False

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if delivered:  # the body was read: the next event is the end of the request
            return {"type": "http.disconnect"}
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

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


def _problem(status: int, detail: str) -> Reply:
    titles = {400: "Bad Request", 413: "Content Too Large"}
    body = json_dumps(
        {"type": "about:blank", "title": titles[status], "status": status, "detail": detail}
    )
    return Reply(status, [("Content-Type", PROBLEM_JSON), ("Cache-Control", "no-store")], body)
