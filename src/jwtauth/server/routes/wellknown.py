"""`/.well-known/jwks.json` and the health, readiness and metrics endpoints."""

from __future__ import annotations

import ipaddress
from typing import Any

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST

from jwtauth.keys.lifecycle import JWKS_MAX_AGE
from jwtauth.server.deps import state_of
from jwtauth.server.problems import problem
from jwtauth.tokens.encoding import json_dumps

__all__ = ["router"]

router = APIRouter()


@router.get("/.well-known/jwks.json", tags=["keys"])
async def jwks(request: Request) -> Response:
    """The public keys that verify our tokens (RFC 7517); never a private member."""
    keys: dict[str, Any] = state_of(request).service.tokens.keyring.jwks()
    return Response(
        content=json_dumps(keys),
        media_type="application/json",
        # The managed keyring publishes `next` at least this long before it signs (decision 017).
        headers={"Cache-Control": f"public, max-age={JWKS_MAX_AGE}"},
    )


@router.get("/healthz", tags=["health"])
async def healthz() -> dict[str, str]:
    """200 while the process runs."""
    return {"status": "ok"}


@router.get("/readyz", tags=["health"])
async def readyz(request: Request) -> Response:
    """200 when every store answers, else 503."""
    service = state_of(request).service
    checks = {
        "database": await _ping(service.refresh_store),
        "revocations": await service.revocations.ping(),
    }
    if not all(checks.values()):
        return problem(503, "A store is not answering.", code="not_ready", checks=checks)
    return Response(content='{"status":"ready"}', media_type="application/json", status_code=200)


async def _ping(store: object) -> bool:
    ping = getattr(store, "ping", None)
    try:
        return bool(await ping()) if ping is not None else True
    except Exception:
        return False


@router.get("/metrics", tags=["health"])
async def metrics(request: Request) -> Response:
    """Prometheus metrics, for loopback clients only."""
    host = request.client.host if request.client else ""
    try:
        local = ipaddress.ip_address(host).is_loopback
    except ValueError:
        local = False
    if not local:
        return problem(403, "Metrics are served to local clients only.", code="forbidden")
    return Response(content=state_of(request).metrics.render(), media_type=CONTENT_TYPE_LATEST)
