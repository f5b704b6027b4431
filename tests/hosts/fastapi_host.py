"""A FastAPI application embedding the auth API, for uvicorn: ``tests.hosts.fastapi_host:app``.
Configured by ``JWTAUTH_*`` variables, as a deployed application would be."""

from __future__ import annotations

from fastapi import FastAPI

from jwtauth.auth.passwords import PasswordHasher
from jwtauth.config import Settings
from jwtauth.integrations.fastapi import JWTAuth, public
from jwtauth.server import EmbeddedAuth

__all__ = ["app"]

# Cheap argon2 parameters: the live tests exercise the flows, not the hash's cost.
auth = EmbeddedAuth(
    Settings.load(), hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
)
app = FastAPI()
JWTAuth(auth.authenticator).protect(app)
app.include_router(auth.router)


@app.get("/orders")
async def orders() -> list[str]:
    return ["o-1"]


@app.get("/ready")
@public
async def ready() -> dict[str, bool]:
    return {"ready": auth.started}
