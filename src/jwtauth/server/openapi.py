"""The OpenAPI document (``/openapi.json``) as the server really answers.

FastAPI documents a default ``422`` with its own ``HTTPValidationError`` body, in
``application/json``, and nothing else; this server answers every error as RFC 9457
``application/problem+json`` (:mod:`jwtauth.server.problems`), with ``Retry-After`` on ``429``
and ``503``. Routes declare the errors they can give with :func:`problems`; :func:`document`
adds the shared ``Problem`` schema, the plain Starlette routes' path items, the password rules
the configured policy enforces, and answers any error response a route left undeclared in
problem+json too, so the document cannot drift back to FastAPI's defaults.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI

from jwtauth.auth.passwords import PasswordPolicy
from jwtauth.config import Settings
from jwtauth.server.problems import PROBLEM_JSON
from jwtauth.server.schemas import Problem

__all__ = ["PROBLEM_REF", "document", "problems", "redirect"]

PROBLEM_REF = "#/components/schemas/Problem"

_DESCRIPTIONS = {
    400: "The body could not be read (not UTF-8, or not parseable)",
    401: "Missing, invalid, expired or revoked token",
    403: "Production over plain HTTP (`https_required`, unless `JWTAUTH_HTTPS=off`)",
    404: "Not found",
    409: "Conflict",
    422: "The request is invalid: `errors` names each invalid field, never its value",
    429: "Throttled; see `Retry-After` and the `RateLimit` headers",
    500: "An unexpected error: `request_id` finds it in the server's log; nothing else is said",
    503: (
        "A store or the signer cannot answer (`store_unavailable`, `signing_unavailable`, with "
        "`Retry-After`), tokens cannot be checked against revocations now "
        "(`revocations_unavailable`, with `Retry-After`), or the service is not started "
        "(`not_ready`)"
    ),
}

_SECONDS = {"type": "integer", "minimum": 1}
_RETRY_AFTER = {"description": "seconds until a retry may succeed", "schema": _SECONDS}
_RATE_LIMIT_HEADERS = {
    "RateLimit": {
        "description": "the quota left (IETF RateLimit header fields), when the limits are on",
        "schema": {"type": "string"},
    },
    "RateLimit-Policy": {
        "description": "the policies that apply, when the limits are on",
        "schema": {"type": "string"},
    },
}
_CHALLENGE = {
    "description": 'RFC 6750: `Bearer realm="jwtauth"` (the realm is `JWTAUTH_REALM`), with '
    '`error="invalid_token"` when a token was presented and refused',
    "schema": {"type": "string"},
}


def _headers(status: int, challenge: bool) -> dict[str, Any]:
    if status == 429:
        # Every refusal carries Retry-After; the RateLimit fields only while the limits are
        # on: a lockout (JWTAUTH_LOCKOUT) also answers 429 with the limits off.
        return {"Retry-After": {**_RETRY_AFTER, "required": True}, **_RATE_LIMIT_HEADERS}
    if status == 503:
        # `not_ready` (not started, or /readyz) promises no time; the store outages do.
        return {"Retry-After": _RETRY_AFTER}
    if status == 401:
        return {"WWW-Authenticate": {**_CHALLENGE, "required": True}} if challenge else {}
    return {}


def _problem_response(description: str, headers: Mapping[str, Any]) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {PROBLEM_JSON: {"schema": {"$ref": PROBLEM_REF}}},
    }
    if headers:
        response["headers"] = dict(headers)
    return response


def problems(
    *statuses: int, described: Mapping[int, str] | None = None, challenge: bool = False
) -> dict[int | str, dict[str, Any]]:
    """Error responses for a route's ``responses=``: problem+json bodies of the shared
    ``Problem`` schema, with the headers each status carries.

    Args:
        statuses: the error statuses the operation can answer.
        described: what each status means for this operation, where it says more than the
            general description.
        challenge: every ``401`` carries ``WWW-Authenticate`` (operations whose only
            credential is the bearer token; a refused password is answered without it).
    """
    described = described or {}
    return {
        status: _problem_response(
            described.get(status, _DESCRIPTIONS.get(status, "Error")), _headers(status, challenge)
        )
        for status in statuses
    }


def redirect() -> dict[int | str, dict[str, Any]]:
    """The ``308`` of production with ``JWTAUTH_HTTPS=redirect``, for ``GET`` operations."""
    return {
        308: {
            "description": "Production over plain HTTP with `JWTAUTH_HTTPS=redirect`: the same "
            "path on the issuer's HTTPS origin",
            "headers": {"Location": {"required": True, "schema": {"type": "string"}}},
        }
    }


def document(app: FastAPI, settings: Settings, paths: Mapping[str, dict[str, Any]]) -> None:
    """Make ``app.openapi()`` the truthful document: ``paths`` (plain Starlette routes, which
    FastAPI leaves out) first, the ``Problem`` schema, the password rules of ``settings``."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            schema["paths"] = {**paths, **schema["paths"]}
            _problem_schemas(schema)
            _password_rules(schema, settings)
            _one_factor(schema)
            _body_limit(schema, settings)
            if not settings.cookie_transport:
                _refresh_body_required(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _problem_schemas(schema: dict[str, Any]) -> None:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(problem.pop("$defs", {}))
    for member in problem["properties"].values():
        member.pop("default", None)  # the extras are absent when they do not apply, never null
    components["Problem"] = problem
    for item in schema["paths"].values():
        for operation in item.values():
            for status, response in operation.get("responses", {}).items():
                if status[0] in "45":  # undeclared by the route (FastAPI's 422): ours too
                    response["content"] = {PROBLEM_JSON: {"schema": {"$ref": PROBLEM_REF}}}
    # FastAPI's own error bodies, which this server never sends.
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)


def _password_rules(schema: dict[str, Any], settings: Settings) -> None:
    """New passwords (register's, the password change's) as the policy checks them: the
    length bounds as JSON Schema says them, the rest in words; the request model's own bounds
    (1 to 1024) only keep unbounded input away from the hash."""
    # Built as the embedded auth builds it, so the document states the bounds in force.
    policy = PasswordPolicy(
        min_length=settings.password_min_length, min_score=settings.password_min_score
    )
    strength = f"; zxcvbn score at least {policy.min_score}" if policy.min_score else ""
    rules = {
        "minLength": policy.min_length,
        "maxLength": policy.max_length,
        "description": (
            f"{policy.min_length} to {policy.max_length} characters, counted without invisible "
            "and combining characters; not among the 30,000 most common passwords, also when "
            f"disguised by look-alike characters{strength}. Otherwise 422 `weak_password`."
        ),
    }
    components = schema["components"]["schemas"]
    for model, field in (("Credentials", "password"), ("PasswordChange", "new_password")):
        if model in components:
            components[model]["properties"][field].update(rules)


def _body_limit(schema: dict[str, Any], settings: Settings) -> None:
    """The ``413`` of :class:`~jwtauth.server.middleware.BodyLimitMiddleware` and the ``408``
    of :class:`~jwtauth.server.middleware.BodyDeadlineMiddleware`; they answer for the route,
    so no route declares them. The 413 is on every method that may carry a body (a declared
    length is refused before routing), the 408 only where the route reads one."""
    described = (
        f"The body is over {settings.max_request_body} bytes (`content_too_large`, "
        "`JWTAUTH_MAX_REQUEST_BODY`); the connection is closed"
    )
    late = (
        f"The body did not arrive within {settings.body_timeout:g} s of the head "
        "(`request_timeout`, `JWTAUTH_BODY_TIMEOUT`); the connection is closed"
    )
    for item in schema["paths"].values():
        for method, operation in item.items():
            if method in ("post", "put", "patch"):
                operation.setdefault("responses", {})["413"] = _problem_response(described, {})
                if "requestBody" in operation:  # a route that reads none never waits for it
                    operation["responses"]["408"] = _problem_response(late, {})


def _one_factor(schema: dict[str, Any]) -> None:
    """The second factor's bodies take exactly one of ``code`` and ``recovery_code`` (their
    model validators); ``oneOf`` says so, a null counting as absent as it does there."""
    components = schema["components"]["schemas"]
    for model in ("MfaVerify", "MfaDisable"):
        if model in components:
            components[model]["oneOf"] = [
                {"required": [field], "properties": {field: {"type": "string"}}}
                for field in ("code", "recovery_code")
            ]


def _refresh_body_required(schema: dict[str, Any]) -> None:
    """Without cookie transport the refresh token can only come in the body: it is required
    (the route takes it optional for the refresh cookie)."""
    body = schema["paths"].get("/auth/refresh", {}).get("post", {}).get("requestBody")
    if body is not None:
        body["required"] = True
        body["content"]["application/json"]["schema"] = {
            "$ref": "#/components/schemas/RefreshRequest"
        }
