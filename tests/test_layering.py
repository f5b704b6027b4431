"""The core imports no framework, store client, settings library or CLI toolkit; no module
imports itself through a circle; each layer imports nothing above it."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

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
    "jwtauth.transport.browser",
    "jwtauth.testing",
    # The adapters' shared layers and the route audit are framework-free too (decisions 020, 021).
    "jwtauth.integrations._http",
    "jwtauth.integrations._sync",
    "jwtauth.integrations.audit",
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


@pytest.mark.parametrize("module", ["jwtauth.sources.loading", "jwtauth.sources.remote"])
def test_key_loading_imports_secrets_manager_clients_lazily(module: str) -> None:
    bad = loaded(module, SECRETS_MANAGER_CLIENTS)
    assert bad == "", f"{module} imports {bad}"


# Imports between jwtauth's own modules, read from the source (issue 18) ------------------------

SRC = Path(__file__).resolve().parents[1] / "src"


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted((SRC / "jwtauth").rglob("*.py")):
        parts = path.relative_to(SRC).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _imports() -> dict[str, set[str]]:
    """Each module's jwtauth imports, wherever they stand: at the top, inside a function
    (lazy) or under ``TYPE_CHECKING``; a circle through any of them is still a circle."""
    modules = _modules()

    def owner(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str | None] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets.update(owner(alias.name) for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                    base = f"{anchor}.{base}" if base else anchor
                for alias in node.names:  # `from pkg import module` imports the module
                    full = f"{base}.{alias.name}"
                    targets.add(full if full in modules else owner(base))
        graph[name] = {t for t in targets if t is not None and t != name}
    return graph


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return circles


def test_no_module_imports_itself_through_a_circle() -> None:
    assert _circles(_imports()) == []


def test_the_circle_finder_finds_a_circle() -> None:
    # The test above is worth only what this finder is: a planted circle must be found.
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _circles(graph) == [["a", "b", "c"]]


# The key objects know no source of secrets, no lifecycle and no settings; the sources know no
# lifecycle; the token engine knows none of the three; how tokens travel and the secret hygiene
# know no server, integration or store.
FORBIDDEN_IMPORTS = {
    "jwtauth.keys": ("jwtauth.sources", "jwtauth.lifecycle", "jwtauth.config", "jwtauth.stores"),
    "jwtauth.sources": ("jwtauth.config", "jwtauth.lifecycle", "jwtauth.stores", "jwtauth.server"),
    "jwtauth.tokens": ("jwtauth.sources", "jwtauth.lifecycle", "jwtauth.config"),
    "jwtauth.transport": ("jwtauth.server", "jwtauth.integrations", "jwtauth.stores"),
    "jwtauth.hygiene": ("jwtauth.server", "jwtauth.integrations", "jwtauth.stores"),
}


@pytest.mark.parametrize("layer", sorted(FORBIDDEN_IMPORTS))
def test_a_layer_imports_nothing_above_it(layer: str) -> None:
    forbidden = FORBIDDEN_IMPORTS[layer]
    offending = sorted(
        f"{module} -> {target}"
        for module, targets in _imports().items()
        if module == layer or module.startswith(layer + ".")
        for target in targets
        if any(target == f or target.startswith(f + ".") for f in forbidden)
    )
    assert offending == []
