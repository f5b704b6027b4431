"""uvicorn's HTTP/1.1 protocol with a deadline on every request head (slowloris).

uvicorn times only the idle wait between requests (``timeout_keep_alive``), and any byte cancels
that timer: a client that sends a partial head, or trickles one byte at a time, holds the
connection (and a file descriptor) for as long as it likes. ASGI middleware cannot help, since
the app is called only once the head is complete. Here every wait for a head, from the moment
the connection is accepted or the previous response is sent, has an absolute deadline:
``header_timeout`` seconds. Bytes arriving do not extend it. The body that follows a head is
timed by :class:`~jwtauth.server.middleware.BodyDeadlineMiddleware`, where a ``408`` can still
be answered through the app. See docs/decisions/032-slow-clients.md.
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol, RequestResponseCycle

# The headers SecurityHeadersMiddleware gives every other response (API.md).
from jwtauth.server.middleware import _RAW_ALWAYS as SECURITY_HEADERS
from jwtauth.server.problems import problem

__all__ = ["HeadTimeoutProtocol", "head_timeout_protocol"]


def _timeout_fields() -> tuple[list[tuple[bytes, bytes]], bytes]:
    """The header fields and body of the ``408`` for a partial head. It is written raw: h11 has
    no request to answer yet, so it refuses to frame a response, and the app (with its header
    middleware) never ran, so the security headers are added here."""
    response = problem(
        408,
        "The request head was not received in time.",
        code="request_timeout",
        headers={"Connection": "close", "Cache-Control": "no-store"},
    )
    return [*response.raw_headers, *SECURITY_HEADERS], bytes(response.body)


_TIMEOUT_FIELDS, _TIMEOUT_BODY = _timeout_fields()


def _timeout_response(default_headers: list[tuple[bytes, bytes]]) -> bytes:
    """The raw ``408``, after the server's own fields (``Date``, and ``Server`` if enabled) as
    uvicorn puts them before every response it frames."""
    fields = [*default_headers, *_TIMEOUT_FIELDS]
    head = b"".join(name + b": " + value + b"\r\n" for name, value in fields)
    return b"HTTP/1.1 408 Request Timeout\r\n" + head + b"\r\n" + _TIMEOUT_BODY


class HeadTimeoutProtocol(H11Protocol):
    """:class:`uvicorn.protocols.http.h11_impl.H11Protocol` that closes a connection whose
    request head is not complete ``header_timeout`` seconds after the server was ready for it.

    A client that sent part of a head gets a ``408`` problem (``request_timeout``) first; one
    that sent nothing, or is still sending the body of a request already answered, is closed
    without one, as uvicorn closes an idle keep-alive connection. Use
    :func:`head_timeout_protocol` to choose the timeout.
    """

    header_timeout: ClassVar[float] = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._wait_for_head()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_waiting()
        super().connection_lost(exc)

    def on_response_complete(self) -> None:
        # Armed before uvicorn's own handler, which may start a pipelined request at once:
        # that request replaces the cycle, and so the timer knows it was met.
        if not self.transport.is_closing():
            self._wait_for_head()
        super().on_response_complete()

    def handle_websocket_upgrade(self, event: h11.Request) -> None:
        # The transport passes to another protocol; this timer must not close it later.
        self._stop_waiting()
        super().handle_websocket_upgrade(event)

    def _wait_for_head(self) -> None:
        self._stop_waiting()
        self._head_timer = self.loop.call_later(
            self.header_timeout, self._head_timed_out, self.cycle
        )

    def _stop_waiting(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self, awaited_after: RequestResponseCycle | None) -> None:
        self._head_timer = None
        # A head that arrived made a new cycle; that request's body has its own deadline.
        if self.cycle is not awaited_after or self.transport.is_closing():
            return
        partial_head = (
            self.conn.our_state is h11.IDLE
            and self.conn.their_state is h11.IDLE
            and bool(self.conn.trailing_data[0])
        )
        if partial_head:
            self.transport.write(_timeout_response(self.server_state.default_headers))
        self.logger.debug("Request head not received within %g s.", self.header_timeout)
        self.transport.close()


def head_timeout_protocol(header_timeout: float) -> type[HeadTimeoutProtocol]:
    """The protocol class to pass as uvicorn's ``http=``, with this head deadline in seconds:
    ``uvicorn.run(app, http=head_timeout_protocol(10.0))``."""
    if header_timeout <= 0:
        raise ValueError("header_timeout must be positive")

    class Configured(HeadTimeoutProtocol):
        pass

    Configured.header_timeout = float(header_timeout)
    return Configured
