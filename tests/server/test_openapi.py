"""The OpenAPI document says what the server answers: every error in problem+json of one shared
``Problem`` schema, with the headers it carries; the password rules in force; ``/metrics`` as
Prometheus text. Real answers of each error status are checked against the document."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis

from jwtauth.config import Settings
from jwtauth.server.app import create_app
from jwtauth.server.openapi import PROBLEM_REF
from jwtauth.server.problems import PROBLEM_JSON
from tests.server.support import FAST_HASHER, PASSWORD, bearer, serve

pytestmark = pytest.mark.anyio

PROBLEM_CONTENT = {PROBLEM_JSON: {"schema": {"$ref": PROBLEM_REF}}}


def _document(tmp_path: Path, **overrides: Any) -> dict[str, Any]:
    settings = Settings.load(state_dir=tmp_path / "state", mfa=True, **overrides)
    document: dict[str, Any] = create_app(settings).openapi()
    return document


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]


def test_every_error_response_is_problem_json_of_the_shared_schema(
    tmp_path: Path, clean_env: None
) -> None:
    document = _document(tmp_path)
    assert "HTTPValidationError" not in json.dumps(document)  # FastAPI's 422, never sent
    problem = document["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail", "errors", "request_id"} <= set(
        problem["properties"]
    )
    assert set(problem["required"]) == {"type", "title", "status", "detail"}
    errors = 0
    for path, method, operation in _operations(document):
        label = f"{method.upper()} {path}"
        for status, response in operation["responses"].items():
            if status[0] in "45":
                errors += 1
                assert response["content"] == PROBLEM_CONTENT, (label, status)
            if status == "429":
                assert response["headers"]["Retry-After"]["required"] is True, label
                assert {"RateLimit", "RateLimit-Policy"} <= set(response["headers"]), label
            if status == "503":
                assert "Retry-After" in response["headers"], label
        if "requestBody" in operation:  # a body that does not parse, or does not validate
            assert {"400", "422"} <= set(operation["responses"]), label
        if operation.get("security"):
            assert "401" in operation["responses"], label
        if path != "/healthz":
            assert {"500", "503"} <= set(operation["responses"]), label
    assert errors >= 90  # 18 operations


def test_the_contracts_errors_are_declared(tmp_path: Path, clean_env: None) -> None:
    """docs/api.md's error column, operation by operation."""
    paths = _document(tmp_path)["paths"]
    contract = {
        ("post", "/auth/register"): {"409", "422", "429"},
        ("post", "/auth/login"): {"401", "429"},
        ("post", "/auth/refresh"): {"401", "429"},
        ("post", "/auth/logout"): {"401"},
        ("post", "/auth/logout-all"): {"401"},
        ("get", "/auth/me"): {"401"},
        ("post", "/auth/password"): {"401", "422", "429"},
        ("get", "/auth/sessions"): {"401"},
        ("delete", "/auth/sessions/{session_id}"): {"401", "404"},
        ("get", "/auth/claims"): {"401"},
        ("post", "/auth/mfa/totp/enroll"): {"401", "409", "429"},
        ("post", "/auth/mfa/totp/confirm"): {"401", "409", "422", "429"},
        ("post", "/auth/mfa/totp/verify"): {"401", "422", "429"},
        ("post", "/auth/mfa/totp/disable"): {"401", "409", "422", "429"},
        ("get", "/readyz"): {"503"},
    }
    for (method, path), statuses in contract.items():
        assert statuses <= set(paths[path][method]["responses"]), (method, path)
    for path in ("/auth/me", "/auth/claims", "/auth/sessions"):
        challenge = paths[path]["get"]["responses"]["401"]["headers"]["WWW-Authenticate"]
        assert challenge["required"] is True, path


def test_the_body_limit_is_declared_on_every_operation_with_a_body(
    tmp_path: Path, clean_env: None
) -> None:
    document = _document(tmp_path, max_request_body=40960)
    posts = [(p, o) for p, m, o in _operations(document) if m in ("post", "put", "patch")]
    assert posts
    for path, operation in posts:
        too_large = operation["responses"]["413"]
        assert too_large["content"] == PROBLEM_CONTENT, path
        assert "40960 bytes" in too_large["description"], path


def test_the_password_rules_in_force_are_in_the_schema(tmp_path: Path, clean_env: None) -> None:
    schemas = _document(tmp_path, password_min_length=16)["components"]["schemas"]
    for model, field in (("Credentials", "password"), ("PasswordChange", "new_password")):
        rule = schemas[model]["properties"][field]
        assert (rule["minLength"], rule["maxLength"]) == (16, 256), model
        assert "zxcvbn score at least 3" in rule["description"]
    # A login checks any password up to the request bound: one set before the policy changed.
    login = schemas["LoginRequest"]["properties"]["password"]
    assert (login["minLength"], login["maxLength"]) == (1, 1024)
    assert schemas["PasswordChange"]["properties"]["current_password"]["minLength"] == 1


def test_metrics_and_probes_are_documented_as_served(tmp_path: Path, clean_env: None) -> None:
    paths = _document(tmp_path)["paths"]
    metrics = paths["/metrics"]["get"]["responses"]
    assert set(metrics["200"]["content"]) == {"text/plain"}
    assert metrics["403"]["content"] == PROBLEM_CONTENT
    assert set(paths["/healthz"]["get"]["responses"]) == {"200"}
    ready = paths["/readyz"]["get"]["responses"]
    assert ready["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ReadyOut"
    }
    jwks = paths["/.well-known/jwks.json"]["get"]["responses"]["200"]
    assert jwks["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/JWKSet"}


# Real answers against the document ------------------------------------------------------------


def _assert_documented(
    schema: schemathesis.BaseSchema, method: str, path: str, response: httpx.Response
) -> None:
    """The status is declared for the operation, in the content type and with the required
    headers declared, and the body validates against the declared schema."""
    declared = schema.raw_schema["paths"][path][method]["responses"]
    assert str(response.status_code) in declared, (method, path, response.status_code)
    answer = declared[str(response.status_code)]
    if "content" in answer:
        media_type = response.headers["content-type"].split(";")[0]
        assert media_type in answer["content"], (method, path, media_type)
    else:
        assert response.content == b"", (method, path)
    for name, header in answer.get("headers", {}).items():
        if header.get("required"):
            assert name in response.headers, (method, path, name)
    schema[path][method.upper()].validate_response(response)


async def test_real_error_answers_conform_to_the_document(tmp_path: Path, clean_env: None) -> None:
    settings = Settings.load(state_dir=tmp_path / "state", mfa=True)  # the limits on
    async with serve(settings) as http:
        schema = schemathesis.openapi.from_dict((await http.get("/openapi.json")).json())
        json_type = {"content-type": "application/json"}

        def check(method: str, path: str, status: int, response: httpx.Response) -> None:
            assert response.status_code == status, response.text
            _assert_documented(schema, method, path, response)

        alice = {"email": "alice@example.com", "password": PASSWORD}
        check("post", "/auth/register", 201, await http.post("/auth/register", json=alice))
        check("post", "/auth/register", 409, await http.post("/auth/register", json=alice))
        weak = {"email": "bob@example.com", "password": "password1234"}  # pragma: allowlist secret
        check("post", "/auth/register", 422, await http.post("/auth/register", json=weak))
        check("post", "/auth/register", 429, await http.post("/auth/register", json=weak))
        unreadable = await http.post("/auth/login", content=b"\xff", headers=json_type)
        check("post", "/auth/login", 400, unreadable)
        oversized = b"[" + b" " * settings.max_request_body + b"]"
        too_large = await http.post("/auth/login", content=oversized, headers=json_type)
        check("post", "/auth/login", 413, too_large)
        check("post", "/auth/login", 422, await http.post("/auth/login", json={"email": "x"}))
        wrong = {**alice, "password": "not the password"}  # pragma: allowlist secret
        check("post", "/auth/login", 401, await http.post("/auth/login", json=wrong))
        check("get", "/auth/me", 401, await http.get("/auth/me"))
        check("get", "/auth/claims", 401, await http.get("/auth/claims", headers=bearer("x.y.z")))
        login = await http.post("/auth/login", json=alice)
        check("post", "/auth/login", 200, login)
        token = bearer(login.json()["access_token"])
        check("get", "/auth/me", 200, await http.get("/auth/me", headers=token))
        check("get", "/auth/sessions", 200, await http.get("/auth/sessions", headers=token))
        gone = await http.delete("/auth/sessions/none", headers=token)
        check("delete", "/auth/sessions/{session_id}", 404, gone)
        check("get", "/metrics", 404, await http.get("/metrics"))  # not a loopback client
        check("get", "/readyz", 200, await http.get("/readyz"))
        check("get", "/healthz", 200, await http.get("/healthz"))
        check("get", "/.well-known/jwks.json", 200, await http.get("/.well-known/jwks.json"))
        check("post", "/auth/logout", 204, await http.post("/auth/logout", headers=token))

    async with serve(settings, peer="127.0.0.1") as local:
        metrics = await local.get("/metrics")
        check("get", "/metrics", 200, metrics)
        assert metrics.headers["content-type"].startswith("text/plain")

    # Not started (a host that forgot the lifespan): 503 `not_ready` on every route.
    app = create_app(settings, hasher=FAST_HASHER)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as cold:
        check("get", "/auth/me", 503, await cold.get("/auth/me"))
        check("post", "/auth/login", 503, await cold.post("/auth/login", json=alice))
