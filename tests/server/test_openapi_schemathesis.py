"""Schemathesis against ``/openapi.json``: every operation of the in-process app, with every
built-in check (server errors, status codes, content types, response schemas and headers,
positive and negative data, ignored auth, unsupported methods, ...), on PostgreSQL and Redis.

The run is bounded (:data:`MAX_EXAMPLES` generated cases per operation, beside the examples
and coverage phases) so that the module takes well under a minute on two cores.

The schema is loaded when the module is imported, from an app that is never started: the
pytest plugin's fixture loader (``schemathesis.pytest.from_fixture``) does not run on pytest 9
(it sets ``Node._nodeid``, which pytest 9 removed). Each test then points
:data:`APP` at an app on its own database, and checks that this app serves the same document.
"""

from __future__ import annotations

import secrets
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks
from schemathesis.python import asgi
from starlette.types import ASGIApp, Receive, Scope, Send

from jwtauth.config import Settings
from jwtauth.server.app import create_app
from tests.server.support import FAST_HASHER, PASSWORD

MAX_EXAMPLES = 10
EMAIL = "schemathesis@example.com"
LOGOUTS = ("/auth/logout", "/auth/logout-all")
# Generated requests come from one address: the limits would answer nearly all of them with
# 429 (test_openapi.py checks real 429 answers against this schema).
SETTINGS: dict[str, Any] = {"rate_limits": False}


class _AppUnderTest:
    """The ASGI app the schema's operations are sent to: the current test's."""

    def __init__(self) -> None:
        self.app: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.app is not None, "no app under test"
        await self.app(scope, receive, send)


def _document() -> dict[str, Any]:
    # An HMAC key and no start: building the app writes no key and opens no database.
    with tempfile.TemporaryDirectory() as state:
        settings = Settings.load(
            algorithm="HS256", secret=secrets.token_urlsafe(48), state_dir=Path(state), **SETTINGS
        )
        document: dict[str, Any] = create_app(settings).openapi()
    return document


APP = _AppUnderTest()
DOCUMENT = _document()
SCHEMA = schemathesis.openapi.from_dict(DOCUMENT)
SCHEMA.app = APP
# The test sends a real token; the ignored_auth check probes without one and with a wrong one.
SCHEMA.config.generation.update(max_examples=MAX_EXAMPLES, with_security_parameters=False)


class _User:
    """The registered user's access token, as a client sends it: a new one after a logout
    revoked it."""

    def __init__(self) -> None:
        self.token = ""
        self.login()

    def login(self) -> None:
        with _client() as client:
            answer = client.post("/auth/login", json={"email": EMAIL, "password": PASSWORD})
        assert answer.status_code == 200, answer.text
        self.token = answer.json()["access_token"]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def _client() -> asgi.ASGIClient:
    # Starlette's ASGI types and schemathesis' own name the same protocol differently.
    return asgi.get_client(cast("asgi.ASGIApp", APP))


@pytest.fixture
def app_under_test(
    tmp_path: Path, clean_env: None, postgres_url: str, redis_url: str
) -> Iterator[_User]:
    settings = Settings.load(
        state_dir=tmp_path / "state", database_url=postgres_url, redis_url=redis_url, **SETTINGS
    )
    APP.app = create_app(settings, hasher=FAST_HASHER)
    try:
        with _client() as client:  # starts the lifespan, kept until the teardown
            assert client.get("/openapi.json").json() == DOCUMENT
            registered = client.post("/auth/register", json={"email": EMAIL, "password": PASSWORD})
            assert registered.status_code == 201, registered.text
        yield _User()
    finally:
        asgi.shutdown_lifespans()  # closes the stores before the database is dropped
        APP.app = None


@SCHEMA.parametrize()
# One app serves every generated case of an operation, as one server serves its clients.
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_the_server_answers_as_its_schema_says(
    case: schemathesis.Case[Any], app_under_test: _User
) -> None:
    user = app_under_test
    response = case.call(headers=user.headers)
    # Every check, positive data acceptance too, but for the refusals no schema can predict.
    excluded = [checks.positive_data_acceptance] if _beyond_json_schema(case, response) else []
    case.validate_response(response, excluded_checks=excluded, headers=user.headers)
    if case.path in LOGOUTS and response.status_code == 204:
        user.login()


def _beyond_json_schema(case: schemathesis.Case[Any], response: schemathesis.Response) -> bool:
    """A schema-valid request refused by a rule that the schema states in words only (its
    descriptions say them): a weak password (zxcvbn, the common-password list), or an email
    that email-validator refuses though it has the `email` format (special-use domains,
    mixed-script look-alikes)."""
    if response.status_code != 422 or case.meta is None or case.meta.generation.mode.is_negative:
        return False
    problem = response.json()
    if problem["type"] == "urn:jwtauth:problem:weak_password":
        return True
    return problem["type"] == "urn:jwtauth:problem:validation_error" and all(
        error["loc"] == ["body", "email"] for error in problem["errors"]
    )
