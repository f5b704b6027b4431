"""``manage.py jwtauth_audit``: every view and viewset action with its effective authentication
and permissions; exits 1 when one is neither protected nor explicitly public."""

from __future__ import annotations

from typing import Any, ClassVar

from django.core.management.base import BaseCommand, CommandError  # type: ignore[import-untyped]

from jwtauth.integrations.audit import render
from jwtauth.integrations.django_app.routes import audit_routes

__all__ = ["Command"]


class Command(BaseCommand):  # type: ignore[misc]
    """List the routes and their protection; fail on an unprotected one."""

    help = __doc__
    # The audit is the check: it runs (and reports) even when the checks fail.
    requires_system_checks: ClassVar[list[str]] = []

    def handle(self, *args: Any, **options: Any) -> None:
        rows = audit_routes()
        self.stdout.write(render(rows))
        unprotected = sum(row.protection == "unprotected" for row in rows)
        if unprotected:
            raise CommandError(
                f"{unprotected} route(s) neither protected nor marked public", returncode=1
            )
