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

A Redis Cluster is named by its scheme: ``redis+cluster://host:port`` (``rediss+cluster://``
with TLS), one startup node in the URL and more as ``?node=host:port`` (repeatable); the client
finds the rest of the cluster from them and follows failovers and slot moves.

A primary managed by Redis Sentinel: ``redis+sentinel://sentinel:26379/SERVICE[/DB]``
(``rediss+sentinel://`` with TLS to the primary), more sentinels as ``?node=host:port``; the
URL's password is the primary's. The client asks the sentinels where the primary is, and again
after a failover.

redis-py's cluster and sentinel pools fail past their cap instead of waiting, so those clients
may open up to :data:`NODE_MAX_CONNECTIONS` connections per node instead.
"""

from __future__ import annotations

from typing import Final
from urllib.parse import parse_qs, unquote, urlencode, urlsplit, urlunsplit

from redis.asyncio import BlockingConnectionPool, Redis, RedisCluster
from redis.asyncio.cluster import ClusterNode
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import NoBackoff

__all__ = [
    "MAX_CONNECTIONS",
    "NODE_MAX_CONNECTIONS",
    "TIMEOUT",
    "AnyRedis",
    "is_cluster",
    "is_standalone",
    "redis_client",
]

AnyRedis = Redis | RedisCluster
"""A client of one Redis server (or a Sentinel-managed primary) or of a Redis Cluster."""

_CLUSTER_SCHEMES: Final = {"redis+cluster": "redis", "rediss+cluster": "rediss"}
_SENTINEL_SCHEMES: Final = {"redis+sentinel": False, "rediss+sentinel": True}  # TLS
_SENTINEL_PORT: Final = 26379

TIMEOUT: Final = 2.0
"""Seconds to connect, to run one command, or to wait for a pooled connection."""

MAX_CONNECTIONS: Final = 200
"""Connections per client; past them a command waits (up to :data:`TIMEOUT`), never fails."""

NODE_MAX_CONNECTIONS: Final = 2000
"""Connections per node and client on a cluster or behind Sentinel (a cap that fails rather
than waits: kept far above any burst one process sees)."""


def _scheme(url: str) -> str:
    return url.partition("://")[0].lower()


def is_cluster(url: str) -> bool:
    """True when ``url`` names a Redis Cluster (``redis+cluster://``, ``rediss+cluster://``)."""
    return _scheme(url) in _CLUSTER_SCHEMES


def is_standalone(url: str) -> bool:
    """True when ``url`` names one Redis server (neither a cluster nor a Sentinel service)."""
    return _scheme(url) not in _CLUSTER_SCHEMES and _scheme(url) not in _SENTINEL_SCHEMES


def redis_client(url: str, *, timeout: float | None = TIMEOUT, retries: int = 1) -> AnyRedis:
    """A client for ``url`` with jwtauth's bounds; ``timeout=None`` for a connection that
    blocks on purpose (a pub/sub subscriber waiting for messages), ``retries=0`` for one that
    must see every failure (the subscriber, which re-scans after a gap)."""
    if is_cluster(url):
        return _cluster_client(url, timeout, retries)
    if _scheme(url) in _SENTINEL_SCHEMES:
        return _sentinel_client(url, timeout, retries)
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=MAX_CONNECTIONS,
        timeout=TIMEOUT,
        socket_timeout=timeout,
        socket_connect_timeout=TIMEOUT,
        retry=Retry(NoBackoff(), retries),
        health_check_interval=30,
    )
    return Redis.from_pool(pool)  # the client owns the pool: closing it closes the pool


def _cluster_client(url: str, timeout: float | None, retries: int) -> RedisCluster:
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    nodes = [_node(text) for text in query.pop("node", [])]
    plain = urlunsplit(
        (
            _CLUSTER_SCHEMES[parts.scheme.lower()],
            parts.netloc,
            parts.path,
            urlencode(query, doseq=True),
            "",
        )
    )
    return RedisCluster.from_url(
        plain,
        startup_nodes=nodes or None,
        max_connections=NODE_MAX_CONNECTIONS,
        socket_timeout=timeout,
        socket_connect_timeout=TIMEOUT,
        # A moved slot or a failover is the cluster client's to follow: a few quick attempts,
        # each bounded by the timeouts above, then the caller answers 503.
        retry=Retry(NoBackoff(), max(retries, 1) * 3),
        health_check_interval=30,
    )


class _SentinelPrimary(Redis):
    """The primary's client, which also closes the clients of the sentinels it asks (redis-py
    leaves them open)."""

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        await super().aclose(close_connection_pool)
        for sentinel in self.connection_pool.sentinel_manager.sentinels:  # type: ignore[attr-defined]
            await sentinel.aclose()


def _sentinel_client(url: str, timeout: float | None, retries: int) -> Redis:
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    if parts.hostname is None:
        raise ValueError("a Sentinel URL names a sentinel: redis+sentinel://host:26379/SERVICE")
    sentinels = [(parts.hostname, parts.port or _SENTINEL_PORT)]
    sentinels += [_host_port(text) for text in query.pop("node", [])]
    path = [unquote(part) for part in parts.path.split("/") if part]
    if not path or len(path) > 2 or (len(path) == 2 and not path[1].isdigit()):
        raise ValueError(
            "a Sentinel URL names its service: redis+sentinel://host:26379/SERVICE[/DB]"
        )
    sentinel = Sentinel(sentinels, socket_timeout=TIMEOUT, socket_connect_timeout=TIMEOUT)  # type: ignore[no-untyped-call]
    return sentinel.master_for(  # type: ignore[no-any-return]
        path[0],
        redis_class=_SentinelPrimary,
        db=int(path[1]) if len(path) == 2 else 0,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        ssl=_SENTINEL_SCHEMES[parts.scheme.lower()],
        max_connections=NODE_MAX_CONNECTIONS,
        socket_timeout=timeout,
        socket_connect_timeout=TIMEOUT,
        retry=Retry(NoBackoff(), retries),
        health_check_interval=30,
    )


def _host_port(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError("a node is host:port")
    return host.strip("[]"), int(port)


def _node(text: str) -> ClusterNode:
    return ClusterNode(*_host_port(text))
