"""`GET /auth/claims`: the verified claims of the bearer token, on the server's fast lane.

This is the request a resource server makes most, and its whole work is a verification that
costs a few microseconds when cached. FastAPI's route machinery (dependency solving, response
validation, route matching over every API route) would cost ten times that, so the endpoint is a
plain Starlette route, registered before the API routes. It still runs inside the app's
middleware and exception handlers: the same headers and the same problem+json errors as every
other route. FastAPI leaves plain routes out of its schema; :data:`OPENAPI` is its entry there.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from jwtauth.server.deps import state_of
from jwtauth.server.openapi import problems, redirect

__all__ = ["OPENAPI", "PATH", "claims"]

PATH = "/auth/claims"


def _plain(value: Any) -> Any:
    # Verified claims are read-only mappings all the way down; JSON wants dicts.
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError


async def claims(request: Request) -> Response:
    """The verified claims of the bearer token (no store is consulted but revocation's local
    view): what a resource server would see. An addition to API.md."""
    state = state_of(request)
    verified = state.transport.authenticate(request, state.service.tokens)
    return Response(orjson.dumps(verified, default=_plain), media_type="application/json")


OPENAPI: dict[str, Any] = {
    "get": {
        "tags": ["auth"],
        "summary": "Claims",
        "description": claims.__doc__,
        "operationId": "claims_auth_claims_get",
        "security": [{"HTTPBearer": []}],
        "responses": {
            "200": {
                "description": "The verified claims",
                "content": {"application/json": {"schema": {"type": "object"}}},
            },
            **{
                str(status): response
                for status, response in {
                    **problems(401, 403, 500, 503, challenge=True),
                    **redirect(),
                }.items()
            },
        },
    }
}
"""The path item FastAPI would have generated for this route."""
