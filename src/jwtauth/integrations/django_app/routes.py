"""The route audit of a Django project: every DRF view and viewset action, per method, with its
effective authentication and permissions (``manage.py jwtauth_audit``, the system check, and
``jwtauth audit-routes project.wsgi:application``).

A row is *protected* when a permission class on it requires an authenticated user for that
method, *public* when it is marked :func:`~jwtauth.integrations.drf.public` or its view sets
``AllowAny`` itself, and *unprotected* otherwise: ``AllowAny`` inherited from the settings, no
permission class, a read-only-for-anonymous class on a safe method, or a permission class the
audit does not know (give it ``requires_authentication = True`` when it does require a user).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver  # type: ignore[import-untyped]
from rest_framework import permissions  # type: ignore[import-untyped]
from rest_framework.settings import api_settings  # type: ignore[import-untyped]

from jwtauth.integrations._http import PUBLIC_ATTRIBUTE, is_public
from jwtauth.integrations.audit import Protection, RouteRow

__all__ = ["audit_routes", "audit_urlpatterns", "walk_urls"]

_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})
_REQUIRE = (
    permissions.IsAuthenticated,
    permissions.IsAdminUser,
    permissions.DjangoModelPermissions,
)
_REQUIRE_UNLESS_SAFE = (
    permissions.IsAuthenticatedOrReadOnly,
    permissions.DjangoModelPermissionsOrAnonReadOnly,
)
_GROUP = re.compile(r"\(\?P<(\w+)>[^)]*\)")


def walk_urls(patterns: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Every URL pattern under ``patterns`` with its full path (regexes shown as ``<name>``)
    and its callback; DRF's format-suffix duplicates are left out."""
    for entry in patterns:
        route = _readable(str(entry.pattern))
        if isinstance(entry, URLResolver):
            yield from walk_urls(entry.url_patterns, prefix + route)
        elif isinstance(entry, URLPattern) and ":format>" not in route and "<format>" not in route:
            yield "/" + prefix + route, entry.callback


def audit_routes(app: object = None) -> list[RouteRow]:
    """The audit of the project's root URLconf (``app``, a WSGI handler, only selects Django)."""
    return audit_urlpatterns(get_resolver().url_patterns)


def audit_urlpatterns(patterns: Any) -> list[RouteRow]:
    """One row per view method (per viewset action) under ``patterns``."""
    rows: list[RouteRow] = []
    for path, callback in walk_urls(patterns):
        cls = getattr(callback, "cls", None)
        if cls is None:
            rows.append(_plain(path, callback))
            continue
        actions: dict[str, str] = getattr(callback, "actions", None) or {}
        methods = actions or {
            m: m for m in cls.http_method_names if m != "options" and hasattr(cls, m)
        }
        for method, action in sorted(methods.items()):
            rows.append(_row(path, callback, cls, method.upper(), action))
    return rows


def _plain(path: str, callback: Any) -> RouteRow:
    module = getattr(callback, "__module__", "") or ""
    if is_public(callback):
        return RouteRow(path, ("*",), "public")
    if module.startswith("django.contrib.admin"):
        return RouteRow(path, ("*",), "protected", "Django admin (staff session)")
    return RouteRow(path, ("*",), "unprotected", "not a DRF view")


def _row(path: str, callback: Any, cls: Any, method: str, action: str) -> RouteRow:
    view = cls(**getattr(callback, "initkwargs", {}))
    view.action = action if getattr(callback, "actions", None) else None
    view.request = view.args = view.kwargs = None
    view.format_kwarg = None
    try:
        checks = [type(p) for p in view.get_permissions()]
        authentication = [type(a).__name__ for a in view.get_authenticators()]
    except Exception as exc:  # a get_permissions() that needs a request: say so, flag it
        return RouteRow(path, (method,), "unprotected", f"get_permissions(): {type(exc).__name__}")
    marked = vars(cls).get(PUBLIC_ATTRIBUTE) is True or is_public(getattr(view, action, None))
    protection, why = _classify(checks, method, marked, _explicit(cls, callback))
    names = ",".join(c.__name__ for c in checks) or "none"
    auth = ",".join(authentication) or "none"
    detail = f"{action if view.action else ''} auth={auth} perms={names}{why}".strip()
    return RouteRow(path, (method,), protection, detail)


def _classify(
    checks: list[type], method: str, marked: bool, explicit: bool
) -> tuple[Protection, str]:
    unknown = [c.__name__ for c in checks if _requires_user(c, method, marked) is None]
    if any(_requires_user(c, method, marked) for c in checks):
        return "protected", ""
    if marked or (explicit and checks and all(issubclass(c, permissions.AllowAny) for c in checks)):
        return "public", ""
    if unknown:
        return "unprotected", f" ({', '.join(unknown)} not known to require a user)"
    return "unprotected", " (anonymous allowed)" if checks else " (no permission class)"


def _requires_user(check: type, method: str, marked: bool) -> bool | None:
    """Whether ``check`` requires a user for ``method``; ``None`` when the audit cannot tell."""
    from jwtauth.integrations.drf import IsAuthenticatedUnlessPublic  # noqa: PLC0415 - cycle

    if issubclass(check, IsAuthenticatedUnlessPublic):
        return not marked
    if issubclass(check, _REQUIRE) or getattr(check, "requires_authentication", False):
        return True
    if issubclass(check, _REQUIRE_UNLESS_SAFE):
        return method not in _SAFE
    return False if issubclass(check, permissions.AllowAny) else None


def _explicit(cls: Any, callback: Any) -> bool:
    """True when the view chose its permission classes (rather than inheriting the default)."""
    chosen = getattr(callback, "initkwargs", {}).get("permission_classes", cls.permission_classes)
    return chosen is not api_settings.DEFAULT_PERMISSION_CLASSES and list(chosen) != list(
        api_settings.DEFAULT_PERMISSION_CLASSES
    )


def _readable(pattern: str) -> str:
    return _GROUP.sub(r"<\1>", pattern.lstrip("^").rstrip("$").replace("\\.", "."))
