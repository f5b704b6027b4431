"""Django migrations of the auth API's tables: each runs the Alembic migrations up to the head
of its release (:func:`upgrade_auth_tables`), so that ``manage.py migrate`` and ``jwtauth db
upgrade`` build one schema. A release that adds an Alembic revision adds a Django migration
that runs this again."""

from __future__ import annotations

from typing import Any

__all__ = ["upgrade_auth_tables"]


def upgrade_auth_tables(apps: Any, schema_editor: Any) -> None:
    """Bring the auth tables of the ``default`` database to the Alembic head."""
    from django.conf import settings  # type: ignore[import-untyped]  # noqa: PLC0415

    from jwtauth.integrations.django_app.auth_api import database_url  # noqa: PLC0415
    from jwtauth.stores.sql_database import upgrade  # noqa: PLC0415

    alias = schema_editor.connection.alias
    if alias != "default":  # the auth's stores live in the default database only
        return
    upgrade(database_url(settings.DATABASES, alias))
