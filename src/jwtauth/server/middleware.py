"""Security headers on every response, the HTTPS requirement of production (pure ASGI, so
streaming and errors are covered), and who the client is behind the trusted proxies."""

from __future__ import annotations

from collections.abc import Iterable

from starlette.responses import RedirectResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from jwtauth.ratelimit.addresses import Network, TrustedProxies, normalise_address
from jwtauth.server.problems import problem

__all__ = [
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


class HTTPSRequiredMiddleware:
    """Production answers plain-HTTP requests with a refusal or a redirect to HTTPS.

    ``mode="refuse"``: ``403`` problem+json. ``mode="redirect"``: ``308`` to the same path on
    ``origin`` (the configured issuer's, never the request's ``Host``, which a client picks) for
    GET and HEAD; other methods are refused, since their body (a password, a token) has already
    crossed the network in clear and a redirect would only invite the client to send it again.
    Whether a request is HTTPS is :func:`request_is_https`'s answer (trusted proxies only).
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
        ):
            await self.app(scope, receive, send)
            return
        if self.mode == "redirect" and scope.get("method") in _REDIRECTABLE:
            query = scope.get("query_string", b"").decode("latin-1")
            target = self.origin + scope.get("path", "/") + (f"?{query}" if query else "")
            await RedirectResponse(target, status_code=308)(scope, receive, send)
            return
        refusal = problem(403, "This server accepts HTTPS requests only.", code="https_required")
        await refusal(scope, receive, send)
