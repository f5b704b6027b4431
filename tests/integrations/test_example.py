"""The example app: the audit catches its deliberately unmarked route, and passes once marked."""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from typer.testing import CliRunner

from jwtauth.cli import app as cli
from jwtauth.integrations.fastapi import public

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "fastapi_app"


@pytest.fixture
def example(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    monkeypatch.syspath_prepend(str(EXAMPLE))
    monkeypatch.delenv("EXAMPLE_JWKS_URL", raising=False)
    logging.getLogger("example").disabled = True  # its demo token is not for the test log
    sys.modules.pop("example_app", None)
    try:
        yield importlib.import_module("example_app")
    finally:
        sys.modules.pop("example_app", None)
        logging.getLogger("example").disabled = False


def audit_example() -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["audit-routes", "example_app:app", "--app-dir", str(EXAMPLE)])
    return result.exit_code, result.output


def test_the_audit_catches_the_unmarked_route_and_passes_once_it_is_marked(
    example: ModuleType,
) -> None:
    code, output = audit_example()
    assert code == 1
    flagged = [line for line in output.splitlines() if line.startswith("UNPROTECTED")]
    assert len(flagged) == 1
    assert "/metrics" in flagged[0]
    assert ["protected", "GET", "/items", "items:read"] in [
        line.split() for line in output.splitlines()
    ]

    public(example.metrics)
    code, output = audit_example()
    assert code == 0, output
    assert "UNPROTECTED" not in output


def test_the_audit_refuses_what_it_cannot_load() -> None:
    result = CliRunner().invoke(cli, ["audit-routes", "no_such_module:app"])
    assert result.exit_code == 2
    assert "cannot load" in result.output
