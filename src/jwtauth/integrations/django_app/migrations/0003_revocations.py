"""The durable revocation record (Alembic revision 0006): logouts survive a Redis restart."""

from __future__ import annotations

from typing import Any, ClassVar

from django.db import migrations  # type: ignore[import-untyped]

from jwtauth.integrations.django_app.migrations import upgrade_auth_tables

__all__ = ["Migration"]


class Migration(migrations.Migration):  # type: ignore[misc]
    atomic = False  # as 0001: Alembic writes through a connection of its own
    dependencies: ClassVar[list[tuple[str, str]]] = [("jwtauth", "0002_mfa_challenges")]
    operations: ClassVar[list[Any]] = [
        migrations.RunPython(upgrade_auth_tables, migrations.RunPython.noop, elidable=False)
    ]
