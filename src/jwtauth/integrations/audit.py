"""The route audit behind ``jwtauth audit-routes module:app``: every route and its protection.

Each framework adapter contributes one function, ``audit_routes(app) -> list[RouteRow]``, that
reports what the adapter really enforces (the same predicates the adapter uses at run time).
:data:`AUDITORS` maps an application class to that function by name, so nothing here imports a
framework until an application of that framework is audited; adding a framework is one entry.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from jwtauth.errors import ConfigurationError

__all__ = ["AUDITORS", "Protection", "RouteRow", "audit", "load_app", "render"]

Protection = Literal["protected", "public", "unprotected"]

AUDITORS: tuple[tuple[str, str, str], ...] = (
    # (module of the app class, the class, "module:function" of the auditor), most specific first
    ("fastapi", "FastAPI", "jwtauth.integrations.fastapi:audit_routes"),
    ("starlette.applications", "Starlette", "jwtauth.integrations.starlette:audit_routes"),
    ("flask.app", "Flask", "jwtauth.integrations.flask:audit_routes"),
    # A Django project by its WSGI handler (project.wsgi:application): the root URLconf.
    (
        "django.core.handlers.wsgi",
        "WSGIHandler",
        "jwtauth.integrations.django_app.routes:audit_routes",
    ),
)


@dataclass(frozen=True, slots=True)
class RouteRow:
    """One route: its path, methods (``*`` for any), effective protection, and a detail (the
    scopes it requires, or why it is unprotected)."""

    path: str
    methods: tuple[str, ...]
    protection: Protection
    detail: str = ""


def _auditor(app: object) -> Callable[[Any], list[RouteRow]]:
    for module_name, class_name, target in AUDITORS:
        module = sys.modules.get(module_name)  # the app exists, so its framework is imported
        cls = getattr(module, class_name, None) if module is not None else None
        if isinstance(cls, type) and isinstance(app, cls):
            path, _, function = target.partition(":")
            found: Callable[[Any], list[RouteRow]] = getattr(
                importlib.import_module(path), function
            )
            return found
    raise ConfigurationError(f"no route audit for a {type(app).__name__} application")


def audit(app: object) -> list[RouteRow]:
    """Every route of ``app`` with its effective protection.

    Raises:
        ConfigurationError: ``app`` is of no framework the audit knows.
    """
    return _auditor(app)(app)


def load_app(target: str) -> object:
    """The object named ``module:attribute`` (``attribute`` may be dotted), as uvicorn finds it.

    Raises:
        ConfigurationError: not of that form, or nothing by that name.
    """
    module_name, _, attribute = target.partition(":")
    if not module_name or not attribute:
        raise ConfigurationError("expected module:attribute, e.g. myapp.main:app")
    try:
        found: object = importlib.import_module(module_name)
        for part in attribute.split("."):
            found = getattr(found, part)
    except (ImportError, AttributeError) as exc:
        raise ConfigurationError(f"cannot load {target}: {type(exc).__name__}: {exc}") from None
    return found


def render(rows: list[RouteRow]) -> str:
    """The rows as an aligned table, unprotected ones flagged."""
    table = [("PROTECTION", "METHODS", "PATH", "DETAIL")]
    for row in rows:
        flag = "UNPROTECTED" if row.protection == "unprotected" else row.protection
        table.append((flag, ",".join(row.methods), row.path, row.detail))
    widths = [max(len(line[i]) for line in table) for i in range(3)]
    return "\n".join(
        "  ".join(cell.ljust(widths[i]) if i < 3 else cell for i, cell in enumerate(line)).rstrip()
        for line in table
    )
