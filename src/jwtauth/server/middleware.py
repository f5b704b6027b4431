"""Security headers on every response, the HTTPS requirement of production, the request-body
limit and deadline (pure ASGI, so streaming and errors are covered), and who the client is
behind the trusted proxies."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from urllib.parse import quote

import anyio
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from jwtauth.ratelimit.addresses import Network, TrustedProxies, normalise_address
from jwtauth.server.problems import problem

__all__ = [
    "BodyDeadlineMiddleware",
    "BodyLimitMiddleware",
    "HTTPSRequiredMiddleware",
    "SecurityHeadersMiddleware",
    "client_address",
    "request_is_https",
]

Proxies = Iterable[str | Network] | TrustedProxies

_ALWAYS = (
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
    # An API serves no documents: nothing may load, nothing may frame it.
    ("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"),
    # Current OWASP advice: the legacy XSS auditors could be steered into removing legitimate
    # scripts and leaking page content (XS-Leaks), and no current browser ships one; `0` turns
    # any remaining one off rather than `1; mode=block`. The CSP above is the real defence.
    ("X-XSS-Protection", "0"),
)
HSTS = "max-age=63072000; includeSubDomains"


def _raw(pairs: Iterable[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    return [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in pairs]


_RAW_ALWAYS = _raw(_ALWAYS)
_RAW_NO_STORE = _raw((("Cache-Control", "no-store"), ("Pragma", "no-cache")))
_RAW_HSTS = _raw((("Strict-Transport-Security", HSTS),))


def client_address(scope: Scope, trusted_proxies: Proxies) -> str | None:
    """The client's address (:func:`~jwtauth.ratelimit.addresses.normalise_address` form): the
    socket peer, or what ``X-Forwarded-For`` says when the peer is a trusted proxy.

    The list is walked from the right: each trusted proxy appends the address it received
    from, so the rightmost address that is not one of ours is the client, and anything to its
    left is the client's to invent. Every ``X-Forwarded-For`` field counts, in order (RFC 9110
    section 5.3): a proxy that adds its own field rather than appending to the client's would
    otherwise leave the client's forged one first. An entry that is not an IP address ends the
    walk at the last proxy that passed it on. ``None`` when there is no usable peer address.
    """
    proxies = TrustedProxies.parse(trusted_proxies)
    client = scope.get("client")
    address = normalise_address(client[0]) if client else None
    if address is None or address not in proxies:
        return address
    hops = [
        hop
        for name, value in scope.get("headers", ())
        if name == b"x-forwarded-for"
        for hop in value.decode("latin-1").split(",")
    ]
    for hop in reversed(hops):
        if not hop.strip():
            continue
        forwarded = normalise_address(hop)
        if forwarded is None:
            break
        address = forwarded
        if forwarded not in proxies:
            break
    return address


def request_is_https(scope: Scope, trusted_proxies: Proxies) -> bool:
    """TLS on the connection, or `X-Forwarded-Proto: https` from a trusted proxy."""
    if scope.get("scheme") == "https":
        return True
    client = scope.get("client")
    if client is None or client[0] not in TrustedProxies.parse(trusted_proxies):
        return False
    proto = None
    for name, value in scope.get("headers", ()):
        if name == b"x-forwarded-proto":
            proto = value
    if proto is None:
        return False
    # The last value is the one our proxy added; earlier ones came from the client, as in
    # X-Forwarded-For (a proxy that appends leaves a client's value in front).
    return bool(proto.decode("latin-1").split(",")[-1].strip().lower() == "https")


class SecurityHeadersMiddleware:
    """Adds the API.md headers; `no-store` under /auth/; HSTS in production over HTTPS only."""

    def __init__(
        self, app: ASGIApp, *, production: bool, trusted_proxies: Proxies = ("127.0.0.1",)
    ) -> None:
        self.app = app
        self.production = production
        self.trusted_proxies = TrustedProxies.parse(trusted_proxies)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        # RFC 6797 section 7.2: never over plain HTTP.
        hsts = self.production and request_is_https(scope, self.trusted_proxies)

        no_store = path.startswith("/auth/")
        extra = _RAW_ALWAYS + (_RAW_NO_STORE if no_store else []) + (_RAW_HSTS if hsts else [])

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                # Our routes never set these headers themselves, so the prebuilt raw pairs are
                # appended in one list operation rather than set one by one; only a caching
                # header a route might choose is replaced under /auth/.
                raw = list(message.get("headers", ()))
                if no_store:
                    raw = [(k, v) for k, v in raw if k not in (b"cache-control", b"pragma")]
                message["headers"] = raw + extra
            await send(message)

        await self.app(scope, receive, send_with_headers)


# Load balancers probe these over plain HTTP (API.md); they carry nothing secret.
_PROBES = frozenset({"/healthz", "/readyz"})
_REDIRECTABLE = frozenset({"GET", "HEAD"})
# RFC 3986 pchar and query characters that may stand as they are; anything else is
# percent-encoded, so that nothing in the path or query can end the path or the URL.
_PATH_SAFE = "/-._~!$&'()*+,;=:@"
_QUERY_SAFE = _PATH_SAFE + "?%"


class HTTPSRequiredMiddleware:
    """Production answers plain-HTTP requests with a refusal or a redirect to HTTPS.

    ``mode="refuse"``: ``403`` problem+json. ``mode="redirect"``: ``308`` to the same path on
    ``origin`` (the configured issuer's, never the request's ``Host``, which a client picks) for
    GET and HEAD; other methods are refused, since their body (a password, a token) has already
    crossed the network in clear and a redirect would only invite the client to send it again.
    A request-target that is not a path (``.evil.example``, ``@evil.example``, the absolute form
    ``http://evil.example/x``) is a ``400``: glued to the origin it would name another host.
    Whether a request is HTTPS is :func:`request_is_https`'s answer (trusted proxies only).

    Two exceptions pass in clear: the probes (``/healthz``, ``/readyz``), and ``/metrics`` from
    a loopback client as resolved through the trusted proxies, the scraper beside the server;
    its request never crosses a network, and ``/metrics`` itself decides who reads it.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        mode: str,
        origin: str,
        trusted_proxies: Proxies = ("127.0.0.1",),
    ) -> None:
        self.app = app
        self.mode = mode
        self.origin = origin.rstrip("/")
        self.trusted_proxies = TrustedProxies.parse(trusted_proxies)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope.get("path", "") in _PROBES
            or request_is_https(scope, self.trusted_proxies)
            or self._local_scrape(scope)
        ):
            await self.app(scope, receive, send)
            return
        if self.mode == "redirect" and scope.get("method") in _REDIRECTABLE:
            target = self._target(scope)
            if target is None:
                refusal = problem(
                    400, "The request target is not a path.", code="invalid_request_target"
                )
                await refusal(scope, receive, send)
                return
            # Not RedirectResponse: it would quote the URL again with its own safe set.
            await Response(status_code=308, headers={"Location": target})(scope, receive, send)
            return
        refusal = problem(403, "This server accepts HTTPS requests only.", code="https_required")
        await refusal(scope, receive, send)

    def _local_scrape(self, scope: Scope) -> bool:
        if scope.get("path", "") != "/metrics":
            return False
        address = client_address(scope, self.trusted_proxies)
        return address is not None and ipaddress.ip_address(address).is_loopback

    def _target(self, scope: Scope) -> str | None:
        """The origin and the request's path and query; ``None`` when the path is not one.

        The path is the decoded one, encoded again here: what reaches the Location header
        is the origin, a ``/`` and only characters that cannot leave the path."""
        path: str = scope.get("path", "")
        if not path.startswith("/"):
            return None
        query = scope.get("query_string", b"").decode("latin-1")
        target = self.origin + quote(path, safe=_PATH_SAFE)
        return target + "?" + quote(query, safe=_QUERY_SAFE) if query else target


class BodyLimitMiddleware:
    """Refuses request bodies over ``limit`` bytes with ``413`` problem+json, before they are
    buffered.

    A declared ``Content-Length`` over the limit is refused before the app runs and before
    anything is read (no ``100 Continue`` either); a body without one (chunked) is counted as
    the app pulls it, and at the first chunk past the limit the app is told the client left,
    nothing more is read and the answer is the 413. A ``Content-Length`` that is not one
    number is a ``400``.
    """

    def __init__(self, app: ASGIApp, *, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            declared = _declared_length(scope)
        except ValueError:
            refusal = problem(
                400, "The Content-Length header is not a number.", code="invalid_content_length"
            )
            await refusal(scope, receive, send)
            return
        if declared is not None and declared > self.limit:
            await self._too_large(scope, receive, send)
            return

        received = 0
        refused = False

        async def limited_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    refused = True
                    # What a server tells an app whose client is gone: Starlette's request
                    # raises ClientDisconnect and the route gives up without a traceback.
                    return {"type": "http.disconnect"}
            return message

        await _unless_refused(
            self.app,
            scope,
            receive,
            send,
            guarded_receive=limited_receive,
            refused=lambda: refused,
            refusal=self._too_large,
        )

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        refusal = problem(
            413,
            f"The request body exceeds {self.limit} bytes.",
            code="content_too_large",
            # Else the server reads the rest of the body, to throw it away, for as long as the
            # client cares to send it, before the connection can serve another request.
            headers={"Connection": "close"},
        )
        await refusal(scope, receive, send)


class BodyDeadlineMiddleware:
    """Answers ``408`` problem+json (``request_timeout``) and closes the connection when the
    request body is not complete ``timeout`` seconds after the app was called.

    The server calls the app as soon as the head is parsed, so the clock runs from the head.
    Every wait of the app for more body counts against one deadline, which bytes arriving do
    not extend (else one byte a second would hold the connection for ever). Once the body is
    complete there is none: later receives only wait for the client to leave. At the deadline
    the app is told the client left, its answer is dropped and the client gets the 408 with
    ``Connection: close``, as :class:`BodyLimitMiddleware` does with its 413. A body the app
    never reads is the server's to time (:mod:`jwtauth.server.protocol`).
    """

    def __init__(self, app: ASGIApp, *, timeout: float) -> None:
        self.app = app
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        deadline = anyio.current_time() + self.timeout
        complete = False
        expired = False

        async def timed_receive() -> Message:
            nonlocal complete, expired
            if expired:
                return {"type": "http.disconnect"}
            if complete:
                return await receive()
            message: Message | None = None
            with anyio.move_on_at(deadline):
                message = await receive()
            if message is None:
                expired = True
                # As in BodyLimitMiddleware: the route gives up on a client that left.
                return {"type": "http.disconnect"}
            complete = message["type"] != "http.request" or not message.get("more_body", False)
            return message

        await _unless_refused(
            self.app,
            scope,
            receive,
            send,
            guarded_receive=timed_receive,
            refused=lambda: expired,
            refusal=self._too_late,
        )

    async def _too_late(self, scope: Scope, receive: Receive, send: Send) -> None:
        refusal = problem(
            408,
            f"The request body was not received within {self.timeout:g} s.",
            code="request_timeout",
            # The rest of the body may never come: nothing more is read from this client.
            headers={"Connection": "close"},
        )
        await refusal(scope, receive, send)


async def _unless_refused(
    app: ASGIApp,
    scope: Scope,
    receive: Receive,
    send: Send,
    *,
    guarded_receive: Receive,
    refused: Callable[[], bool],
    refusal: ASGIApp,
) -> None:
    """Run ``app`` on ``guarded_receive``; once ``refused()`` (the body middlewares decided
    against the body), drop the app's answer unless it had begun, and send ``refusal``.

    The app is told the client left (``http.disconnect``) and may fail on that: its failure is
    the refusal's, not an error of its own.
    """
    started = False

    async def guarded_send(message: Message) -> None:
        nonlocal started
        if refused() and not started:
            return  # the app's answer to a body it never got: the refusal is the answer
        started = started or message["type"] == "http.response.start"
        await send(message)

    try:
        await app(scope, guarded_receive, guarded_send)
    except Exception:
        if not refused():
            raise
    if refused() and not started:
        await refusal(scope, receive, send)


def _declared_length(scope: Scope) -> int | None:
    """The request's ``Content-Length``; repeated or listed, its values must agree (RFC 9110
    section 8.6).

    Raises:
        ValueError: not a non-negative decimal number.
    """
    values = {
        item.strip()
        for name, value in scope.get("headers", ())
        if name == b"content-length"
        for item in value.split(b",")
    }
    if not values:
        return None
    if len(values) > 1 or not all(v.isdigit() for v in values):
        raise ValueError("Content-Length")
    # More digits than any real length: no need to convert them (int() refuses 4301 digits).
    (value,) = values
    return int(value) if len(value) <= 18 else 10**18
