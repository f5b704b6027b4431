"""The server-side CLI commands: db upgrade and purge, on the development SQLite database."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jwtauth.cli import app

pytestmark = pytest.mark.usefixtures("clean_env")


def test_db_upgrade_creates_the_schema_and_is_idempotent(tmp_path: Path) -> None:
    runner = CliRunner()
    for _ in range(2):
        result = runner.invoke(app, ["db", "upgrade"], env={"JWTAUTH_STATE_DIR": str(tmp_path)})
        assert result.exit_code == 0, result.output
        assert "up to date" in result.output
    with sqlite3.connect(tmp_path / "jwtauth.db") as db:
        tables = {row[0] for row in db.execute("select name from sqlite_master where type='table'")}
    assert {"users", "sessions", "refresh_tokens"} <= tables


def test_purge_runs_on_an_upgraded_database(tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"JWTAUTH_STATE_DIR": str(tmp_path)}
    assert runner.invoke(app, ["db", "upgrade"], env=env).exit_code == 0
    result = runner.invoke(app, ["purge"], env=env)
    assert result.exit_code == 0, result.output
    assert "purged 0 rows" in result.output
