"""The MFA challenges table (Alembic revision 0005): one challenge buys at most one session."""

from __future__ import annotations

from typing import Any, ClassVar

from django.db import migrations  # type: ignore[import-untyped]

from jwtauth.integrations.django_app.migrations import upgrade_auth_tables

__all__ = ["Migration"]


class Migration(migrations.Migration):  # type: ignore[misc]
    atomic = False  # as 0001: Alembic writes through a connection of its own
    dependencies: ClassVar[list[tuple[str, str]]] = [("jwtauth", "0001_auth_tables")]
    operations: ClassVar[list[Any]] = [
        migrations.RunPython(upgrade_auth_tables, migrations.RunPython.noop, elidable=False)
    ]
