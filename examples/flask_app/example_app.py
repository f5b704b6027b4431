"""A small Flask service protected by jwtauth, deny by default, with the auth server's cookies.

Run it:        flask --app example_app run          (from examples/flask_app)
A token:       flask --app example_app demo-token   (prints one for the demo user, alice)
Audit it:      jwtauth audit-routes example_app:app --app-dir examples/flask_app

It makes its own development key; with ``EXAMPLE_JWKS_URL`` (``EXAMPLE_ISSUER``,
``EXAMPLE_AUDIENCE``, ``EXAMPLE_REDIS_URL``) it verifies the tokens of a running
``jwtauth serve`` instead, and hears its logouts through Redis. A browser client of a
``jwtauth serve`` instance with ``JWTAUTH_COOKIE_TRANSPORT=true`` is accepted through the same
cookies (``JWTAUTH_COOKIES``), unsafe methods then needing the ``X-CSRF-Token`` header.
``POST /logout`` revokes the request's token (through Redis, for every process, when it is set).
"""

import os
from typing import Any

import click
from flask import Flask

from jwtauth import KeyRing, TokenManager, generate_key
from jwtauth.integrations import Authenticator, SyncRuntime
from jwtauth.integrations.flask import (
    JWTAuth,
    create_access_token,
    current_user,
    get_jwt,
    get_jwt_identity,
    jwt_required,
    public,
)
from jwtauth.jwks_client import JWKSClient, JWKSOptions
from jwtauth.redis_namespace import redis_namespace
from jwtauth.stores.memory import MemoryRevocationStore
from jwtauth.stores.redis import RedisRevocationStore
from jwtauth.types import RevocationStore

__all__ = ["app", "auth", "manager"]

USERS = {"alice": {"name": "Alice", "plan": "pro"}}
ORDERS: dict[str, list[dict[str, Any]]] = {"alice": [{"id": 1, "item": "teapot"}]}

manager = TokenManager(KeyRing(generate_key("ES256")), issuer="https://example", audience="shop")


def runtime() -> SyncRuntime:
    """Resource-server mode with EXAMPLE_JWKS_URL, else the development key above; revocations
    in Redis with EXAMPLE_REDIS_URL (the auth server's logouts reach us, ours reach it), else in
    this process."""
    redis = os.environ.get("EXAMPLE_REDIS_URL")
    # In the auth server's namespace on that Redis (from its issuer): its revoke-all reaches us.
    namespace = redis_namespace(None, os.environ.get("EXAMPLE_ISSUER", "http://127.0.0.1:8000"))
    store: RevocationStore = (
        RedisRevocationStore(redis, namespace=namespace) if redis else MemoryRevocationStore()
    )
    url = os.environ.get("EXAMPLE_JWKS_URL")
    if url:
        issuer = os.environ.get("EXAMPLE_ISSUER", "http://127.0.0.1:8000")
        audience = os.environ.get("EXAMPLE_AUDIENCE", "jwtauth")
        authenticator = JWKSClient(JWKSOptions(url, issuer, audience)).authenticator(
            realm="shop", revocations=store
        )
    else:
        authenticator = Authenticator(manager, realm="shop", revocations=store)
    return SyncRuntime(authenticator, revocations=store)


app = Flask("shop")
app.config.update(JWTAUTH_PROTECT_ALL=True, JWTAUTH_COOKIES=True)
auth = JWTAuth(app, runtime())


@auth.user_lookup_loader
def load_user(claims: Any) -> dict[str, str] | None:
    return USERS.get(claims["sub"])


@app.get("/health")
@public
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/whoami")
def whoami() -> dict[str, str]:
    return {"sub": str(get_jwt_identity())}


@app.get("/me")
def me() -> dict[str, str]:
    return {"id": get_jwt_identity(), **current_user}


@app.get("/orders")
@jwt_required(scopes=["orders:read"])
def orders() -> list[dict[str, Any]]:
    return ORDERS.get(get_jwt_identity(), [])


@app.post("/orders")
@jwt_required(scopes=["orders:write"])
def add_order() -> dict[str, int]:
    return {"id": 2}


@app.post("/logout")
def logout() -> tuple[str, int]:
    auth.revoke_token(get_jwt())
    return "", 204


@app.cli.command("demo-token")
def demo_token() -> None:
    """Print an access token for the demo user (development key only)."""
    click.echo(create_access_token("alice", additional_claims={"scope": "orders:read"}))
