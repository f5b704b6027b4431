"""The framework-integration apps `bench.integrations` measures (``uvicorn --factory``).

Each verifies the same HS256 token (``BENCH_SECRET``, ``BENCH_ISSUER``, ``BENCH_AUDIENCE``,
kid ``bench``) and answers its claims at ``GET /claims``. ``BENCH_REDIS_URL``, when set, makes
jwtauth's apps use the Redis revocation store (started in the app's lifespan).

* :func:`fastapi_app`: FastAPI, ``JWTAuth(...).protect(app)`` and ``Depends(current_claims)``.
* :func:`starlette_pyjwt_app`: Starlette with a minimal hand-written PyJWT check in the endpoint.
* :func:`starlette_app`: Starlette with :class:`JWTAuthMiddleware` and ``claims_of(request)``.
"""

# No `from __future__ import annotations`: FastAPI reads the endpoint's annotations at run time.
import os
from typing import Annotated, Any

import jwt
from fastapi import Depends, FastAPI
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from jwtauth import KeyRing, TokenManager
from jwtauth.integrations._http import Authenticator
from jwtauth.integrations.fastapi import JWTAuth, current_claims
from jwtauth.integrations.starlette import JWTAuthMiddleware, claims_of
from jwtauth.keys.key import HMACKey
from jwtauth.types import Claims

__all__ = ["fastapi_app", "starlette_app", "starlette_pyjwt_app"]


def _authenticator() -> Authenticator:
    manager = TokenManager(
        KeyRing(HMACKey(os.environ["BENCH_SECRET"].encode(), "HS256", kid="bench")),
        issuer=os.environ["BENCH_ISSUER"],
        audience=os.environ["BENCH_AUDIENCE"],
    )
    redis_url = os.environ.get("BENCH_REDIS_URL")
    if not redis_url:
        return Authenticator(manager)
    from jwtauth.stores.redis import RedisRevocationStore

    return Authenticator(manager, revocations=RedisRevocationStore(redis_url))


def fastapi_app() -> FastAPI:
    """``GET /claims`` behind jwtauth's deny-by-default dependency."""
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    JWTAuth(_authenticator()).protect(app)

    @app.get("/claims")
    async def claims(claims: Annotated[Claims, Depends(current_claims)]) -> dict[str, Any]:
        return dict(claims)

    return app


def starlette_app() -> Starlette:
    """``GET /claims`` behind jwtauth's ASGI middleware."""

    async def claims(request: Request) -> Response:
        return JSONResponse(dict(claims_of(request)))

    middleware = Middleware(JWTAuthMiddleware, authenticator=_authenticator())
    return Starlette(routes=[Route("/claims", claims)], middleware=[middleware])


def starlette_pyjwt_app() -> Starlette:
    """``GET /claims`` with the usual few lines of PyJWT in the endpoint."""
    secret = os.environ["BENCH_SECRET"]
    issuer = os.environ["BENCH_ISSUER"]
    audience = os.environ["BENCH_AUDIENCE"]

    async def claims(request: Request) -> Response:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return JSONResponse({"detail": "Not authenticated"}, 401)
        try:
            payload = jwt.decode(
                token, secret, algorithms=["HS256"], audience=audience, issuer=issuer
            )
        except jwt.InvalidTokenError:
            return JSONResponse({"detail": "Invalid token"}, 401)
        return JSONResponse(payload)

    return Starlette(routes=[Route("/claims", claims)])
