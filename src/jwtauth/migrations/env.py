"""The Alembic environment of the SQL store: migrations run on the store's own async engine.

:func:`jwtauth.stores.sql_database.upgrade` builds the Alembic configuration in code and passes the
database URL as ``config.attributes["url"]``; the ``sqlalchemy.url`` option is the fallback for
a hand-written ``alembic.ini``. Online migrations run in ``asyncio.run``, so they are started
from synchronous code (the CLI, or a thread).
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

# Tables defined beside their stores register on Base.metadata when imported; import them all,
# so autogenerate (and the schema test) sees every table the migrations build.
import jwtauth.stores.sql_keyring  # noqa: F401
from jwtauth.errors import ConfigurationError
from jwtauth.stores.sql_database import make_engine
from jwtauth.stores.sql_tables import Base

__all__ = ["do_run_migrations", "run_migrations_offline", "run_migrations_online"]

config = context.config
target_metadata = Base.metadata


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
        context.run_migrations()


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
    """Connect and run the pending migrations."""
    asyncio.run(_run_async_migrations())


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
