"""Host applications embedding the auth API, as ``bench.embedded`` measures them.

* :func:`fastapi_app` (``uvicorn --factory``): a FastAPI app, ``JWTAuth(...).protect(app)``
  and ``app.include_router(auth.router)``.
* :func:`flask_app` (``gunicorn 'bench.apps.embedded:flask_app()'``): ``JWTAuth(app, auth)``
  with ``JWTAUTH_PROTECT_ALL``.
* Django: :mod:`bench.apps.embedded_django`.

Each has one protected route of its own, as a host application would. The auth is configured
by the ``JWTAUTH_*`` environment, as ``jwtauth serve`` is; ``BENCH_HOST`` and ``BENCH_PORT``
say where the server listens (the default issuer). The password hasher has jwtauth's default
argon2id parameters (:data:`ARGON2`), which ``jwtauth serve`` uses too: the tests' host apps
(tests/hosts) use cheap ones, which is why the bench has its own.
"""

from __future__ import annotations

import inspect
import os

from fastapi import FastAPI
from flask import Flask

from jwtauth.auth.passwords import PasswordHasher
from jwtauth.config import Settings
from jwtauth.integrations.fastapi import JWTAuth as FastAPIAuth
from jwtauth.integrations.flask import JWTAuth as FlaskAuth
from jwtauth.server import EmbeddedAuth

__all__ = ["ARGON2", "fastapi_app", "flask_app"]

# Read from the signature rather than copied, so that every row (the Django hasher included)
# follows jwtauth's defaults if they change.
ARGON2: dict[str, int] = {
    name: parameter.default
    for name, parameter in inspect.signature(PasswordHasher).parameters.items()
}
"""``time_cost``, ``memory_cost`` (KiB) and ``parallelism`` of jwtauth's default hasher."""


def _auth() -> EmbeddedAuth:
    return EmbeddedAuth(
        Settings.load(),
        host=os.environ.get("BENCH_HOST", "127.0.0.1"),
        port=int(os.environ.get("BENCH_PORT", "8000")),
        hasher=PasswordHasher(**ARGON2),
    )


def fastapi_app() -> FastAPI:
    auth = _auth()
    app = FastAPI()
    FastAPIAuth(auth.authenticator).protect(app)
    app.include_router(auth.router)

    @app.get("/orders")
    async def orders() -> list[str]:
        return ["o-1"]

    return app


def flask_app() -> Flask:
    app = Flask("host")
    app.config["JWTAUTH_PROTECT_ALL"] = True
    FlaskAuth(app, _auth())

    @app.get("/orders")
    def orders() -> list[str]:
        return ["o-1"]

    return app
