"""Revocation shared through Redis, answered from memory in every process.

Verification asks a synchronous view on every request, so Redis is never queried per request.
Each process keeps a local list (a :class:`~jwtauth.stores.memory.MemoryRevocationStore`) and
Redis keeps it current:

* A revocation is one key, written with a TTL equal to the time it can still matter, so Redis
  never needs purging; a Lua script writes it (never lowering an existing value) and, in the
  same step, PUBLISHes it on the channel.
* :meth:`RedisRevocationStore.start` subscribes first, waits until Redis confirms the
  subscription, then loads every existing key with SCAN. Anything written after the
  subscription took effect arrives as a message; anything before is found by the scan. A
  background task then applies messages as they come.
* If the subscription breaks, the task subscribes again and re-runs the scan, since Pub/Sub
  drops whatever was published while nobody listened; then it calls ``on_resync``, with which
  :class:`~jwtauth.stores.durable.DurableRevocationStore` re-reads the database, the source of
  truth (a Redis restarted empty has nothing left to scan).

Key layout (``key_prefix`` = ``jwtauth:<namespace>:rev:``, each part percent-encoded with no
safe characters, so neither ``:`` nor ``/`` in an issuer can make two entries collide)::

    jwtauth:<ns>:rev:jti:<issuer>:<jti>   value: the token's exp         TTL: exp + retention - now
    jwtauth:<ns>:rev:sid:<issuer>:<sid>   value: the session's last exp  TTL: same
    jwtauth:<ns>:rev:sub:<issuer>:<sub>   value: the cut-off ``before``  TTL: before + max lifetime
                                                                              + retention - now
    jwtauth:<ns>:rev:all::                value: the global cut-off      TTL: same (revoke-all)

Message (on ``channel`` = ``jwtauth:<ns>:revocations``): the key without its prefix, a space,
the value, e.g. ``jti:https%3A%2F%2Fauth.example:4f1c… 1700000900.0``. Neither keys nor messages
ever hold a token, only its issuer and `jti`, `sid` or `sub`.

The namespace (:mod:`jwtauth.redis_namespace`) is what keeps deployments apart: Pub/Sub ignores
the database number, and the ``all`` entry names no issuer, so without it one deployment's
revoke-all reached every other one on the Redis server. Versions before it used
``jwtauth:rev:`` and ``jwtauth:revocations`` for everyone. While ``legacy_names`` is on (the
default, for the upgrade), a namespaced store also loads, follows and writes the
issuer-scoped entries (``jti``, ``sid``, ``sub``) under those old names, so old and new
processes keep hearing each other's logouts during a rolling upgrade, and a revocation made
just before the upgrade is not forgotten. It never reads or writes ``all`` there: an old
``all`` may belong to any deployment, and the revoke-all cut-off is kept in the database anyway
(:mod:`jwtauth.lifecycle.sync` re-applies it at start).

Staleness: with the subscription up, another process sees a revocation once Redis delivers the
message (a millisecond or two on one host). A connection that closes (Redis restart, CLIENT
KILL, a reset) is noticed at once; one that goes silent, within ``2 * heartbeat_interval`` (an
idle subscription is PINGed after ``heartbeat_interval`` of silence and given as long again to
answer). The task then reconnects after a jittered backoff, 25-50 ms at first, doubling up to
2 s while the subscription keeps failing within 10 s of being restored, and re-scans. So while
Redis is reachable a view is at most ``2 * heartbeat_interval + 2 s`` plus one scan behind
(about 50 ms after an isolated abrupt close); while it is not, :meth:`ping` reports False so
that readiness can take the process out of rotation.

On a Redis Cluster (a ``redis+cluster://`` URL, :mod:`jwtauth.stores.redis_client`) the names
carry the namespace as a hash tag, ``jwtauth:{<ns>}:rev:`` and ``jwtauth:{<ns>}:revocations``,
so one deployment's keys and channel share a slot: the write script may touch them together,
and a load's MGET is one node's. Messages travel by sharded Pub/Sub (SPUBLISH from the script,
SSUBSCRIBE on the slot's primary), which reaches every subscriber without flooding every node.
A silent subscription is probed by SPUBLISHing a heartbeat on the channel, which must come back
within ``heartbeat_interval``; after a failover the probe fails, and the store subscribes
again at the slot's new owner and re-scans. A cluster store needs a namespace and never
bridges to the un-namespaced names of earlier versions (a cluster deployment has none).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import re
import time
from collections.abc import Callable
from types import TracebackType
from typing import Final, Self
from urllib.parse import quote, unquote

from redis.asyncio import Redis, RedisCluster
from redis.asyncio.client import PubSub
from redis.asyncio.cluster import ClusterPubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from jwtauth.redis_namespace import check_namespace
from jwtauth.revocation import RevocationList
from jwtauth.stores.memory import DEFAULT_MAX_TOKEN_LIFETIME, MemoryRevocationStore
from jwtauth.stores.redis_client import AnyRedis, is_cluster, is_standalone, redis_client
from jwtauth.types import Clock

__all__ = ["LEGACY_CHANNEL", "LEGACY_KEY_PREFIX", "RedisRevocationStore"]

_log = logging.getLogger(__name__)

_TOKEN, _SESSION, _SUBJECT, _ALL = "jti", "sid", "sub", "all"
_KINDS = frozenset({_TOKEN, _SESSION, _SUBJECT, _ALL})

# The un-namespaced names of earlier versions, shared by every deployment on the server.
LEGACY_CHANNEL: Final = "jwtauth:revocations"
LEGACY_KEY_PREFIX: Final = "jwtauth:rev:"
_LEGACY_KINDS = (_TOKEN, _SESSION, _SUBJECT)  # issuer-scoped; `all` is nobody's in particular

_SCAN_BATCH = 1000
_CONFIRM_TIMEOUT = 5.0  # seconds to wait for Redis to confirm SUBSCRIBE
_SOCKET_TIMEOUT = 5.0
_BACKOFF_MIN, _BACKOFF_MAX = 0.05, 2.0
_STABLE_AFTER = 10.0  # a subscription up this long resets the backoff
_PURGE_INTERVAL = 60.0

# Set the key unless it already holds a value at least as late (revocations only ever extend,
# and two writers racing must not shorten one another), then publish in the same atomic step,
# so a message goes out exactly when the stored value changed.
_WRITE_SCRIPT = """
local current = tonumber(redis.call('GET', KEYS[1]))
if current and current >= tonumber(ARGV[1]) then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1
"""
# On a cluster: sharded, to the channel that shares the key's slot (the hash tag).
_CLUSTER_WRITE_SCRIPT = _WRITE_SCRIPT.replace("'PUBLISH'", "'SPUBLISH'")
_HEARTBEAT = b"heartbeat"  # what a cluster subscription SPUBLISHes to itself when idle


class RedisRevocationStore:
    """Revocations shared by every process through Redis; implements
    :class:`jwtauth.types.RevocationStore`.

    Call :meth:`start` before serving (or use ``async with``) and :meth:`close` at shutdown.
    Without :meth:`start` the store still writes, but its view only knows this process's own
    revocations.

    Args:
        url: the Redis URL, e.g. ``redis://host:6379/0``.
        clock: the time source for TTLs and for dropping dead local entries.
        retention: seconds an entry outlives the token's `exp` (at least the verifier's leeway);
            must be the same in every process.
        namespace: the deployment's namespace (see :mod:`jwtauth.redis_namespace`): stores
            share revocations exactly when they share it. A resource server that follows a
            jwtauth server passes the server's, ``redis_namespace(None, issuer)`` by default.
            Without one the store uses the un-namespaced names of earlier versions, which
            every such store on the Redis server shares, revoke-all included.
        channel: the Pub/Sub channel revocations are announced on (by default
            ``jwtauth:<namespace>:revocations``).
        key_prefix: the prefix of every key this store writes and scans (by default
            ``jwtauth:<namespace>:rev:``).
        legacy_names: with a namespace, also follow and write the issuer-scoped entries under
            the un-namespaced names, never ``all`` (for upgrading from them; see above).
        max_token_lifetime: the longest lifetime of any token revoked here; subject cut-offs
            are kept this long (plus retention), and no entry is kept longer.
        heartbeat_interval: seconds of silence after which the subscription is PINGed; no
            answer within as long again and it is replaced (see the staleness bound above).
    """

    __slots__ = (
        "_channel",
        "_clock",
        "_cluster",
        "_heartbeat",
        "_legacy",
        "_local",
        "_max_token_lifetime",
        "_prefix",
        "_redis",
        "_retention",
        "_stopping",
        "_subscriber",
        "_synced",
        "_task",
        "_write",
        "on_resync",
    )

    def __init__(
        self,
        url: str,
        *,
        clock: Clock = time.time,
        retention: float = 300.0,
        namespace: str | None = None,
        channel: str | None = None,
        key_prefix: str | None = None,
        max_token_lifetime: float = DEFAULT_MAX_TOKEN_LIFETIME,
        heartbeat_interval: float = 1.0,
        legacy_names: bool = True,
    ) -> None:
        if heartbeat_interval <= 0:
            raise ValueError("heartbeat_interval must be > 0")
        self._cluster = is_cluster(url)
        if self._cluster:
            if namespace is None:
                raise ValueError("a Redis Cluster store needs a namespace (its hash tag)")
            # The hash tag: every key and the channel of one deployment in one slot.
            base = f"jwtauth:{{{check_namespace(namespace)}}}:"
            channel = f"{base}revocations" if channel is None else channel
            key_prefix = f"{base}rev:" if key_prefix is None else key_prefix
            legacy_names = False
        elif namespace is None:
            channel = LEGACY_CHANNEL if channel is None else channel
            key_prefix = LEGACY_KEY_PREFIX if key_prefix is None else key_prefix
        else:
            base = f"jwtauth:{check_namespace(namespace)}:"
            channel = f"{base}revocations" if channel is None else channel
            key_prefix = f"{base}rev:" if key_prefix is None else key_prefix
        # Only a namespaced store bridges to the old names; an un-namespaced one already is there.
        self._legacy = (
            legacy_names
            and namespace is not None
            and (channel, key_prefix) != (LEGACY_CHANNEL, LEGACY_KEY_PREFIX)
        )
        self._local = MemoryRevocationStore(clock, retention, max_token_lifetime=max_token_lifetime)
        self._clock = clock
        self._retention = retention
        self._max_token_lifetime = max_token_lifetime
        self._channel = channel
        self._prefix = key_prefix
        self._heartbeat = heartbeat_interval
        # The bounds every jwtauth Redis client has: a pool that waits instead of failing past
        # 100 connections (150 concurrent logouts gave 49 errors), one retry of a connection
        # that died while pooled (a Redis restart), command timeouts (issue 14).
        self._redis: AnyRedis = redis_client(url)
        # The subscriber must not retry on its own: redis-py would reconnect and resubscribe
        # silently, and whatever was published in between would be lost without a re-scan.
        self._subscriber: AnyRedis = (
            redis_client(url, timeout=_SOCKET_TIMEOUT, retries=0)
            if not is_standalone(url)
            else Redis.from_url(
                url,
                retry=Retry(NoBackoff(), 0),
                socket_timeout=_SOCKET_TIMEOUT,
                socket_connect_timeout=_SOCKET_TIMEOUT,
            )
        )
        self._write = self._redis.register_script(
            _CLUSTER_WRITE_SCRIPT if self._cluster else _WRITE_SCRIPT
        )
        self._task: asyncio.Task[None] | None = None
        self._synced = False
        self._stopping = asyncio.Event()
        self.on_resync: Callable[[], None] | None = None
        """Called each time the subscription is restored after a gap, once Redis has been
        re-scanned: what was published meanwhile is lost, so whoever keeps revocations
        elsewhere too (the database, :mod:`jwtauth.stores.durable`) re-reads them."""

    @property
    def view(self) -> RevocationList:
        """This process's list: its own revocations at once, others' as Redis delivers them."""
        return self._local.view

    @property
    def local(self) -> MemoryRevocationStore:
        """This process's entries; writing them reaches neither Redis nor other processes."""
        return self._local

    @property
    def live(self) -> bool:
        """True while the subscription is up and its entries are loaded, so the view misses
        nothing published; read-only and without I/O (verification's freshness check)."""
        return self._task is not None and self._synced

    # Lifecycle ---------------------------------------------------------------------------------

    async def start(self) -> None:
        """Subscribe, load every stored revocation, then follow the channel in the background.

        Raises if Redis cannot be reached: a process must not serve with an empty view.
        """
        if self._task is not None:
            raise RuntimeError("the store is already started")
        if self._stopping.is_set():
            raise RuntimeError("the store is closed")
        pubsub = await self._subscribe_and_load()
        self._task = asyncio.create_task(self._follow(pubsub), name="jwtauth-revocations")

    async def close(self) -> None:
        """Stop following the channel and close the connections; safe to call twice."""
        self._stopping.set()
        task, self._task = self._task, None
        if task is not None:
            # A cancellation that lands while redis-py is reconnecting can be lost inside it (the
            # task carries on as if never cancelled), so cancel until the task is really gone;
            # the flag also ends the loop at its next turn.
            while not task.done():
                task.cancel()
                await asyncio.wait({task}, timeout=0.1)
            if not task.cancelled() and (error := task.exception()) is not None:
                _log.error("revocations: the listener failed", exc_info=error)
        self._synced = False
        await self._subscriber.aclose()
        await self._redis.aclose()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    # RevocationStore -----------------------------------------------------------------------------

    async def revoke_token(self, issuer: str, jti: str, expires_at: float) -> None:
        """Revoke one access token until its expiry, here at once and everywhere via Redis."""
        # Locally first: this process refuses the token even while (or if) the write fails.
        await self._local.revoke_token(issuer, jti, expires_at)
        until = self._bounded(expires_at)
        await self._share(_TOKEN, issuer, jti, until, until + self._retention)

    async def revoke_session(self, issuer: str, session_id: str, expires_at: float) -> None:
        """Revoke every access token carrying `sid` = ``session_id`` until ``expires_at``."""
        await self._local.revoke_session(issuer, session_id, expires_at)
        until = self._bounded(expires_at)
        await self._share(_SESSION, issuer, session_id, until, until + self._retention)

    async def revoke_subject(self, issuer: str, subject: str, before: float) -> None:
        """Revoke every token of ``subject`` issued before ``before`` (logout-all)."""
        await self._local.revoke_subject(issuer, subject, before)
        lives_until = before + self._max_token_lifetime + self._retention
        await self._share(_SUBJECT, issuer, subject, before, lives_until)

    async def revoke_all(self, before: float) -> None:
        """Revoke every token issued before ``before`` (revoke-all), here and everywhere."""
        await self._local.revoke_all(before)
        lives_until = before + self._max_token_lifetime + self._retention
        await self._share(_ALL, "", "", before, lives_until)

    async def ping(self) -> bool:
        """True when Redis answers PING and, once started, the subscription is live and loaded
        (False while it is being restored: the view may be stale then)."""
        try:
            answered = bool(await self._redis.ping())
        except (RedisError, OSError):
            return False
        return answered and (self._task is None or self._synced)

    # Writing -------------------------------------------------------------------------------------

    def _bounded(self, expires_at: float) -> float:
        # The same cap the local store applies, so Redis and every view agree on the value.
        return min(float(expires_at), self._clock() + self._max_token_lifetime)

    async def _share(
        self, kind: str, issuer: str, ident: str, value: float, lives_until: float
    ) -> None:
        ttl_ms = math.ceil((lives_until - self._clock()) * 1000)
        if ttl_ms <= 0:
            return  # already dead everywhere: nothing to share
        entry = _encode_entry(kind, issuer, ident)
        stored = repr(float(value))
        await self._write(
            keys=[self._prefix + entry],
            args=[stored, ttl_ms, self._channel, f"{entry} {stored}"],
        )
        if self._legacy and kind != _ALL:
            # For processes of the previous version during an upgrade; the entry names its
            # issuer, so another deployment reading it refuses none of its own tokens.
            await self._write(
                keys=[LEGACY_KEY_PREFIX + entry],
                args=[stored, ttl_ms, LEGACY_CHANNEL, f"{entry} {stored}"],
            )

    # Following -----------------------------------------------------------------------------------

    async def _subscribe_and_load(self) -> PubSub:
        if isinstance(self._subscriber, RedisCluster):
            # The shard subscription goes to the node owning the channel's slot: read the
            # topology afresh each time (after a failover the old owner is gone).
            await self._subscriber.initialize()
            await self._subscriber.nodes_manager.initialize()
        pubsub = self._subscriber.pubsub()
        channels = [self._channel, LEGACY_CHANNEL] if self._legacy else [self._channel]
        try:
            if isinstance(pubsub, ClusterPubSub):
                await pubsub.ssubscribe(self._channel)
                await _confirmed_sharded(pubsub)
            else:
                await pubsub.subscribe(*channels)
                await _confirmed(pubsub, len(channels))
            loaded = await self._load()
        except BaseException:
            await _discard(pubsub)
            raise
        self._synced = True
        _log.info("revocations: subscribed to %s and loaded %d entries", self._channel, loaded)
        return pubsub

    async def _load(self) -> int:
        """Apply every stored revocation; SCAN, so Redis is never blocked by a KEYS."""
        loaded = await self._load_prefix(self._prefix, "")
        if self._legacy:
            # Kind by kind: `jwtauth:rev:*` would also match `jwtauth:rev:...` namespaces.
            for kind in _LEGACY_KINDS:
                loaded += await self._load_prefix(LEGACY_KEY_PREFIX, f"{kind}:")
        self._local.purge()
        return loaded

    async def _load_prefix(self, prefix: str, kind: str) -> int:
        loaded = 0
        batch: list[bytes] = []
        async for key in self._redis.scan_iter(match=_glob_escape(prefix + kind) + "*"):
            batch.append(key)
            if len(batch) >= _SCAN_BATCH:
                loaded += await self._load_batch(prefix, batch)
                batch = []
        if batch:
            loaded += await self._load_batch(prefix, batch)
        return loaded

    async def _load_batch(self, prefix: str, keys: list[bytes]) -> int:
        values = await self._redis.mget(keys)
        loaded = 0
        legacy = prefix != self._prefix
        for key, value in zip(keys, values, strict=True):
            if isinstance(value, bytes):  # None: expired between SCAN and MGET
                loaded += await self._apply(key[len(prefix.encode()) :], value, legacy=legacy)
        return loaded

    async def _follow(self, pubsub: PubSub | None) -> None:
        """The background task: apply messages; on any failure, resubscribe and re-scan."""
        loop = asyncio.get_running_loop()
        backoff = _BACKOFF_MIN
        try:
            while not self._stopping.is_set():
                synced_at = loop.time()
                try:
                    if pubsub is None:
                        pubsub = await self._subscribe_and_load()
                        synced_at = loop.time()
                        if self.on_resync is not None:
                            self.on_resync()
                    await self._listen(pubsub)  # returns only when the store is closing
                except Exception:
                    # Whatever went wrong, the listener must never just stop: a dead listener is
                    # a view that silently goes stale.
                    if not self._stopping.is_set():
                        _log.warning("revocations: subscription lost; reconnecting", exc_info=True)
                self._synced = False
                if pubsub is not None:
                    await _discard(pubsub)
                    pubsub = None
                if self._stopping.is_set():
                    break
                if loop.time() - synced_at >= _STABLE_AFTER:
                    backoff = _BACKOFF_MIN
                # Jittered, so that many processes do not all re-scan at the same instant.
                await asyncio.sleep(backoff * (0.5 + random.random() / 2))  # noqa: S311
                backoff = min(backoff * 2, _BACKOFF_MAX)
        finally:
            self._synced = False
            if pubsub is not None:
                await _discard(pubsub)

    async def _listen(self, pubsub: PubSub) -> None:
        """Apply messages until the connection fails (raises) or the store closes (returns)."""
        loop = asyncio.get_running_loop()
        next_purge = loop.time() + _PURGE_INTERVAL
        pinged = False
        sharded = isinstance(pubsub, ClusterPubSub)
        while not self._stopping.is_set():
            if sharded:
                message = await pubsub.get_sharded_message(  # type: ignore[attr-defined]
                    ignore_subscribe_messages=True, timeout=self._heartbeat
                )
            else:
                message = await pubsub.get_message(
                    ignore_subscribe_messages=True, timeout=self._heartbeat
                )
            if message is None:
                if pinged:
                    raise RedisConnectionError("no answer to PING on the subscription")
                if sharded:
                    # No PING on a shard subscription: send ourselves a message on the channel,
                    # which comes back only through a live subscription at the slot's owner.
                    await self._redis.spublish(self._channel, _HEARTBEAT)
                else:
                    await pubsub.ping()
                pinged = True
            else:
                pinged = False  # anything received proves the connection alive
                if message["type"] in ("message", "smessage") and message["data"] != _HEARTBEAT:
                    legacy = message["channel"] != self._channel.encode()
                    await self._apply_message(message["data"], legacy=legacy)
            if loop.time() >= next_purge:
                self._local.purge()
                next_purge = loop.time() + _PURGE_INTERVAL

    async def _apply_message(self, data: bytes, *, legacy: bool) -> None:
        entry, _, value = data.rpartition(b" ")
        await self._apply(entry, value, legacy=legacy)

    async def _apply(self, entry: bytes, value: bytes, *, legacy: bool) -> int:
        """Apply one stored or published entry; 1 if applied, 0 if it was malformed or an
        un-namespaced revoke-all (``legacy``: read under the old, shared names)."""
        try:
            kind, issuer, ident = _decode_entry(entry.decode())
            instant = float(value)
            if legacy and kind == _ALL:
                # Any deployment on this Redis server may have sent it: the very leak the
                # namespace closes. Ours reaches us through our namespace and the database.
                _log.info("revocations: ignoring an un-namespaced revoke-all")
                return 0
            if kind == _TOKEN:
                await self._local.revoke_token(issuer, ident, instant)
            elif kind == _SESSION:
                await self._local.revoke_session(issuer, ident, instant)
            elif kind == _ALL:
                await self._local.revoke_all(instant)
            else:
                await self._local.revoke_subject(issuer, ident, instant)
        except ValueError:
            # Not ours (or corrupt): skip it rather than let one bad entry stop the others.
            _log.warning("revocations: ignoring malformed entry %.200r = %.50r", entry, value)
            return 0
        return 1


def _encode_entry(kind: str, issuer: str, ident: str) -> str:
    # quote(safe="") leaves only [A-Za-z0-9_.~-] and %XX, so ':' separates the parts
    # unambiguously and the encoding is injective.
    return f"{kind}:{quote(issuer, safe='')}:{quote(ident, safe='')}"


def _decode_entry(entry: str) -> tuple[str, str, str]:
    kind, issuer, ident = entry.split(":")  # ValueError unless exactly three parts
    if kind not in _KINDS:
        raise ValueError(f"unknown revocation kind {kind!r}")
    return kind, unquote(issuer, errors="strict"), unquote(ident, errors="strict")


def _glob_escape(text: str) -> str:
    return re.sub(r"([*?\[\]\\])", r"\\\1", text)


async def _confirmed(pubsub: PubSub, channels: int) -> None:
    # SUBSCRIBE is only sent, not awaited. Until Redis has processed it a revocation published
    # now would reach nobody, and a SCAN run now could miss it too: wait for the confirmation
    # of every channel.
    loop = asyncio.get_running_loop()
    deadline = loop.time() + _CONFIRM_TIMEOUT
    while (remaining := deadline - loop.time()) > 0:
        message = await pubsub.get_message(timeout=remaining)
        if message is not None and message["type"] == "subscribe":
            channels -= 1
            if channels == 0:
                return
    raise RedisConnectionError("Redis did not confirm the subscription")


async def _confirmed_sharded(pubsub: ClusterPubSub) -> None:
    # As _confirmed, for SSUBSCRIBE on a cluster.
    loop = asyncio.get_running_loop()
    deadline = loop.time() + _CONFIRM_TIMEOUT
    while (remaining := deadline - loop.time()) > 0:
        message = await pubsub.get_sharded_message(timeout=remaining)
        if message is not None and message["type"] == "ssubscribe":
            return
    raise RedisConnectionError("Redis did not confirm the subscription")


async def _discard(pubsub: PubSub) -> None:
    # Closing a broken connection may fail in turn; that must not stop the listener.
    with contextlib.suppress(Exception):
        await pubsub.aclose()  # type: ignore[no-untyped-call]
