"""The SQL store's database: engines set up for SQLite and PostgreSQL, and the migrations.

The schema is created by the Alembic migrations shipped in ``jwtauth/migrations``; run them with
:func:`upgrade` (the ``jwtauth db upgrade`` command).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Final

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from jwtauth.errors import ConfigurationError
from jwtauth.stores.sql_logging import ENGINE_LOGGING_NAME, quiet_sql_logs

__all__ = [
    "MIGRATIONS_DIR",
    "WRITE_OPTION",
    "head_revision",
    "make_engine",
    "schema_problem",
    "upgrade",
]

MIGRATIONS_DIR: Final = Path(__file__).resolve().parent.parent / "migrations"
"""The Alembic script directory shipped inside the package."""

SQLITE_BUSY_TIMEOUT_MS: Final = 30_000

# How long the start-up schema check waits for the database before giving its one-line reason.
SCHEMA_CHECK_TIMEOUT: Final = 10.0

# An execution option: SQLite write transactions start with BEGIN IMMEDIATE (see make_engine).
WRITE_OPTION: Final = "jwtauth_write"


# Engine --------------------------------------------------------------------------------------


def _async_url(url: str) -> URL:
    """Parse ``url``, choosing the async driver when none is named; refuse other databases."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigurationError("The database URL cannot be parsed.") from None
    backend, _, driver = parsed.drivername.partition("+")
    if backend in {"postgres", "postgresql"} and driver in {"", "asyncpg"}:
        return parsed.set(drivername="postgresql+asyncpg")
    if backend == "sqlite" and driver in {"", "aiosqlite"}:
        database = parsed.database or ""
        if database in {"", ":memory:"} or parsed.query.get("mode") == "memory":
            # One shared in-memory connection cannot hold concurrent transactions apart.
            raise ConfigurationError("SQLite must use a database file, not an in-memory one.")
        return parsed.set(drivername="sqlite+aiosqlite")
    raise ConfigurationError(
        "The database must be PostgreSQL (postgresql+asyncpg) or SQLite (sqlite+aiosqlite)."
    )


def make_engine(url: str, *, pool_size: int = 10, max_overflow: int = 10) -> AsyncEngine:
    """An async engine for ``url`` (SQLite or PostgreSQL) set up the way the store needs.

    Nothing the store sends or reads reaches a log at any level (see
    :mod:`jwtauth.stores.sql_logging`). SQLite connections get WAL (readers never block the
    writer), a busy timeout (writers queue instead of failing with "database is locked") and
    foreign keys. SQLAlchemy, not the sqlite3 driver, emits BEGIN, so every transaction is a
    real one; write transactions of the store use BEGIN IMMEDIATE, taking the write lock up
    front (within the busy timeout) rather than upgrading a read lock later, which SQLite
    refuses at once under contention.

    Args:
        url: a SQLAlchemy URL; ``postgresql://`` and ``sqlite://`` get the async driver.
        pool_size, max_overflow: the connection pool, per process (``pool_size=0``: no pool).
    """
    parsed = _async_url(url)
    options: dict[str, Any] = (
        {"poolclass": NullPool}
        if pool_size <= 0
        else {"pool_size": pool_size, "max_overflow": max_overflow}
    )
    # Parameters are hashes, TOTP secrets and sealed keys: never in a statement log or in an
    # exception's text; rows and driver calls are kept out by the logger filters (sql_logging).
    options.update(hide_parameters=True, logging_name=ENGINE_LOGGING_NAME)
    quiet_sql_logs()
    if parsed.get_backend_name() == "postgresql":
        # A connection the server dropped (restart, failover) is replaced, not handed out.
        options["pool_pre_ping"] = True
    engine = create_async_engine(parsed, **options)
    if parsed.get_backend_name() == "sqlite":
        _configure_sqlite(engine)
    return engine


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Stop the sqlite3 driver from issuing its own BEGIN (only before DML, never before a
        # SELECT); _on_begin below issues it for every transaction instead.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        write = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


# Migrations ----------------------------------------------------------------------------------


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str | None:
    """The newest migration shipped with this version of jwtauth."""
    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database at ``url`` to the newest schema (``alembic upgrade head``), or up to
    ``revision`` (tests build older schemas this way).

    Synchronous, for the CLI: it runs its own event loop, so from async code call it as
    ``await asyncio.to_thread(upgrade, url)``. Running it again is a no-op.
    """
    config = _alembic_config()
    # Passed as an attribute, not as the `sqlalchemy.url` option: config options interpolate
    # `%`, which a URL-encoded password may contain.
    config.attributes["url"] = _async_url(url).render_as_string(hide_password=False)
    command.upgrade(config, revision)


def schema_problem(url: str) -> str | None:
    """Why a production server cannot use the database at ``url`` as it is, in one line; ``None``
    when its schema is this version's newest.

    Production never migrates on start, so ``jwtauth config check`` and ``jwtauth serve`` both
    ask this before a port is bound, and give the same reason. The line names revisions and
    error classes, never the URL or a driver message (either may carry a credential).
    Synchronous, like :func:`upgrade`.

    Raises:
        ConfigurationError: the URL is not one the store can use.
    """
    parsed = _async_url(url)
    if parsed.get_backend_name() == "sqlite" and not Path(parsed.database or "").is_file():
        # Connecting would create an empty file: a check must leave no trace.
        return _revision_problem(None)
    try:
        current = asyncio.run(_current_revision(url))
    except (SQLAlchemyError, OSError, TimeoutError) as exc:
        return f"cannot connect to the database ({_cause(exc)})"
    return _revision_problem(current)


def _revision_problem(current: str | None) -> str | None:
    head = head_revision()
    if current == head:
        return None
    if current is None:
        return "the database has no jwtauth schema; run: jwtauth db upgrade"
    scripts = ScriptDirectory.from_config(_alembic_config())
    if current not in {script.revision for script in scripts.walk_revisions()}:
        return (
            f"the database schema is at revision {current}, which this version of jwtauth does "
            "not know (a newer jwtauth migrated it); upgrade jwtauth"
        )
    return (
        f"the database schema is behind (revision {current}, this version needs {head}); "
        "run: jwtauth db upgrade"
    )


def _cause(error: Exception) -> str:
    """A connection failure's cause, named without quoting the driver (its message may repeat
    the URL)."""
    if isinstance(error, DBAPIError) and error.orig is not None:
        # SQLAlchemy's adapter wraps the driver's error, whose class names the cause
        # (InvalidPasswordError, InvalidCatalogNameError).
        return type(error.orig.__cause__ or error.orig).__name__
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return type(error).__name__


async def _current_revision(url: str) -> str | None:
    engine = make_engine(url, pool_size=0)
    try:
        async with asyncio.timeout(SCHEMA_CHECK_TIMEOUT), engine.connect() as connection:
            revision: str | None = await connection.run_sync(
                lambda sync: MigrationContext.configure(sync).get_current_revision()
            )
        return revision
    finally:
        await engine.dispose()
