"""System checks (``manage.py check``, and before ``runserver``/``migrate``).

* ``jwtauth.E001``: the settings cannot work (unknown name, missing issuer or key, weak key).
* ``jwtauth.E002``: DRF's default permission lets anonymous requests through.
* ``jwtauth.E003``: a view or viewset action is neither protected nor explicitly public.
* ``jwtauth.W001``: a simplejwt setting that jwtauth ignores (its safer behaviour is always on).
* ``jwtauth.W002``: revocations live in this process only while ``DEBUG`` is off.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings  # type: ignore[import-untyped]
from django.core.checks import Error, Tags, Warning, register  # type: ignore[import-untyped]

from jwtauth.errors import JWTAuthError
from jwtauth.integrations.django_app.conf import IGNORED, parse, settings_of

__all__ = ["check_routes", "check_settings"]


@register(Tags.security)  # type: ignore[untyped-decorator]
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    """E001, E002, W001 and W002."""
    problems: list[Any] = []
    try:
        source, raw = settings_of(settings)
        options = parse(source, raw, secret_key=getattr(settings, "SECRET_KEY", None))
    except JWTAuthError as exc:
        return [Error(exc.message, id="jwtauth.E001")]
    for name in options.ignored:
        problems.append(
            Warning(f"{source}['{name}'] is ignored: {IGNORED[name]}", id="jwtauth.W001")
        )
    if options.redis_url is None and not settings.DEBUG:
        problems.append(
            Warning(
                "revocations (logout, refresh rotation) are kept in this process only",
                hint=f"set {source}['REDIS_URL'] when more than one process serves the API",
                id="jwtauth.W002",
            )
        )
    from rest_framework.permissions import AllowAny  # type: ignore[import-untyped]  # noqa: PLC0415
    from rest_framework.views import APIView  # type: ignore[import-untyped]  # noqa: PLC0415

    defaults = list(APIView.permission_classes)
    if not defaults or all(issubclass(p, AllowAny) for p in defaults):
        problems.append(
            Error(
                "DRF's default permission admits anonymous requests",
                hint="remove DEFAULT_PERMISSION_CLASSES from REST_FRAMEWORK (jwtauth's default "
                "denies unless @public), or name an authenticating one",
                id="jwtauth.E002",
            )
        )
    return problems


@register(Tags.urls, Tags.security)  # type: ignore[untyped-decorator]
def check_routes(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    """E003, one per unprotected route."""
    from jwtauth.integrations.django_app.routes import audit_routes  # noqa: PLC0415 - URLconf

    return [
        Error(
            f"{','.join(row.methods)} {row.path} is neither protected nor marked public"
            + (f": {row.detail}" if row.detail else ""),
            hint="add a permission class that requires a user, or mark it @public",
            id="jwtauth.E003",
        )
        for row in audit_routes()
        if row.protection == "unprotected"
    ]
