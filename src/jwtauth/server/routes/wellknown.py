"""`/.well-known/jwks.json` and the health, readiness and metrics endpoints."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.exceptions import HTTPException

from jwtauth.lifecycle.rotation import JWKS_MAX_AGE
from jwtauth.ratelimit.addresses import normalise_address
from jwtauth.server.deps import state_of
from jwtauth.server.middleware import client_address
from jwtauth.server.openapi import problems, redirect
from jwtauth.server.problems import problem
from jwtauth.server.schemas import HealthOut, JWKSet, ReadyOut
from jwtauth.tokens.encoding import json_dumps

__all__ = ["router"]

router = APIRouter()


@router.get(
    "/.well-known/jwks.json",
    tags=["keys"],
    response_model=JWKSet,
    responses={
        200: {
            "description": "The JWK Set",
            "headers": {
                "Cache-Control": {
                    "description": "`public, max-age=N`: how long a copy may be used",
                    "required": True,
                    "schema": {"type": "string"},
                }
            },
        },
        **problems(403, 500, 503),
        **redirect(),
    },
)
async def jwks(request: Request) -> Response:
    """The public keys that verify our tokens (RFC 7517); never a private member."""
    keys: dict[str, Any] = state_of(request).service.tokens.keyring.jwks()
    return Response(
        content=json_dumps(keys),
        media_type="application/json",
        # The managed keyring publishes `next` at least this long before it signs (decision 017).
        headers={"Cache-Control": f"public, max-age={JWKS_MAX_AGE}"},
    )


@router.get("/healthz", tags=["health"], response_model=HealthOut)
async def healthz() -> dict[str, str]:
    """200 while the process runs (over plain HTTP too, for probes)."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    tags=["health"],
    response_model=ReadyOut,
    responses=problems(
        500, 503, described={503: "A store is not answering (`not_ready`); `checks` says which"}
    ),
)
async def readyz(request: Request) -> Response:
    """200 when every store answers, else 503 (over plain HTTP too, for probes)."""
    service = state_of(request).service
    checks = {
        "database": await _ping(service.refresh_store),
        "revocations": await service.revocations.ping(),
    }
    if not all(checks.values()):
        # Which store is down (the revocation channel, say: revoked tokens may pass here for a
        # while) is for operators; a probe needs only the status.
        if not _reads_metrics(request):
            return problem(503, "A store is not answering.", code="not_ready")
        return problem(503, "A store is not answering.", code="not_ready", checks=checks)
    return Response(content='{"status":"ready"}', media_type="application/json", status_code=200)


async def _ping(store: object) -> bool:
    ping = getattr(store, "ping", None)
    try:
        return bool(await ping()) if ping is not None else True
    except Exception:
        return False


@router.get(
    "/metrics",
    tags=["health"],
    response_class=PlainTextResponse,
    responses={
        200: {
            "description": "The Prometheus text exposition format",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        },
        **problems(
            403,
            404,
            500,
            503,
            described={
                403: "Production over plain HTTP (`https_required`)",
                404: "Neither the scrape token nor an allowed client address "
                "(`JWTAUTH_METRICS_TOKEN`, `JWTAUTH_METRICS_ALLOW`): answered as an unknown path",
            },
        ),
        **redirect(),
    },
)
async def metrics(request: Request) -> Response:
    """Prometheus metrics, for the scrape token or an allowed client address (loopback by
    default); anyone else gets the 404 of an unknown path."""
    if not _reads_metrics(request):
        # The very answer of a path that does not exist: a refusal would tell a stranger that
        # the counters are here and that a token might open them.
        raise HTTPException(404)
    return Response(content=state_of(request).metrics.render(), media_type=CONTENT_TYPE_LATEST)


def _reads_metrics(request: Request) -> bool:
    state = state_of(request)
    authorization = request.headers.get("authorization")
    return state.metrics.access.permits(_believed_address(request), authorization)


# How proxies name the client: X-Forwarded-For, which client_address reads, and two it does not.
_UNREAD_FORWARDING = ("forwarded", "x-real-ip")


def _believed_address(request: Request) -> str | None:
    """The client's address as the rate limits see it, or ``None`` when a proxy we do not
    believe may stand between: forwarding headers from a peer outside the trusted proxies (a
    proxy left out of ``JWTAUTH_TRUSTED_PROXIES``), or only headers the resolution does not
    read (a proxy that sends ``X-Real-IP``). Either way the address would be the proxy's,
    loopback for a proxy on the same host, which is the hole this check closes."""
    state = state_of(request)
    headers = request.headers
    peer = normalise_address(request.client.host) if request.client else None
    if "x-forwarded-for" in headers:
        if peer is None or peer not in state.trusted_proxies:
            return None
    elif any(name in headers for name in _UNREAD_FORWARDING):
        return None
    return client_address(request.scope, state.trusted_proxies)
