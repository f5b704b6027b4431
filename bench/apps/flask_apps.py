"""The Flask apps ``bench.wsgi`` measures (``gunicorn 'bench.apps.flask_apps:<factory>()'``).

* :func:`bare_app`: ``GET /`` answering a constant.
* :func:`extended_app`: flask-jwt-extended's ``@jwt_required()`` and ``get_jwt()``.
* :func:`jwtauth_app`: jwtauth's extension with ``JWTAUTH_PROTECT_ALL`` and ``get_jwt()``;
  ``BENCH_REDIS_URL`` makes revocation go through Redis.
"""

import os
from typing import Any

from flask import Flask
from flask_jwt_extended import JWTManager
from flask_jwt_extended import get_jwt as extended_get_jwt
from flask_jwt_extended import jwt_required as extended_jwt_required

from bench.apps.peers import CLAIMS_SHAPE
from jwtauth import KeyRing, TokenManager
from jwtauth.integrations._http import Authenticator
from jwtauth.integrations._sync import SyncRuntime
from jwtauth.integrations.flask import JWTAuth, get_jwt
from jwtauth.keys.key import HMACKey
from jwtauth.stores.memory import MemoryRevocationStore
from jwtauth.types import RevocationStore

__all__ = ["bare_app", "extended_app", "jwtauth_app"]


def bare_app() -> Flask:
    app = Flask("bare")

    @app.get("/")
    def endpoint() -> dict[str, Any]:
        return CLAIMS_SHAPE

    return app


def extended_app() -> Flask:
    app = Flask("extended")
    app.config.update(
        JWT_SECRET_KEY=os.environ["BENCH_SECRET"],
        JWT_ALGORITHM="HS256",
        JWT_DECODE_AUDIENCE=os.environ["BENCH_AUDIENCE"],
        JWT_DECODE_ISSUER=os.environ["BENCH_ISSUER"],
    )
    JWTManager(app)

    @app.get("/claims")
    @extended_jwt_required()  # type: ignore[untyped-decorator]
    def claims() -> dict[str, Any]:
        return extended_get_jwt()

    return app


def jwtauth_app() -> Flask:
    manager = TokenManager(
        KeyRing(HMACKey(os.environ["BENCH_SECRET"].encode(), "HS256")),
        issuer=os.environ["BENCH_ISSUER"],
        audience=os.environ["BENCH_AUDIENCE"],
    )
    store: RevocationStore = MemoryRevocationStore()
    if os.environ.get("BENCH_REDIS_URL"):
        from jwtauth.stores.redis import RedisRevocationStore

        store = RedisRevocationStore(os.environ["BENCH_REDIS_URL"])
    app = Flask("jwtauth")
    app.config["JWTAUTH_PROTECT_ALL"] = True
    JWTAuth(app, SyncRuntime(Authenticator(manager, revocations=store), revocations=store))

    @app.get("/claims")
    def claims() -> dict[str, Any]:
        return get_jwt()

    return app
