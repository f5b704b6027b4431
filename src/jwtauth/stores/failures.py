"""Which exceptions of the store libraries mean "the store cannot answer now" (HTTP 503) rather
than a bug (HTTP 500): one classification for the server, the integrations and the CLI.

A store outage must never look like a bug to a client (500 ``internal_error``, the keep-alive
connection closed), nor a bug like an outage (a retry loop on an integrity error). So only these
count as unavailable (issue 14):

- Redis: connection errors (refused, reset, the pool's connection limit, a server still
  loading its data) and timeouts; a replica refusing writes during a failover.
- SQLAlchemy: ``OperationalError`` (PostgreSQL down or restarting, SQLite ``database is
  locked``), ``InterfaceError`` (a pooled connection that died), a pool that waited its bound,
  and any DBAPI error that invalidated its connection; PostgreSQL SQLSTATE class 08
  (connection exception), 53300 (too many connections) and 57P01-57P03 (shutting down, crash
  recovery, cannot connect now).
- The operating system: refused, reset or timed-out connections, a host that does not resolve.

Everything else (an integrity error, a programming error) stays a 500 with a request id.
"""

from __future__ import annotations

import socket
from typing import Final

from sqlalchemy import exc as sa

__all__ = ["UNAVAILABLE_SQLSTATES", "exception_types", "is_unavailable"]

UNAVAILABLE_SQLSTATES: Final = frozenset({"53300", "57P01", "57P02", "57P03"})
"""PostgreSQL states that mean "not now" beside class 08 (connection exception)."""


def _redis_types() -> tuple[type[Exception], ...]:
    try:
        from redis import exceptions as redis  # noqa: PLC0415 - optional backend
    except ImportError:  # pragma: no cover - redis is installed with the server extra
        return ()
    return (redis.ConnectionError, redis.TimeoutError, redis.ReadOnlyError)


def exception_types() -> tuple[type[Exception], ...]:
    """The exception classes :func:`is_unavailable` may say yes to, for handler registration."""
    redis = _redis_types()
    redis_base: tuple[type[Exception], ...] = ()
    if redis:
        from redis import exceptions  # noqa: PLC0415 - optional backend

        redis_base = (exceptions.RedisError,)
    return (sa.SQLAlchemyError, OSError, *redis_base)


def is_unavailable(exc: BaseException) -> bool:
    """``True`` when ``exc`` says a store cannot answer now, ``False`` for anything else."""
    if isinstance(exc, _redis_types()):
        return True
    if isinstance(exc, sa.OperationalError | sa.InterfaceError | sa.TimeoutError):
        return True
    if isinstance(exc, sa.DBAPIError):
        if exc.connection_invalidated:
            return True
        state = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
        return isinstance(state, str) and (state.startswith("08") or state in UNAVAILABLE_SQLSTATES)
    return isinstance(exc, ConnectionError | TimeoutError | socket.gaierror)
