"""A small Flask service protected by jwtauth, deny by default, with the auth server's cookies.

Run it:        flask --app example_app run          (from examples/flask_app)
Audit it:      jwtauth audit-routes example_app:app --app-dir examples/flask_app

It makes its own development key and logs a demo token at start-up; with ``EXAMPLE_JWKS_URL``
(``EXAMPLE_ISSUER``, ``EXAMPLE_AUDIENCE``, ``EXAMPLE_REDIS_URL``) it verifies the tokens of a
running ``jwtauth serve`` instead, and hears its logouts through Redis. A browser client of a
``jwtauth serve`` instance with ``JWTAUTH_COOKIE_TRANSPORT=true`` is accepted through the same
cookies (``JWTAUTH_COOKIES``), unsafe methods then needing the ``X-CSRF-Token`` header.
"""

import logging
import os
from typing import Any

from flask import Flask

from jwtauth import KeyRing, TokenManager, generate_key
from jwtauth.integrations._http import Authenticator
from jwtauth.integrations.flask import (
    JWTAuth,
    current_user,
    get_jwt_identity,
    jwt_required,
    public,
)
from jwtauth.jwks_client import JWKSClient, JWKSOptions
from jwtauth.stores.redis import RedisRevocationStore

__all__ = ["app", "auth", "manager"]

log = logging.getLogger("example")
USERS = {"alice": {"name": "Alice", "plan": "pro"}}
ORDERS: dict[str, list[dict[str, Any]]] = {"alice": [{"id": 1, "item": "teapot"}]}

manager = TokenManager(KeyRing(generate_key("ES256")), issuer="https://example", audience="shop")


def authenticator() -> Authenticator:
    """Resource-server mode with EXAMPLE_JWKS_URL (and EXAMPLE_REDIS_URL for the server's
    logouts), else the development key above and a demo token in the log."""
    url = os.environ.get("EXAMPLE_JWKS_URL")
    if url:
        issuer = os.environ.get("EXAMPLE_ISSUER", "http://127.0.0.1:8000")
        audience = os.environ.get("EXAMPLE_AUDIENCE", "jwtauth")
        redis = os.environ.get("EXAMPLE_REDIS_URL")
        revocations = RedisRevocationStore(redis) if redis else None
        return JWKSClient(JWKSOptions(url, issuer, audience)).authenticator(
            realm="shop", revocations=revocations
        )
    log.warning("demo token: %s", manager.issue("alice", claims={"scope": "orders:read"}))
    return Authenticator(manager, realm="shop")


app = Flask("shop")
app.config.update(JWTAUTH_PROTECT_ALL=True, JWTAUTH_COOKIES=True)
auth = JWTAuth(app, authenticator())


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
