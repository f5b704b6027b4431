"""Security headers on every response (pure ASGI, so streaming and errors are covered)."""

from __future__ import annotations

from collections.abc import Iterable

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["SecurityHeadersMiddleware", "request_is_https"]

_ALWAYS = (
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
    # An API serves no documents: nothing may load, nothing may frame it.
    ("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"),
    # Current OWASP advice: the legacy XSS auditor is itself exploitable; turn it off.
    ("X-XSS-Protection", "0"),
)
HSTS = "max-age=63072000; includeSubDomains"


def request_is_https(scope: Scope, trusted_proxies: Iterable[str]) -> bool:
    """TLS on the connection, or `X-Forwarded-Proto: https` from a trusted proxy."""
    if scope.get("scheme") == "https":
        return True
    client = scope.get("client")
    if client is None or client[0] not in trusted_proxies:
        return False
    for name, value in scope.get("headers", ()):
        if name == b"x-forwarded-proto":
            return bool(value.decode("latin-1").split(",")[0].strip().lower() == "https")
    return False


class SecurityHeadersMiddleware:
    """Adds the API.md headers; `no-store` under /auth/; HSTS in production over HTTPS only."""

    def __init__(
        self, app: ASGIApp, *, production: bool, trusted_proxies: Iterable[str] = ("127.0.0.1",)
    ) -> None:
        self.app = app
        self.production = production
        self.trusted_proxies = frozenset(trusted_proxies)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        # RFC 6797 section 7.2: never over plain HTTP.
        hsts = self.production and request_is_https(scope, self.trusted_proxies)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in _ALWAYS:
                    headers[name] = value
                if path.startswith("/auth/"):
                    headers["Cache-Control"] = "no-store"
                    headers["Pragma"] = "no-cache"
                if hsts:
                    headers["Strict-Transport-Security"] = HSTS
            await send(message)

        await self.app(scope, receive, send_with_headers)
