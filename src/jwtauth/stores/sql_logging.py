"""What the SQL layer may log about the store's statements: never a parameter and never a row.

The store's parameters and rows are argon2 hashes, TOTP secrets, recovery-code hashes and
sealed keys, and three libraries below it log them once their loggers are at DEBUG or INFO:

* ``aiosqlite`` logs ``executing %s`` and ``operation %s completed`` at DEBUG for every call it
  hands to its worker thread, with a :func:`functools.partial` whose repr holds the SQL and its
  parameters, and ``returning exception %s`` with the exception.
* SQLAlchemy's engine logs each statement's parameters at INFO (``echo=True`` or the
  ``sqlalchemy.engine`` logger at INFO) and every fetched row at DEBUG, and puts the
  parameters into the text of a failed statement's exception.
* asyncpg logs no statement or parameter at any level, and redis-py none of the commands
  jwtauth sends; nothing of theirs needs filtering.

The defences sit where a host's logging configuration does not reach: ``hide_parameters`` on
every engine jwtauth creates (statement logs and exceptions alike), and filters on the logger
objects themselves, which see a record before any handler and which
:func:`logging.config.dictConfig` and :func:`logging.config.fileConfig` leave in place (they
replace handlers and levels, never a logger's filters). A handler filter such as
:class:`~jwtauth.hygiene.redaction.RedactingFilter` could not do it: a host adding its own
handler later would not have it, and no pattern recognises a TOTP secret or a hash by its shape.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from typing import Any, Final

__all__ = ["ENGINE_LOGGING_NAME", "quiet_sql_logs"]

ENGINE_LOGGING_NAME: Final = "jwtauth"
"""The ``logging_name`` of jwtauth's engines: their logger is
``sqlalchemy.engine.Engine.jwtauth``, filtered here without touching a host's own engines."""

_ENGINE_LOGGER: Final = f"sqlalchemy.engine.Engine.{ENGINE_LOGGING_NAME}"
_AIOSQLITE_LOGGER: Final = "aiosqlite"


class _NoRows(logging.Filter):
    """Drops the engine's DEBUG records: the fetched rows (and their column names)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.DEBUG


class _NoCallArguments(logging.Filter):
    """Keeps aiosqlite's records but names each call or exception instead of showing it, so a
    partial's bound SQL parameters never reach a formatter."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, Mapping):
            record.args = {key: _describe(value) for key, value in args.items()}
        elif isinstance(args, tuple):
            record.args = tuple(_describe(arg) for arg in args)
        return True


def _describe(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, functools.partial):
        value = value.func
    if isinstance(value, BaseException):
        return type(value).__qualname__
    if callable(value):
        return getattr(value, "__qualname__", type(value).__qualname__)
    return type(value).__qualname__


_FILTERS: Final[dict[str, type[logging.Filter]]] = {
    _ENGINE_LOGGER: _NoRows,
    _AIOSQLITE_LOGGER: _NoCallArguments,
}


def quiet_sql_logs() -> None:
    """Install the logger filters above; idempotent (each logger gets its filter once)."""
    for name, kind in _FILTERS.items():
        logger = logging.getLogger(name)
        if not any(isinstance(f, kind) for f in logger.filters):
            logger.addFilter(kind())
