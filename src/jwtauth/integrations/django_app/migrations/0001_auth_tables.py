"""The auth API's tables (users of its own are not used: sessions, refresh tokens, lockout,
second factors, signing keys) in the project's ``default`` database, created by the same
Alembic migrations ``jwtauth db upgrade`` runs, so that both stay one schema."""

from __future__ import annotations

from typing import Any, ClassVar

from django.db import migrations  # type: ignore[import-untyped]

__all__ = ["Migration"]


def create_tables(apps: Any, schema_editor: Any) -> None:
    from django.conf import settings  # type: ignore[import-untyped]  # noqa: PLC0415

    from jwtauth.integrations.django_app.auth_api import database_url  # noqa: PLC0415
    from jwtauth.stores.sql_database import upgrade  # noqa: PLC0415

    alias = schema_editor.connection.alias
    if alias != "default":  # the auth's stores live in the default database only
        return
    upgrade(database_url(settings.DATABASES, alias))


class Migration(migrations.Migration):  # type: ignore[misc]
    # Not atomic: Alembic writes through a connection of its own, which would wait on the lock
    # of Django's migration transaction on SQLite.
    atomic = False
    initial = True
    dependencies: ClassVar[list[tuple[str, str]]] = []
    operations: ClassVar[list[Any]] = [
        migrations.RunPython(create_tables, migrations.RunPython.noop, elidable=False)
    ]
