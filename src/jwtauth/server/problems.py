"""RFC 9457 problem details for every error the server returns, and nothing internal in them."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from jwtauth.errors import (
    AuthenticationError,
    CSRFError,
    EmailTakenError,
    JWTAuthError,
    MissingTokenError,
    RateLimitedError,
    ServiceUnavailableError,
    StoreUnavailableError,
    TokenError,
    WeakPasswordError,
)
from jwtauth.server.metrics import route_of
from jwtauth.stores.failures import exception_types, is_unavailable

__all__ = ["PROBLEM_JSON", "install_problem_handlers", "problem"]

PROBLEM_JSON = "application/problem+json"
logger = logging.getLogger("jwtauth.server")

_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    409: "Conflict",
    413: "Content Too Large",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def problem(
    status: int,
    detail: str,
    *,
    code: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """A problem+json response; ``type`` is a stable URN built from ``code``."""
    body: dict[str, Any] = {
        "type": f"urn:jwtauth:problem:{code}" if code else "about:blank",
        "title": _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        **extra,
    }
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


_STATUSES: tuple[tuple[type[JWTAuthError] | tuple[type[JWTAuthError], ...], int], ...] = (
    ((TokenError, AuthenticationError), 401),
    (CSRFError, 403),
    (EmailTakenError, 409),
    (WeakPasswordError, 422),
    (RateLimitedError, 429),
    (ServiceUnavailableError, 503),
)


def _status_for(exc: JWTAuthError) -> int:
    return next((status for kind, status in _STATUSES if isinstance(exc, kind)), 500)


def bearer_challenge(exc: TokenError, realm: str = "jwtauth") -> dict[str, str]:
    """RFC 6750 section 3: `error` only when a token was presented and refused; ``realm`` is
    the app's (``JWTAUTH_REALM``, checked quotable by the settings)."""
    if isinstance(exc, MissingTokenError):
        return {"WWW-Authenticate": f'Bearer realm="{realm}"'}
    return {"WWW-Authenticate": f'Bearer realm="{realm}", error="invalid_token"'}


async def _jwtauth_error(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, JWTAuthError):  # Starlette types handlers for any Exception
        return await _unexpected(request, exc)
    status = _status_for(exc)
    if status == 500:
        return await _unexpected(request, exc)
    _count(request, exc)
    realm = getattr(request.app.state, "realm", "jwtauth")  # set by EmbeddedAuth
    headers = bearer_challenge(exc, realm) if isinstance(exc, TokenError) else {}
    if isinstance(exc, RateLimitedError):
        headers = exc.headers
    elif isinstance(exc, ServiceUnavailableError):
        headers = {"Retry-After": str(exc.retry_after)}
    # A refused login still tells the client its quota (set by routes/auth.py `_limit`).
    headers = {**getattr(request.state, "rate_limit_headers", {}), **headers}
    return problem(status, exc.message, code=exc.code, headers=headers)


def _count(request: Request, exc: JWTAuthError) -> None:
    state = getattr(request.app.state, "jwtauth", None)
    if state is None:  # before the lifespan ran
        return
    if isinstance(exc, TokenError):
        state.metrics.refused_tokens.labels(exc.code).inc()
    elif isinstance(exc, AuthenticationError | RateLimitedError):
        state.metrics.outcomes.labels(route_of(request), exc.code).inc()


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, RequestValidationError):
        return await _unexpected(request, exc)
    # Field locations and messages only: pydantic's `input` may be a password.
    errors = [
        {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", ""))}
        for e in exc.errors()
    ]
    return problem(422, "The request is invalid.", code="validation_error", errors=errors)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, StarletteHTTPException):
        return await _unexpected(request, exc)
    detail = exc.detail if isinstance(exc.detail, str) else _TITLES.get(exc.status_code, "Error")
    return problem(exc.status_code, detail, headers=dict(exc.headers or {}))


async def _store_failure(request: Request, exc: Exception) -> JSONResponse:
    """A store that cannot answer is a 503 the client may retry, handled here rather than by
    the catch-all, which closes the keep-alive connection as it re-raises."""
    if not is_unavailable(exc):
        return await _unexpected(request, exc)
    # The class name only: driver messages may carry host names, users or statements.
    logger.warning(
        "store unavailable on %s %s: %s", request.method, request.url.path, type(exc).__name__
    )
    return await _jwtauth_error(request, StoreUnavailableError())


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    request_id = uuid.uuid4().hex
    # The traceback goes to the log with the id; the client gets the id and nothing else.
    logger.error(
        "unhandled error %s on %s %s",
        request_id,
        request.method,
        request.url.path,
        exc_info=(type(exc), exc, exc.__traceback__),
    )
    return problem(
        500, "An unexpected error occurred.", code="internal_error", request_id=request_id
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Route every error, expected or not, through problem+json."""
    app.add_exception_handler(JWTAuthError, _jwtauth_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    for store_error in exception_types():
        app.add_exception_handler(store_error, _store_failure)
    app.add_exception_handler(Exception, _unexpected)
