"""Processes that start at once on a fresh database all migrate it without an error (issue 14):
SQLite died on `database is locked` in 3 of 11 tries, PostgreSQL on a unique violation in
`pg_type` in 2 of 4. Real processes, each running the migrations as `jwtauth db upgrade` does."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import asyncpg

from jwtauth.stores.sql_database import head_revision, schema_problem

PROCESSES = 4
ROUNDS = 3
MIGRATE = "import sys; from jwtauth.stores.sql_database import upgrade; upgrade(sys.argv[1])"


def migrate_at_once(url: str) -> list[tuple[int, str]]:
    """Start PROCESSES migrations of ``url`` together; their exit codes and error output."""
    processes = [
        subprocess.Popen(  # noqa: S603 - this interpreter, a fixed program, our URL
            [sys.executable, "-c", MIGRATE, url], stderr=subprocess.PIPE, text=True
        )
        for _ in range(PROCESSES)
    ]
    errors = [p.communicate(timeout=120)[1] for p in processes]
    return [(p.returncode, err) for p, err in zip(processes, errors, strict=True)]


def assert_all_migrated(results: list[tuple[int, str]], url: str) -> None:
    failed = [err.strip().splitlines()[-1:] for code, err in results if code != 0]
    assert failed == [], failed
    assert schema_problem(url) is None
    assert head_revision() is not None


def test_processes_migrating_one_sqlite_file_at_once_all_succeed(tmp_path: Path) -> None:
    for round_ in range(ROUNDS):
        url = f"sqlite+aiosqlite:///{tmp_path / f'fresh-{round_}.db'}"
        assert_all_migrated(migrate_at_once(url), url)


def test_processes_migrating_one_postgres_database_at_once_all_succeed(postgres_url: str) -> None:
    admin = postgres_url.replace("postgresql+asyncpg://", "postgresql://")

    async def empty() -> None:
        connection = await asyncpg.connect(admin)  # type: ignore[no-untyped-call]
        try:
            await connection.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        finally:
            await connection.close()

    for _ in range(ROUNDS):
        asyncio.run(empty())
        assert_all_migrated(migrate_at_once(postgres_url), postgres_url)
