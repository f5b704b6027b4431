"""Fixtures of the store tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from jwtauth.stores.sql_database import upgrade


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database. Migrations run here, outside the test's event loop."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'jwtauth.db'}"
    else:
        url = str(request.getfixturevalue("postgres_url"))
    upgrade(url)
    return url
