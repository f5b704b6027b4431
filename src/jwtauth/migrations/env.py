"""The Alembic environment of the SQL store: migrations run on the store's own async engine.

:func:`jwtauth.stores.sql_database.upgrade` builds the Alembic configuration in code and passes the
database URL as ``config.attributes["url"]``; the ``sqlalchemy.url`` option is the fallback for
a hand-written ``alembic.ini``. Online migrations run in ``asyncio.run``, so they are started
from synchronous code (the CLI, or a thread).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from alembic import context
from sqlalchemy import make_url, text
from sqlalchemy.engine import Connection

# Tables defined beside their stores register on Base.metadata when imported; import them all,
# so autogenerate (and the schema test) sees every table the migrations build.
import jwtauth.lifecycle.sql  # noqa: F401
from jwtauth.errors import ConfigurationError
from jwtauth.stores.sql_database import make_engine
from jwtauth.stores.sql_tables import Base

__all__ = ["do_run_migrations", "run_migrations_offline", "run_migrations_online"]

config = context.config
target_metadata = Base.metadata

# pg_advisory_xact_lock's key: any constant of our own, the same in every process and release.
_PG_MIGRATION_LOCK = 0x6A77_7461_7574_6801  # "jwtauth" + 1


def _url() -> str:
    url = config.attributes.get("url") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise ConfigurationError("No database URL was given to the migrations.")
    return str(url)


def run_migrations_offline() -> None:
    """Write the migrations' SQL instead of running it (``alembic upgrade --sql``)."""
    context.configure(
        url=_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def do_run_migrations(connection: Connection) -> None:
    """Run the pending migrations on ``connection``, in one transaction."""
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite alters tables by copying them; batch mode is how Alembic does that.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # Processes starting at once on a fresh database queue here, so the first creates
            # the tables and the others find them at head (without it, two CREATE TABLEs race
            # and one dies on a unique violation in pg_type). Released at commit.
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK}
            )
        context.run_migrations()


@contextlib.contextmanager
def _sqlite_migration_lock(url: str) -> Iterator[None]:
    """An exclusive lock on a file beside a SQLite database, held while it is migrated: SQLite
    refuses a second writer that would have to wait inside a transaction (``database is
    locked``) instead of queueing it. SQLite is one host, so a file lock reaches every process."""
    database = make_url(url).database
    if not database or database == ":memory:":
        yield
        return
    path = Path(database).with_name(Path(database).name + ".migrate-lock")
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)  # waits for the process migrating now
        yield
    finally:
        os.close(descriptor)  # closing releases the lock


async def _run_async_migrations() -> None:
    # The store's engine factory, so migrations see the same SQLite pragmas (WAL, foreign
    # keys, busy timeout) as the server; no pool, the engine lives for one run.
    engine = make_engine(_url(), pool_size=0)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(do_run_migrations)
    finally:
        await engine.dispose()


def run_migrations_online() -> None:
    """Connect and run the pending migrations, one process at a time per database."""
    url = _url()
    if make_url(url).get_backend_name() == "sqlite":
        with _sqlite_migration_lock(url):
            asyncio.run(_run_async_migrations())
    else:
        asyncio.run(_run_async_migrations())


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
