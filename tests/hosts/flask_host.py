"""A Flask application embedding the auth API, for gunicorn: ``tests.hosts.flask_host:app``.
Configured by ``JWTAUTH_*`` variables, as a deployed application would be."""

from __future__ import annotations

from flask import Flask

from jwtauth.auth.passwords import PasswordHasher
from jwtauth.config import Settings
from jwtauth.integrations.flask import JWTAuth, public
from jwtauth.server import EmbeddedAuth

__all__ = ["app"]

app = Flask(__name__)
app.config["JWTAUTH_PROTECT_ALL"] = True
# Cheap argon2 parameters: the live tests exercise the flows, not the hash's cost.
auth = EmbeddedAuth(
    Settings.load(), hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
)
JWTAuth(app, auth)


@app.get("/orders")
def orders() -> list[str]:
    return ["o-1"]


@app.get("/ready")
@public
def ready() -> dict[str, bool]:
    return {"ready": True}
