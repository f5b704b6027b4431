"""The server-side CLI commands: db upgrade and purge, on the development SQLite database; and
what production start-up checks, alike in `jwtauth config check` and `jwtauth serve`."""

from __future__ import annotations

import os
import sqlite3
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jwtauth.cli import app
from jwtauth.keys.algorithms import Algorithm
from jwtauth.keys.key import generate_key
from jwtauth.sources.loading import private_pem, write_private_file
from jwtauth.stores.sql_database import head_revision, upgrade
from tests.live import JWTAUTH, free_port, wait_ready

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


# Production start-up: the schema check and the findings, alike in config check and serve -------


def production_env(tmp_path: Path, database_url: str, **extra: str) -> dict[str, str]:
    """A production configuration that passes every check but the database's."""
    key_file = tmp_path / "signing.pem"
    write_private_file(key_file, private_pem(generate_key(Algorithm.ES256)))
    return {
        "JWTAUTH_ENV": "production",
        "JWTAUTH_ISSUER": "https://auth.example.com",
        "JWTAUTH_PRIVATE_KEY_FILE": str(key_file),
        "JWTAUTH_DATABASE_URL": database_url,
        **extra,
    }


def without_our_variables() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("JWTAUTH_")}


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A real database of each backend, still empty."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'jwtauth.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.mark.parametrize(
    ("revision", "reason"),
    [
        ("0003", f"the database schema is behind (revision 0003, this version needs "
                 f"{head_revision()}); run: jwtauth db upgrade"),
        (None, "the database has no jwtauth schema; run: jwtauth db upgrade"),
    ],
)  # fmt: skip
def test_config_check_and_serve_refuse_a_schema_behind_with_the_same_line(
    tmp_path: Path, database_url: str, revision: str | None, reason: str
) -> None:
    if revision is not None:
        upgrade(database_url, revision)
    env = production_env(tmp_path, database_url)
    checked = CliRunner().invoke(app, ["config", "check"], env=env)
    assert checked.exit_code == 1, checked.output
    assert checked.stderr == f"jwtauth: {reason}\n"
    assert checked.stdout == ""

    served = subprocess.run(  # noqa: S603 - our own console script, fixed arguments
        [str(JWTAUTH), "serve", "--port", str(free_port())],
        cwd=tmp_path, env={**without_our_variables(), **env},
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert served.returncode == 1
    assert served.stderr == checked.stderr  # one line, no traceback
    assert served.stdout == ""

    upgrade(database_url)  # what the line says to do
    assert CliRunner().invoke(app, ["config", "check"], env=env).exit_code == 0


def test_config_check_in_production_leaves_no_database_file_behind(tmp_path: Path) -> None:
    missing = tmp_path / "not-yet.db"
    env = production_env(tmp_path, f"sqlite+aiosqlite:///{missing}")
    assert CliRunner().invoke(app, ["config", "check"], env=env).exit_code == 1
    assert not missing.exists()


def test_config_check_and_serve_name_an_unreachable_database_in_one_line(tmp_path: Path) -> None:
    url = f"postgresql+asyncpg://jwtauth:{'pw-zq7x' * 4}@127.0.0.1:{free_port()}/jwtauth"
    env = production_env(tmp_path, url)
    checked = CliRunner().invoke(app, ["config", "check"], env=env)
    assert checked.exit_code == 1
    assert checked.stderr.startswith("jwtauth: cannot connect to the database (")
    assert checked.stderr.count("\n") == 1
    assert "zq7x" not in checked.output


def test_serve_in_production_warns_of_each_finding_as_config_check_lists_them(
    tmp_path: Path, redis_url: str
) -> None:
    database = f"sqlite+aiosqlite:///{tmp_path / 'jwtauth.db'}"
    upgrade(database)
    env = production_env(
        tmp_path, database,
        JWTAUTH_REDIS_URL=redis_url, JWTAUTH_RATE_LIMITS="false", JWTAUTH_LOCKOUT="false",
        JWTAUTH_HTTPS="off", JWTAUTH_ISSUER="http://auth.example.com",
        JWTAUTH_ACCESS_TTL="31536000", JWTAUTH_LEEWAY="300", JWTAUTH_TRUSTED_PROXIES="0.0.0.0/0",
    )  # fmt: skip
    checked = CliRunner().invoke(app, ["config", "check"], env=env)
    assert checked.exit_code == 0, checked.output
    listed = [line for line in checked.stdout.splitlines() if line.startswith("warning: ")]
    assert [line.split()[1].split("=")[0].rstrip(":") for line in listed] == [
        "JWTAUTH_RATE_LIMITS", "JWTAUTH_LOCKOUT", "JWTAUTH_HTTPS", "JWTAUTH_ACCESS_TTL",
        "JWTAUTH_LEEWAY", "JWTAUTH_REDIS_URL", "JWTAUTH_REDIS_URL", "JWTAUTH_TRUSTED_PROXIES",
    ]  # fmt: skip

    port = free_port()
    process = subprocess.Popen(  # noqa: S603 - our own console script, fixed arguments
        [str(JWTAUTH), "serve", "--port", str(port)],
        cwd=tmp_path, env={**without_our_variables(), **env},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        wait_ready(process, f"http://127.0.0.1:{port}/readyz", "jwtauth serve")
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=10)
    lines = output.decode().splitlines()
    assert [line for line in lines if line.startswith("warning: ")] == listed
    # Said before the server listens, each on its own line.
    started = next(i for i, line in enumerate(lines) if "Started server process" in line)
    assert all(lines.index(line) < started for line in listed)


def test_development_has_no_findings_to_warn_of(tmp_path: Path, redis_url: str) -> None:
    result = CliRunner().invoke(
        app, ["config", "check"],
        env={"JWTAUTH_STATE_DIR": str(tmp_path / "state"), "JWTAUTH_REDIS_URL": redis_url,
             "JWTAUTH_RATE_LIMITS": "false"},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "warning" not in result.output
