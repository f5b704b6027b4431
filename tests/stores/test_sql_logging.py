"""The SQL store's engines log no parameter and no row at any level, and put no parameter in a
failed statement's exception, whatever handlers a host adds (issue 13 item 5). Both databases;
the whole server flow at DEBUG is in tests/server/test_log_redaction.py."""

from __future__ import annotations

import io
import logging
import secrets
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine

from jwtauth.stores.sql_database import make_engine

pytestmark = pytest.mark.anyio

LOGGERS = ("aiosqlite", "sqlalchemy")


@pytest.fixture
def host_handler() -> Iterator[io.StringIO]:
    """A handler a host adds itself on the driver loggers, at DEBUG, with no filter of ours."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    loggers = [logging.getLogger(name) for name in LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
        logger.addHandler(handler)
    try:
        yield stream
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)
            logger.removeHandler(handler)


async def test_parameters_and_rows_never_reach_a_log(
    database_url: str, host_handler: io.StringIO
) -> None:
    secret = "totp-" + secrets.token_hex(16)  # pragma: allowlist secret
    engine = make_engine(database_url)
    try:
        async with engine.connect() as connection:
            row = (await connection.execute(text("SELECT :s AS s"), {"s": secret})).one()
    finally:
        await engine.dispose()
    assert row.s == secret
    written = host_handler.getvalue()
    assert "SELECT" in written  # the statement is logged, and on SQLite aiosqlite's calls too
    assert "[SQL parameters hidden due to hide_parameters=True]" in written
    if database_url.startswith("sqlite"):
        assert "aiosqlite DEBUG executing" in written
    assert secret not in written


async def test_a_failed_statement_names_no_parameter(database_url: str) -> None:
    secret = "hash-" + secrets.token_hex(16)  # pragma: allowlist secret
    engine = make_engine(database_url)
    try:
        async with engine.connect() as connection:
            with pytest.raises(DBAPIError) as failed:
                await connection.execute(text("SELECT :s AS s FROM no_such_table"), {"s": secret})
    finally:
        await engine.dispose()
    # The server logs an unexpected exception with its traceback: it must hold no value.
    assert "no_such_table" in str(failed.value)
    assert secret not in str(failed.value)


async def test_a_host_engine_keeps_its_own_logging(
    database_url: str, host_handler: io.StringIO
) -> None:
    """Only jwtauth's engines (logger ``sqlalchemy.engine.Engine.jwtauth``) lose their rows:
    a host's own engine in the same process logs as SQLAlchemy always did."""
    await make_engine(database_url).dispose()  # installs the filters
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            (await connection.execute(text("SELECT upper('host-row-value') AS v"))).one()
    finally:
        await engine.dispose()
    assert "HOST-ROW-VALUE" in host_handler.getvalue()  # a row: only the row log has it
