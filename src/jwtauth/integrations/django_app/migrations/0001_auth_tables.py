"""The auth API's tables (users of its own are not used: sessions, refresh tokens, lockout,
second factors, signing keys) in the project's ``default`` database, created by the same
Alembic migrations ``jwtauth db upgrade`` runs, so that both stay one schema."""

from __future__ import annotations

from typing import Any, ClassVar

from django.db import migrations  # type: ignore[import-untyped]

from jwtauth.integrations.django_app.migrations import upgrade_auth_tables

__all__ = ["Migration"]


class Migration(migrations.Migration):  # type: ignore[misc]
    # Not atomic: Alembic writes through a connection of its own, which would wait on the lock
    # of Django's migration transaction on SQLite.
    atomic = False
    initial = True
    dependencies: ClassVar[list[tuple[str, str]]] = []
    operations: ClassVar[list[Any]] = [
        migrations.RunPython(upgrade_auth_tables, migrations.RunPython.noop, elidable=False)
    ]
