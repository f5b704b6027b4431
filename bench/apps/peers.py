"""The peers jwtauth's protected endpoint is measured against (``uvicorn --factory``).

* :func:`starlette_app`: a bare Starlette JSON endpoint, the ceiling of the stack.
* :func:`fastapi_app`: a bare FastAPI JSON endpoint, the ceiling of any FastAPI app.
* :func:`pyjwt_app`: the common FastAPI recipe: ``HTTPBearer`` plus an ``async`` dependency
  that calls PyJWT's ``jwt.decode`` (HS256, exact audience and issuer) and returns the claims.

The bare endpoints answer a constant of the same shape and size as an access token's claims, so
that every server serialises the same JSON and the ratios measure the work of authentication.
The recipe reads its secret, issuer and audience from ``BENCH_SECRET``, ``BENCH_ISSUER`` and
``BENCH_AUDIENCE``.
"""

# No `from __future__ import annotations`: FastAPI reads the dependency annotations of the
# nested functions below at run time, and they name locals.
import os
from typing import Annotated, Any

import jwt
from fastapi import Depends, FastAPI, HTTPException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

__all__ = ["CLAIMS_SHAPE", "fastapi_app", "pyjwt_app", "starlette_app"]

CLAIMS_SHAPE: dict[str, Any] = {
    "iss": "http://127.0.0.1:40000",
    "aud": "jwtauth",
    "sub": "5eb099d0a32642b98d3f20830797a9d1",
    "iat": 1795513900.42,
    "nbf": 1795513900,
    "exp": 1795514200,
    "jti": "oJQGe2wTVZO0LENLvcehgQ",
    "sid": "ba01e7a4f92786ea30aa88ea4d3c856e",
}
"""What the bare endpoints answer: the claims set of a jwtauth access token, by shape."""


def starlette_app() -> Starlette:
    """``GET /``: a constant JSON object, straight from a Starlette route."""

    async def endpoint(request: Request) -> JSONResponse:
        return JSONResponse(CLAIMS_SHAPE)

    return Starlette(routes=[Route("/", endpoint)])


def fastapi_app() -> FastAPI:
    """``GET /``: a constant JSON object, through FastAPI's routing and serialisation."""
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/")
    async def endpoint() -> dict[str, Any]:
        return CLAIMS_SHAPE

    return app


def pyjwt_app() -> FastAPI:
    """``GET /claims``: the bearer token's claims, verified by PyJWT in a FastAPI dependency."""
    secret = os.environ["BENCH_SECRET"]
    issuer = os.environ["BENCH_ISSUER"]
    audience = os.environ["BENCH_AUDIENCE"]
    bearer = HTTPBearer()
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    async def current_claims(
        credentials: Annotated[HTTPAuthorizationCredentials, Depends(bearer)],
    ) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                credentials.credentials,
                secret,
                algorithms=["HS256"],
                audience=audience,
                issuer=issuer,
            )
        except jwt.InvalidTokenError:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "Invalid token",
                headers={"WWW-Authenticate": "Bearer"},
            ) from None
        return claims

    @app.get("/claims")
    async def claims(claims: Annotated[dict[str, Any], Depends(current_claims)]) -> dict[str, Any]:
        return claims

    return app
