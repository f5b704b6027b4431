"""The core imports no framework, store client, settings library or CLI toolkit."""

from __future__ import annotations

import subprocess
import sys

import pytest

FORBIDDEN_IN_CORE = (
    "django", "fastapi", "flask", "starlette", "sqlalchemy", "redis", "httpx", "pydantic",
    "pydantic_settings", "typer", "click", "jwt", "joserfc", "hvac", "boto3", "botocore",
)  # fmt: skip
# Secrets-manager clients: loaded only when a setting selects them, even by the key loader.
SECRETS_MANAGER_CLIENTS = ("hvac", "boto3", "botocore", "requests")

CORE_MODULES = (
    "jwtauth",
    "jwtauth.manager",
    "jwtauth.keys",
    "jwtauth.tokens.jws",
    "jwtauth.tokens.claims",
    "jwtauth.revocation",
    "jwtauth.browser",
    "jwtauth.testing",
    # The adapters' shared layers and the route audit are framework-free too (decisions 020, 021).
    "jwtauth.integrations._http",
    "jwtauth.integrations._sync",
    "jwtauth.audit",
)


def loaded(module: str, names: tuple[str, ...]) -> str:
    """Which of the top-level packages ``names`` importing ``module`` loads, in a fresh process."""
    code = (
        f"import sys, {module}\n"
        f"bad = sorted({{m.split('.')[0] for m in sys.modules}} & set({names!r}))\n"
        "print(','.join(bad))"
    )
    result = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


@pytest.mark.parametrize("module", CORE_MODULES)
def test_core_module_loads_no_framework(module: str) -> None:
    bad = loaded(module, FORBIDDEN_IN_CORE)
    assert bad == "", f"{module} imports {bad}"


@pytest.mark.parametrize("module", ["jwtauth.keys.loading", "jwtauth.keys.remote"])
def test_key_loading_imports_secrets_manager_clients_lazily(module: str) -> None:
    bad = loaded(module, SECRETS_MANAGER_CLIENTS)
    assert bad == "", f"{module} imports {bad}"
