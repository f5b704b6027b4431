"""Request-scoped dependencies: the verified bearer token, the client's address."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from jwtauth.auth.mfa import MfaService
from jwtauth.auth.service import AuthService, ClientInfo
from jwtauth.ratelimit.addresses import DEFAULT_IPV6_PREFIX, TrustedProxies
from jwtauth.server.metrics import ServerMetrics
from jwtauth.server.middleware import client_address
from jwtauth.server.throttle import Throttle
from jwtauth.server.transport import FINGERPRINT_COOKIE, Transport
from jwtauth.types import Claims

__all__ = ["Authenticated", "ServerState", "client_info", "current_claims", "state_of"]

# auto_error=False: we answer a missing token ourselves, as problem+json with a challenge.
_bearer = HTTPBearer(auto_error=False, description="An access token from /auth/login")


@dataclass
class ServerState:
    """What every request needs; built once by the app's lifespan."""

    service: AuthService
    trusted_proxies: TrustedProxies
    metrics: ServerMetrics
    throttle: Throttle
    transport: Transport = field(default_factory=Transport)
    mfa: MfaService | None = None  # None with JWTAUTH_MFA=false (its routes are not mounted)
    registration: bool = True  # False: an embedding host signs users up itself (register 404s)
    ipv6_prefix: int = DEFAULT_IPV6_PREFIX  # IPv6 clients of one such network share limits


def state_of(request: Request) -> ServerState:
    """The server state stored on the app."""
    state: ServerState = request.app.state.jwtauth
    return state


async def current_claims(
    request: Request,
    _scheme: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Claims:
    """Verify the access token (bearer header, or cookie with cookie transport); its claims.

    ``_scheme`` is there for the OpenAPI security scheme; the request is read by
    :meth:`Transport.authenticate`, as on every other route. ``async`` although it awaits
    nothing: FastAPI runs a plain ``def`` dependency in a worker thread, and the hand-off costs
    far more than the verification (microseconds when cached).
    """
    state = state_of(request)
    return state.transport.authenticate(request, state.service.tokens)


Authenticated = Annotated[Claims, Depends(current_claims)]


async def client_info(request: Request) -> ClientInfo:
    """The client's address: the socket peer, or X-Forwarded-For from a trusted proxy only.

    ``async`` for the same reason as :func:`current_claims`: no thread hand-off.
    """
    ip = client_address(request.scope, state_of(request).trusted_proxies)
    agent = request.headers.get("user-agent")
    return ClientInfo(
        ip=ip,
        user_agent=agent[:512] if agent else None,
        # Checked against the session's on refresh; login replaces it with a new one.
        fingerprint=request.cookies.get(FINGERPRINT_COOKIE),
    )
