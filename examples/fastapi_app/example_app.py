"""A small FastAPI service protected by jwtauth, deny by default.

Run it:        uvicorn example_app:app --app-dir examples/fastapi_app
Audit it:      jwtauth audit-routes example_app:app --app-dir examples/fastapi_app

By default it makes its own development key and logs a demo token at start-up. Set
``EXAMPLE_JWKS_URL`` (with ``EXAMPLE_ISSUER`` and ``EXAMPLE_AUDIENCE``) to verify the tokens of
a running ``jwtauth serve`` instead (resource-server mode), and ``EXAMPLE_REDIS_URL`` (the
server's ``JWTAUTH_REDIS_URL``) so that its logouts reach this service.
"""

# No `from __future__ import annotations`: FastAPI reads the annotations at run time.
import logging
import os
from typing import Annotated, Any

from fastapi import Depends, FastAPI
from starlette.requests import Request
from starlette.responses import PlainTextResponse

from jwtauth import KeyRing, TokenManager, generate_key
from jwtauth.integrations import Authenticator
from jwtauth.integrations.fastapi import (
    JWTAuth,
    current_claims,
    current_user,
    public,
    require_scopes,
)
from jwtauth.jwks_client import JWKSClient, JWKSOptions
from jwtauth.redis_namespace import redis_namespace
from jwtauth.stores.redis import RedisRevocationStore
from jwtauth.types import Claims, RevocationStore

__all__ = ["app"]

log = logging.getLogger("example")
USERS = {"alice": {"name": "Alice", "plan": "pro"}}


def revocations() -> RevocationStore | None:
    """With EXAMPLE_REDIS_URL, the auth server's revocations (logout, logout-all) reach us
    through Redis pub/sub into a local view: no Redis round trip per request."""
    url = os.environ.get("EXAMPLE_REDIS_URL")
    if not url:
        return None
    # The auth server's namespace on that Redis (derived from its issuer), so its revoke-all
    # reaches us too, not only its logouts.
    issuer = os.environ.get("EXAMPLE_ISSUER", "http://127.0.0.1:8000")
    return RedisRevocationStore(url, namespace=redis_namespace(None, issuer))


def authenticator() -> Authenticator:
    """Resource-server mode with EXAMPLE_JWKS_URL, else a development key of our own."""
    url = os.environ.get("EXAMPLE_JWKS_URL")
    if url:
        issuer = os.environ.get("EXAMPLE_ISSUER", "http://127.0.0.1:8000")
        audience = os.environ.get("EXAMPLE_AUDIENCE", "jwtauth")
        client = JWKSClient(JWKSOptions(url, issuer, audience))
        return client.authenticator(realm="shop", revocations=revocations())
    manager = TokenManager(
        KeyRing(generate_key("ES256")), issuer="https://example", audience="shop"
    )
    log.warning("demo token: %s", manager.issue("alice", claims={"scope": "items:read"}))
    return Authenticator(manager, realm="shop")


async def load_user(claims: Claims) -> dict[str, str] | None:
    return USERS.get(claims["sub"])


app = FastAPI(title="shop")
JWTAuth(authenticator(), user_loader=load_user).protect(app)


@app.get("/health")
@public
async def health() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/whoami")
async def whoami(claims: Annotated[Claims, Depends(current_claims)]) -> dict[str, str]:
    return {"sub": str(claims["sub"])}


@app.get("/me")
async def me(user: Annotated[dict[str, str], Depends(current_user)]) -> dict[str, str]:
    return user


@app.get("/items", dependencies=[Depends(require_scopes("items:read"))])
async def items() -> list[dict[str, Any]]:
    return [{"id": 1, "name": "teapot"}]


@app.post("/items", dependencies=[Depends(require_scopes("items:write"))])
async def add_item() -> dict[str, int]:
    return {"id": 2}


async def metrics(request: Request) -> PlainTextResponse:
    return PlainTextResponse("requests_total 42\n")


# Left unmarked ON PURPOSE, so that `jwtauth audit-routes` has something to catch: add_route
# registers a plain Starlette route, which FastAPI dependencies (and so protect()) never see.
# The audit exits 1 on it; decorate `metrics` with @public (or serve it from a FastAPI route)
# and it passes.
app.add_route("/metrics", metrics)
