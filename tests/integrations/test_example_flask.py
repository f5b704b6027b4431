"""The Flask example: every route protected or explicitly public, and the protection holds."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from typer.testing import CliRunner

from jwtauth.cli import app as cli

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "flask_app"


@pytest.fixture
def example(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    monkeypatch.syspath_prepend(str(EXAMPLE))
    for name in ("EXAMPLE_JWKS_URL", "EXAMPLE_REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    sys.modules.pop("example_app", None)
    try:
        module = importlib.import_module("example_app")
        yield module
        module.auth.runtime.close()
    finally:
        sys.modules.pop("example_app", None)


def test_the_audit_passes_and_reports_scopes(example: ModuleType) -> None:
    result = CliRunner().invoke(cli, ["audit-routes", "example_app:app", "--app-dir", str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    rows = {tuple(line.split()[:3]) for line in result.output.splitlines()[1:]}
    assert ("public", "GET", "/health") in rows
    assert ("protected", "GET", "/me") in rows
    assert ("protected", "GET", "/orders") in rows
    assert ("protected", "POST", "/orders") in rows
    assert ("protected", "POST", "/logout") in rows


def test_the_example_serves_tokens_and_refuses_the_rest(example: ModuleType) -> None:
    client = example.app.test_client()
    token = example.manager.issue("alice", claims={"scope": "orders:read"})
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/health").status_code == 200
    assert client.get("/me").status_code == 401
    assert client.get("/me", headers=headers).json == {
        "id": "alice",
        "name": "Alice",
        "plan": "pro",
    }
    assert client.get("/orders", headers=headers).json == [{"id": 1, "item": "teapot"}]
    assert client.post("/orders", headers=headers).status_code == 403


def test_the_demo_token_is_printed_on_request_and_logout_revokes_it(
    caplog: pytest.LogCaptureFixture, example: ModuleType
) -> None:
    assert caplog.get_records("setup") == []  # importing the example logs no token
    result = example.app.test_cli_runner().invoke(args=["demo-token"])
    assert result.exit_code == 0, result.output
    headers = {"Authorization": f"Bearer {result.output.strip()}"}
    client = example.app.test_client()
    assert client.get("/orders", headers=headers).status_code == 200
    assert client.post("/logout", headers=headers).status_code == 204
    refused = client.get("/orders", headers=headers)
    assert refused.status_code == 401
    assert refused.content_type == "application/problem+json"
    assert refused.json is not None
    assert refused.json["type"] == "urn:jwtauth:problem:token_revoked"
