"""How every jwtauth Redis client connects: bounded waits everywhere, a pool that queues, one
retry of a stale connection (issue 14).

redis-py's defaults fit neither an outage nor a burst:

- no socket timeout: a hung server (SIGSTOP, a network partition) holds every request that
  touches it for as long as the kernel keeps the connection, minutes;
- a pool of 100 connections that *fails* the 101st at once (``MaxConnectionsError``): 150
  concurrent logouts gave 49 errors;
- three retries with exponential backoff of up to 10 s: an outage answers after tens of
  seconds instead of at once.

So: connect and command timeouts of :data:`TIMEOUT`, a blocking pool that waits up to
:data:`TIMEOUT` for a free connection, and one immediate retry on a connection error or
timeout, which is what a connection that died while pooled (a Redis restart) needs; a server
that is really down fails the retry just as fast, and the caller answers 503.
"""

from __future__ import annotations

from typing import Final

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

__all__ = ["MAX_CONNECTIONS", "TIMEOUT", "redis_client"]

TIMEOUT: Final = 2.0
"""Seconds to connect, to run one command, or to wait for a pooled connection."""

MAX_CONNECTIONS: Final = 200
"""Connections per client; past them a command waits (up to :data:`TIMEOUT`), never fails."""


def redis_client(url: str, *, timeout: float | None = TIMEOUT) -> Redis:
    """A client for ``url`` with jwtauth's bounds; ``timeout=None`` for a connection that
    blocks on purpose (a pub/sub subscriber waiting for messages)."""
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=MAX_CONNECTIONS,
        timeout=TIMEOUT,
        socket_timeout=timeout,
        socket_connect_timeout=TIMEOUT,
        retry=Retry(NoBackoff(), 1),
        health_check_interval=30,
    )
    return Redis.from_pool(pool)  # the client owns the pool: closing it closes the pool
