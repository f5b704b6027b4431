"""Request-scoped dependencies: the verified bearer token, the client's address."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from jwtauth.auth.service import AuthService, ClientInfo
from jwtauth.bearer import bearer_token
from jwtauth.server.metrics import ServerMetrics
from jwtauth.server.throttle import Throttle
from jwtauth.types import Claims

__all__ = ["Authenticated", "ServerState", "client_info", "current_claims", "state_of"]

# auto_error=False: we answer a missing token ourselves, as problem+json with a challenge.
_bearer = HTTPBearer(auto_error=False, description="An access token from /auth/login")


@dataclass
class ServerState:
    """What every request needs; built once by the app's lifespan."""

    service: AuthService
    trusted_proxies: frozenset[str]
    metrics: ServerMetrics
    throttle: Throttle


def state_of(request: Request) -> ServerState:
    """The server state stored on the app."""
    state: ServerState = request.app.state.jwtauth
    return state


async def current_claims(
    request: Request,
    _scheme: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Claims:
    """Verify the bearer token and return its claims.

    ``_scheme`` is there for the OpenAPI security scheme; the header is read by
    :func:`~jwtauth.bearer.bearer_token`, as on every other route. ``async`` although it awaits
    nothing: FastAPI runs a plain ``def`` dependency in a worker thread, and the hand-off costs
    far more than the verification (microseconds when cached).
    """
    token = bearer_token(request.headers.get("authorization"))
    return state_of(request).service.tokens.verify(token)


Authenticated = Annotated[Claims, Depends(current_claims)]


async def client_info(request: Request) -> ClientInfo:
    """The client's address: the socket peer, or X-Forwarded-For from a trusted proxy only.

    ``async`` for the same reason as :func:`current_claims`: no thread hand-off.
    """
    trusted = state_of(request).trusted_proxies
    peer = request.client.host if request.client else None
    ip = peer
    if peer in trusted:
        forwarded = request.headers.get("x-forwarded-for", "")
        # The rightmost address not added by one of our own proxies is the client.
        for hop in reversed([h.strip() for h in forwarded.split(",") if h.strip()]):
            ip = hop
            if hop not in trusted:
                break
    agent = request.headers.get("user-agent")
    return ClientInfo(ip=ip, user_agent=agent[:512] if agent else None)
