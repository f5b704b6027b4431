"""The core imports no framework, store client, settings library or CLI toolkit."""

from __future__ import annotations

import subprocess
import sys

import pytest

FORBIDDEN_IN_CORE = (
    "django", "fastapi", "flask", "starlette", "sqlalchemy", "redis", "httpx", "pydantic",
    "pydantic_settings", "typer", "click", "jwt", "joserfc",
)  # fmt: skip

CORE_MODULES = (
    "jwtauth",
    "jwtauth.manager",
    "jwtauth.keys",
    "jwtauth.tokens.jws",
    "jwtauth.tokens.claims",
    "jwtauth.revocation",
    "jwtauth.testing",
)


@pytest.mark.parametrize("module", CORE_MODULES)
def test_core_module_loads_no_framework(module: str) -> None:
    code = (
        f"import sys, {module}\n"
        f"bad = sorted({{m.split('.')[0] for m in sys.modules}} & set({FORBIDDEN_IN_CORE!r}))\n"
        "print(','.join(bad))"
    )
    result = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "", f"{module} imports {result.stdout.strip()}"
