"""The curated public API: what `import jwtauth` offers, and nothing by accident."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
import textwrap
from pathlib import Path

import pytest

import jwtauth
from jwtauth.errors import JWTAuthError

EXPECTED = {
    "ACCESS", "JWS", "Algorithm", "AlgorithmError", "AudienceError", "BadSignatureError",
    "ClaimError", "Claims", "ClaimsPolicy", "Clock", "ConfigurationError", "ECKey", "EdDSAKey",
    "ExpiredTokenError", "ForbiddenHeaderError", "HMACKey", "ImmatureTokenError",
    "InsecureKeyFileError", "IssuerError", "JWTAuthError", "Key", "KeyConfigurationError",
    "KeyRing", "MalformedTokenError", "MissingClaimError", "PayloadFactory", "RSAKey",
    "RedactingFilter", "RevocationList", "RevocationView", "RevokedTokenError",
    "SecurityWarning", "TokenError", "TokenManager", "TokenType", "TokenTypeError",
    "UnknownKeyError", "WeakSecretError", "generate_key", "install_redaction", "key_from_pem",
}  # fmt: skip


def test_exported_names_are_exactly_the_curated_set() -> None:
    assert set(jwtauth.__all__) == EXPECTED
    # isort-style order, as ruff's RUF022 keeps it: CONSTANTS, then Classes, then functions.
    assert jwtauth.__all__ == sorted(
        jwtauth.__all__, key=lambda n: (not n.isupper(), not n[0].isupper(), n)
    )


def test_every_exported_name_exists() -> None:
    for name in jwtauth.__all__:
        assert getattr(jwtauth, name) is not None, name


# Modules that need configured Django settings to import (DRF's views read them at import);
# tests/integrations/test_drf.py checks their __all__ with the settings configured.
NEEDS_DJANGO_SETTINGS = ("jwtauth.integrations.drf", "jwtauth.integrations.django_app.views")


def test_every_module_declares_all() -> None:
    for info in pkgutil.walk_packages(jwtauth.__path__, "jwtauth."):
        if info.name in NEEDS_DJANGO_SETTINGS:
            continue
        module = importlib.import_module(info.name)
        assert hasattr(module, "__all__"), info.name
        for name in module.__all__:
            assert hasattr(module, name), f"{info.name}.{name}"


def test_every_exported_error_derives_from_the_one_base() -> None:
    import jwtauth.errors

    for name in jwtauth.errors.__all__:
        cls = getattr(jwtauth.errors, name)
        if name == "SecurityWarning":
            assert issubclass(cls, UserWarning)
            continue
        assert issubclass(cls, JWTAuthError), name
        assert cls.code, name
        assert cls.default_message, name


def test_error_codes_are_unique() -> None:
    import jwtauth.errors

    classes = [getattr(jwtauth.errors, n) for n in jwtauth.errors.__all__ if n != "SecurityWarning"]
    codes = [cls.code for cls in classes]
    assert len(codes) == len(set(codes))


# What the documentation and the examples import is public ----------------------------------------

ROOT = Path(__file__).resolve().parents[1]
# ```python fences, also indented ones inside lists; the block is dedented before parsing.
PYTHON_BLOCK = re.compile(r"^([ \t]*)```(?:python|py)[^\n]*\n(.*?)^\1```", re.S | re.M)
# Files another change owns, each still importing a private name: strict xfail, so that the
# entry fails (and must go) once the file is fixed.
NOT_YET_PUBLIC: dict[str, str] = {}


def documented_sources() -> list[tuple[str, str]]:
    """(where, Python source) of every example module and every Python block of the docs."""
    found = [
        (str(path.relative_to(ROOT)), path.read_text(encoding="utf-8"))
        for path in sorted((ROOT / "examples").rglob("*.py"))
    ]
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        text = path.read_text(encoding="utf-8")
        for block in PYTHON_BLOCK.finditer(text):
            line = text.count("\n", 0, block.start()) + 1
            code = textwrap.dedent(block.group(2))
            found.append((f"{path.relative_to(ROOT)}:{line}", code))
    return found


def _private(dotted: str) -> bool:
    return any(p.startswith("_") and not p.endswith("__") for p in dotted.split("."))


def private_names(source: str) -> list[str]:
    """What ``source`` takes from jwtauth by a private name: a ``_module`` or an ``_attribute``,
    imported or reached as ``jwtauth.x._y``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [
                a.name for a in node.names if a.name.startswith("jwtauth") and _private(a.name)
            ]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] != "jwtauth":
                continue
            names = [f"{node.module}.{a.name}" for a in node.names]
            found += [n for n in names if _private(n)]
        elif isinstance(node, ast.Attribute):
            parts = [node.attr]
            value = node.value
            while isinstance(value, ast.Attribute):
                parts.append(value.attr)
                value = value.value
            if isinstance(value, ast.Name) and value.id == "jwtauth":
                dotted = ".".join(["jwtauth", *reversed(parts)])
                found += [dotted] if _private(dotted) else []
    return found


SOURCES = documented_sources()


@pytest.mark.parametrize(
    ("where", "source"),
    [
        pytest.param(
            where,
            source,
            marks=[pytest.mark.xfail(reason=NOT_YET_PUBLIC[where], strict=True)]
            if where in NOT_YET_PUBLIC
            else [],
        )
        for where, source in SOURCES
    ],
    ids=[where for where, _ in SOURCES],
)
def test_the_docs_and_examples_import_only_public_names(where: str, source: str) -> None:
    assert private_names(source) == [], where


@pytest.mark.parametrize(
    "source",
    [
        "from jwtauth.integrations._http import Authenticator",
        "from jwtauth.integrations import _http",
        "import jwtauth.integrations._sync",
        "import jwtauth\nauth = jwtauth.integrations._http.Authenticator(m)",
        "from jwtauth.manager import _INFINITY",
    ],
)
def test_the_check_finds_private_names(source: str) -> None:
    assert private_names(source)


def test_the_check_lets_public_names_and_other_packages_pass() -> None:
    public = (
        "from jwtauth.integrations import Authenticator, SyncRuntime\n"
        "import jwtauth.integrations.flask\n"
        "from os import _exit\n"
        "from . import _local\n"
        "print(jwtauth.__all__)\n"
    )
    assert private_names(public) == []


def test_the_integrations_package_names_the_shared_layer() -> None:
    from jwtauth import integrations
    from jwtauth.integrations import _http, _sync

    assert {"Authenticator", "SyncRuntime", "Answer", "PROBLEM_JSON"} <= set(integrations.__all__)
    assert integrations.Authenticator is _http.Authenticator
    assert integrations.SyncRuntime is _sync.SyncRuntime
    for name in integrations.__all__:
        value = getattr(integrations, name)
        if inspect.isclass(value) or inspect.isfunction(value):
            assert inspect.getdoc(value), name
    from tests.test_layering import FORBIDDEN_IN_CORE, loaded

    assert loaded("jwtauth.integrations", FORBIDDEN_IN_CORE) == ""
