"""Revocation stores: one contract for every store, then what only the shared Redis store does.

The Redis tests run against the real server (db 15, see conftest) with two or more store
instances on it, as separate processes would have, and one test with a real second process.
"""

from __future__ import annotations

import asyncio
import logging
import statistics
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, cast
from urllib.parse import quote, urlsplit

import pytest
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import ConnectionError as RedisConnectionError

from jwtauth.errors import RevokedTokenError
from jwtauth.stores.memory import MemoryRevocationStore
from jwtauth.stores.redis import RedisRevocationStore
from jwtauth.stores.redis_client import MAX_CONNECTIONS
from jwtauth.testing import FrozenClock, make_manager
from jwtauth.types import RevocationStore
from tests.faults import private_redis

pytestmark = pytest.mark.anyio

ISS = "https://auth.test/tenant:a"  # ':' and '/' on purpose: the key encoding must cope
NOW = 1_700_000_000.0
RETENTION = 300.0
LIFETIME = 3_600.0  # max_token_lifetime in these tests
BOUND = 1.0  # seconds within which another process must see a revocation


def claims(
    jti: str = "j1", sub: str = "alice", iat: float = NOW - 10, sid: str | None = None
) -> dict[str, Any]:
    token: dict[str, Any] = {"iss": ISS, "sub": sub, "jti": jti, "iat": iat}
    if sid is not None:
        token["sid"] = sid
    return token


async def wait_until(condition: Callable[[], bool], timeout: float = BOUND) -> float:
    """Poll until ``condition`` holds; return how long it took, fail past ``timeout``."""
    start = time.perf_counter()
    while not condition():
        elapsed = time.perf_counter() - start
        assert elapsed < timeout, f"not seen within {timeout} s"
        await asyncio.sleep(0.001)
    return time.perf_counter() - start


async def all_keys(admin: Redis, prefix: str = "") -> list[bytes]:
    return [key async for key in admin.scan_iter(match=prefix + "*")]


@dataclass(frozen=True)
class Namespace:
    """A channel and key prefix of one test's own.

    Other sessions may run their tests on the same Redis at the same time; with the defaults
    their revocations would reach our stores (and ours theirs).
    """

    channel: str
    prefix: str

    @classmethod
    def fresh(cls) -> Namespace:
        tag = uuid.uuid4().hex[:12]
        return cls(channel=f"jwtauth-test-{tag}:revocations", prefix=f"jwtauth-test-{tag}:rev:")

    @property
    def options(self) -> dict[str, Any]:
        return {"channel": self.channel, "key_prefix": self.prefix}


async def next_message(pubsub: PubSub, timeout: float = BOUND) -> dict[str, Any]:
    """The next published message (subscribe confirmations skipped), within ``timeout``."""
    async with asyncio.timeout(timeout):
        while True:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=timeout)
            if message is not None:
                return cast(dict[str, Any], message)


# The contract -------------------------------------------------------------------------------


@dataclass
class Harness:
    store: MemoryRevocationStore | RedisRevocationStore
    clock: FrozenClock
    admin: Redis | None  # a plain client on the same Redis, for the Redis flavour
    prefix: str = ""

    async def pttl(self, kind: str, issuer: str, ident: str) -> int | None:
        """The key's remaining milliseconds (None for the memory store)."""
        if self.admin is None:
            return None
        key = f"{self.prefix}{kind}:{quote(issuer, safe='')}:{quote(ident, safe='')}"
        return int(await self.admin.pttl(key))


@pytest.fixture(params=["memory", "redis"])
async def harness(request: pytest.FixtureRequest) -> AsyncIterator[Harness]:
    clock = FrozenClock(NOW)
    if request.param == "memory":
        yield Harness(
            MemoryRevocationStore(clock, RETENTION, max_token_lifetime=LIFETIME), clock, None
        )
        return
    url: str = request.getfixturevalue("redis_url")
    admin = Redis.from_url(url)
    ns = Namespace.fresh()
    store = RedisRevocationStore(
        url, clock=clock, retention=RETENTION, max_token_lifetime=LIFETIME, **ns.options
    )
    async with store:
        yield Harness(store, clock, admin, ns.prefix)
    await admin.aclose()


def expect_pttl(actual: int | None, seconds: float) -> None:
    if actual is not None:  # the memory store has no TTL to check
        assert seconds * 1000 - 2000 <= actual <= seconds * 1000


async def test_store_implements_the_protocol(harness: Harness) -> None:
    store: RevocationStore = harness.store
    assert store.view is harness.store.view  # one stable object a TokenManager can hold


async def test_revoked_token_is_refused_and_others_are_not(harness: Harness) -> None:
    await harness.store.revoke_token(ISS, "j1", expires_at=NOW + 600)
    view = harness.store.view
    assert view.is_revoked(claims("j1"))
    assert not view.is_revoked(claims("j2"))
    assert not view.is_revoked({**claims("j1"), "iss": "https://other.test"})


async def test_revoked_session_refuses_its_tokens_only(harness: Harness) -> None:
    await harness.store.revoke_session(ISS, "s1", expires_at=NOW + 600)
    view = harness.store.view
    assert view.is_revoked(claims("j1", sid="s1"))
    assert view.is_revoked(claims("j2", sid="s1"))
    assert not view.is_revoked(claims("j3", sid="s2"))
    assert not view.is_revoked(claims("j4"))


async def test_subject_cutoff_refuses_only_older_tokens_of_that_subject(harness: Harness) -> None:
    await harness.store.revoke_subject(ISS, "alice", before=NOW)
    view = harness.store.view
    assert view.is_revoked(claims(sub="alice", iat=NOW - 1))
    assert not view.is_revoked(claims(sub="alice", iat=NOW))
    assert not view.is_revoked(claims(sub="bob", iat=NOW - 1))


async def test_issuer_and_id_cannot_collide(harness: Harness) -> None:
    await harness.store.revoke_token("https://a", "b:c", expires_at=NOW + 600)
    assert not harness.store.view.is_revoked({"iss": "https://a:b", "jti": "c", "iat": NOW})
    assert harness.store.view.is_revoked({"iss": "https://a", "jti": "b:c", "iat": NOW})


async def test_token_entry_expires_with_the_token(harness: Harness) -> None:
    await harness.store.revoke_token(ISS, "j1", expires_at=NOW + 600)
    expect_pttl(await harness.pttl("jti", ISS, "j1"), 600 + RETENTION)
    harness.clock.advance(600 + RETENTION - 1)  # past exp, inside the leeway: still refused
    assert harness.store.view.is_revoked(claims("j1"))
    harness.clock.advance(1)
    assert not harness.store.view.is_revoked(claims("j1"))


async def test_session_entry_expires_with_its_last_token(harness: Harness) -> None:
    await harness.store.revoke_session(ISS, "s1", expires_at=NOW + 600)
    expect_pttl(await harness.pttl("sid", ISS, "s1"), 600 + RETENTION)
    harness.clock.advance(600 + RETENTION)
    assert harness.store.view.purge() == 1
    assert not harness.store.view.is_revoked(claims(sid="s1"))


async def test_subject_cutoff_lasts_the_token_lifetime_then_goes(harness: Harness) -> None:
    await harness.store.revoke_subject(ISS, "alice", before=NOW)
    expect_pttl(await harness.pttl("sub", ISS, "alice"), LIFETIME + RETENTION)
    harness.clock.advance(LIFETIME + RETENTION - 1)  # an old token could still be in its leeway
    assert harness.store.view.purge() == 0
    assert harness.store.view.is_revoked(claims(sub="alice", iat=NOW - 1))
    harness.clock.advance(1)  # no token issued before NOW can be accepted any more
    assert harness.store.view.purge() == 1


async def test_far_future_expiry_is_capped_at_the_token_lifetime(harness: Harness) -> None:
    # Memory stays bounded whatever expiry a caller passes.
    await harness.store.revoke_token(ISS, "j1", expires_at=NOW + 10 * 365 * 86_400)
    expect_pttl(await harness.pttl("jti", ISS, "j1"), LIFETIME + RETENTION)
    harness.clock.advance(LIFETIME + RETENTION)
    assert harness.store.view.purge() == 1


async def test_nonsense_revocations_are_refused(harness: Harness) -> None:
    with pytest.raises(ValueError, match="jti"):
        await harness.store.revoke_token(ISS, "", expires_at=NOW + 600)
    with pytest.raises(ValueError, match="finite"):
        await harness.store.revoke_token(ISS, "j1", expires_at=float("nan"))
    with pytest.raises(ValueError, match="finite"):
        await harness.store.revoke_subject(ISS, "alice", before=float("inf"))


async def test_an_already_dead_token_is_not_stored(harness: Harness) -> None:
    await harness.store.revoke_token(ISS, "old", expires_at=NOW - RETENTION - 1)
    assert not harness.store.view.is_revoked(claims("old"))
    if harness.admin is not None:
        assert await all_keys(harness.admin, harness.prefix) == []


async def test_verification_refuses_a_token_revoked_in_the_store(harness: Harness) -> None:
    manager = make_manager(issuer=ISS, clock=harness.clock, revocations=harness.store.view)
    token = manager.issue("alice")
    verified = manager.verify(token)  # now cached: revocation must still win
    await harness.store.revoke_token(ISS, verified["jti"], verified["exp"])
    with pytest.raises(RevokedTokenError):
        manager.verify(token)


async def test_ping(harness: Harness) -> None:
    assert await harness.store.ping() is True


# Redis only ---------------------------------------------------------------------------------


@pytest.fixture
async def admin(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
def ns() -> Namespace:
    return Namespace.fresh()


@pytest.fixture
async def stores(redis_url: str, ns: Namespace) -> AsyncIterator[Callable[..., Any]]:
    """Start Redis stores (each as another process would have one), closed after the test."""
    async with AsyncExitStack() as stack:

        async def start(**options: Any) -> RedisRevocationStore:
            store = RedisRevocationStore(redis_url, **{**ns.options, **options})
            return await stack.enter_async_context(store)

        yield start


async def test_a_revocation_reaches_another_instance_within_the_bound(
    stores: Callable[..., Any],
) -> None:
    writer: RedisRevocationStore = await stores()
    reader: RedisRevocationStore = await stores()
    latencies = []
    for n in range(20):
        start = time.perf_counter()
        await writer.revoke_token(ISS, f"j{n}", expires_at=time.time() + 600)
        await wait_until(partial(reader.view.is_revoked, claims(f"j{n}")))
        latencies.append(time.perf_counter() - start)
    assert max(latencies) < BOUND
    assert statistics.median(latencies) < BOUND / 10


async def test_every_kind_reaches_another_instance(stores: Callable[..., Any]) -> None:
    writer: RedisRevocationStore = await stores()
    reader: RedisRevocationStore = await stores()
    now = time.time()
    await writer.revoke_token(ISS, "j1", expires_at=now + 600)
    await writer.revoke_session(ISS, "s1", expires_at=now + 600)
    await writer.revoke_subject(ISS, "bob", before=now)
    await wait_until(lambda: reader.view.is_revoked(claims("j1")))
    await wait_until(lambda: reader.view.is_revoked(claims("j2", sid="s1")))
    await wait_until(lambda: reader.view.is_revoked(claims("j3", sub="bob", iat=now - 1)))
    assert not reader.view.is_revoked(claims("j4", sub="bob", iat=now))


async def test_more_concurrent_revocations_than_pooled_connections_all_succeed(
    stores: Callable[..., Any],
) -> None:
    # redis-py's own pool fails the 101st concurrent command at once (MaxConnectionsError:
    # 150 concurrent logouts gave 49 errors); jwtauth's waits for a free connection.
    writer: RedisRevocationStore = await stores()
    reader: RedisRevocationStore = await stores()
    burst = MAX_CONNECTIONS + 100
    expires = time.time() + 600
    await asyncio.gather(*(writer.revoke_token(ISS, f"j{n}", expires) for n in range(burst)))
    await wait_until(lambda: all(reader.view.is_revoked(claims(f"j{n}")) for n in range(burst)))


async def test_a_connection_left_stale_by_a_redis_restart_is_retried_not_failed(
    tmp_path: Path, ns: Namespace
) -> None:
    with private_redis(tmp_path) as redis:
        async with RedisRevocationStore(redis.url, **ns.options) as store:
            expires = time.time() + 600
            await store.revoke_token(ISS, "before", expires)  # a connection is now pooled
            redis.kill()
            redis.start()  # the same port, empty: the pooled connection is dead
            await store.revoke_token(ISS, "after", expires)  # no ConnectionError
            assert store.view.is_revoked(claims("after"))
            check = Redis.from_url(redis.url)
            try:
                assert await check.dbsize() >= 1  # it reached the restarted server
            finally:
                await check.aclose()


async def test_a_store_started_later_loads_earlier_revocations(
    stores: Callable[..., Any],
) -> None:
    writer: RedisRevocationStore = await stores()
    now = time.time()
    for n in range(2_500):  # more than one SCAN batch
        await writer.revoke_token(ISS, f"j{n}", expires_at=now + 600)
    await writer.revoke_session(ISS, "s1", expires_at=now + 600)
    await writer.revoke_subject(ISS, "bob", before=now)
    late: RedisRevocationStore = await stores()  # nothing published reaches it: only SCAN
    assert all(late.view.is_revoked(claims(f"j{n}")) for n in range(2_500))
    assert late.view.is_revoked(claims("x", sid="s1"))
    assert late.view.is_revoked(claims("y", sub="bob", iat=now - 1))
    assert not late.view.is_revoked(claims("z"))


async def test_a_cutoff_never_moves_backwards_in_redis(stores: Callable[..., Any]) -> None:
    first: RedisRevocationStore = await stores()
    second: RedisRevocationStore = await stores()
    now = time.time()
    await first.revoke_subject(ISS, "bob", before=now)
    await second.revoke_subject(ISS, "bob", before=now - 100)  # a slower writer, racing
    late: RedisRevocationStore = await stores()
    assert late.view.is_revoked(claims(sub="bob", iat=now - 50))


async def test_revocation_written_while_the_subscription_is_down_is_recovered(
    stores: Callable[..., Any], admin: Redis
) -> None:
    writer: RedisRevocationStore = await stores()
    reader: RedisRevocationStore = await stores()
    # Every subscriber's connection drops (other sessions' too: recovering is their job as well).
    await admin.client_kill_filter(_type="pubsub")
    start = time.perf_counter()
    await writer.revoke_token(ISS, "j1", expires_at=time.time() + 600)
    await wait_until(lambda: reader.view.is_revoked(claims("j1")))
    assert time.perf_counter() - start < BOUND
    await writer.revoke_token(ISS, "j2", expires_at=time.time() + 600)  # and it follows again
    await wait_until(lambda: reader.view.is_revoked(claims("j2")))
    assert await reader.ping()


async def test_a_lost_message_is_recovered_by_the_rescan(
    stores: Callable[..., Any], admin: Redis, ns: Namespace
) -> None:
    # A write whose message nobody hears (published on another channel) is exactly what a
    # subscriber misses while disconnected: only the re-scan after reconnecting can find it.
    reader: RedisRevocationStore = await stores()
    unheard: RedisRevocationStore = await stores(channel=f"{ns.channel}:nobody-listens")
    heard: RedisRevocationStore = await stores()
    now = time.time()
    await unheard.revoke_token(ISS, "lost", expires_at=now + 600)
    await heard.revoke_token(ISS, "marker", expires_at=now + 600)
    await wait_until(lambda: reader.view.is_revoked(claims("marker")))
    assert not reader.view.is_revoked(claims("lost"))  # the message really was lost

    await admin.client_kill_filter(_type="pubsub")
    await wait_until(lambda: reader.view.is_revoked(claims("lost")))


class SilencingProxy:
    """A TCP relay to Redis that can make the subscriptions going through it fall silent.

    A dead network path sends no FIN and no RST: bytes just stop. The relay reproduces that for
    connections that have subscribed (both directions dropped, sockets left open), while new
    connections pass as before, so nothing but the store under test is disturbed.
    """

    def __init__(self, redis_url: str) -> None:
        parts = urlsplit(redis_url)
        self._upstream = (parts.hostname or "127.0.0.1", parts.port or 6379)
        self._path = parts.path
        self._silenced: list[dict[str, bool]] = []
        self._connections: list[dict[str, bool]] = []
        self._writers: list[asyncio.StreamWriter] = []
        self._pumps: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> str:
        """Start relaying; return the Redis URL that goes through the relay."""
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        return f"redis://127.0.0.1:{port}{self._path}"

    async def __aexit__(self, *exc_info: object) -> None:
        self._server.close()
        for writer in self._writers:
            writer.close()
        for pump in self._pumps:
            pump.cancel()
        await asyncio.gather(*self._pumps, return_exceptions=True)
        await self._server.wait_closed()

    def silence_subscriptions(self) -> None:
        for connection in self._connections:
            if connection["subscriber"]:
                connection["silent"] = True

    async def _relay(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        server_r, server_w = await asyncio.open_connection(*self._upstream)
        self._writers += [client_w, server_w]
        connection = {"subscriber": False, "silent": False}
        self._connections.append(connection)
        for source, sink, upstream in ((client_r, server_w, True), (server_r, client_w, False)):
            pump = asyncio.create_task(self._pump(source, sink, connection, upstream=upstream))
            self._pumps.add(pump)

    async def _pump(
        self,
        source: asyncio.StreamReader,
        sink: asyncio.StreamWriter,
        connection: dict[str, bool],
        *,
        upstream: bool,
    ) -> None:
        while data := await source.read(65_536):
            if upstream and b"SUBSCRIBE" in data.upper():
                connection["subscriber"] = True
            if not connection["silent"]:
                sink.write(data)
                await sink.drain()
        sink.close()


async def test_a_silent_subscription_is_noticed_and_replaced(
    redis_url: str, ns: Namespace, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="jwtauth.stores.redis")
    proxy = SilencingProxy(redis_url)
    async with (
        proxy as relayed_url,
        RedisRevocationStore(relayed_url, heartbeat_interval=0.1, **ns.options) as reader,
        RedisRevocationStore(redis_url, **ns.options) as writer,
    ):
        proxy.silence_subscriptions()
        await writer.revoke_token(ISS, "j1", expires_at=time.time() + 600)  # lost on the way
        await wait_until(lambda: reader.view.is_revoked(claims("j1")))
        assert "no answer to PING" in caplog.text
        await writer.revoke_token(ISS, "j2", expires_at=time.time() + 600)  # following again
        await wait_until(lambda: reader.view.is_revoked(claims("j2")))


async def test_every_key_expires(stores: Callable[..., Any], admin: Redis, ns: Namespace) -> None:
    store: RedisRevocationStore = await stores()
    now = time.time()
    await store.revoke_token(ISS, "j1", expires_at=now + 600)
    await store.revoke_session(ISS, "s1", expires_at=now + 600)
    await store.revoke_subject(ISS, "bob", before=now)
    keys = await all_keys(admin, ns.prefix)
    assert len(keys) == 3
    for key in keys:
        assert await admin.ttl(key) > 0, key  # -1 would mean "kept for ever"


async def test_key_layout_and_message_format(
    stores: Callable[..., Any], admin: Redis, ns: Namespace
) -> None:
    listener = admin.pubsub(ignore_subscribe_messages=True)
    await listener.subscribe(ns.channel)
    store: RedisRevocationStore = await stores(clock=FrozenClock(NOW))
    await store.revoke_token(ISS, "j2", expires_at=NOW + 600)
    message = await next_message(listener)
    await listener.aclose()  # type: ignore[no-untyped-call]
    entry = "jti:https%3A%2F%2Fauth.test%2Ftenant%3Aa:j2"
    assert message["data"] == f"{entry} 1700000600.0".encode()
    assert await admin.get(ns.prefix + entry) == b"1700000600.0"


async def test_the_token_itself_never_reaches_redis(
    stores: Callable[..., Any], admin: Redis, ns: Namespace
) -> None:
    listener = admin.pubsub(ignore_subscribe_messages=True)
    await listener.subscribe(ns.channel)
    store: RedisRevocationStore = await stores()
    manager = make_manager(issuer=ISS, clock=FrozenClock(time.time()), revocations=store.view)
    token = manager.issue("alice", claims={"sid": "s1"})
    verified = manager.verify(token)
    await store.revoke_token(ISS, verified["jti"], verified["exp"])
    await store.revoke_session(ISS, verified["sid"], verified["exp"])
    await store.revoke_subject(ISS, verified["sub"], verified["iat"] + 1)

    ours: list[bytes] = []
    for key in await all_keys(admin, ns.prefix):
        assert await admin.type(key) == b"string"
        value = await admin.get(key)
        assert isinstance(value, bytes)
        ours += [key, value]
    for _ in range(3):
        ours.append((await next_message(listener))["data"])
    await listener.aclose()  # type: ignore[no-untyped-call]
    assert len(ours) == 9  # three keys, three values, three messages
    seen = ours + await all_keys(admin)  # and no key anywhere in the database
    _header, payload, signature = token.encode().split(b".")
    for blob in seen:
        assert token.encode() not in blob
        assert payload not in blob
        assert signature not in blob


async def test_malformed_messages_are_ignored(
    stores: Callable[..., Any], admin: Redis, ns: Namespace, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="jwtauth.stores.redis")
    reader: RedisRevocationStore = await stores()
    for junk in (b"", b"nonsense", b"jti:a:b nan", b"xxx:a:b 1.0", b"jti:a:%ff 1.0"):
        await admin.publish(ns.channel, junk)
    await admin.set(f"{ns.prefix}garbage", b"1.0", ex=60)
    writer: RedisRevocationStore = await stores()  # loads the garbage key, skips it
    await writer.revoke_token(ISS, "j1", expires_at=time.time() + 600)
    await wait_until(lambda: reader.view.is_revoked(claims("j1")))
    assert caplog.text.count("ignoring malformed entry") >= 6
    assert await reader.ping()


async def test_lifecycle(redis_url: str, ns: Namespace) -> None:
    store = RedisRevocationStore(redis_url, **ns.options)
    assert await store.ping()  # before start: Redis answers, nothing to be stale yet
    await store.start()
    with pytest.raises(RuntimeError, match="already started"):
        await store.start()
    assert await store.ping()
    await store.close()
    await store.close()  # harmless
    with pytest.raises(RuntimeError, match="closed"):
        await store.start()


async def test_start_fails_when_redis_is_unreachable() -> None:
    store = RedisRevocationStore("redis://127.0.0.1:1/0")
    assert not await store.ping()
    with pytest.raises(RedisConnectionError):
        await store.start()
    await store.close()


# A real second process ----------------------------------------------------------------------

CHILD = """
import asyncio, sys
from jwtauth.stores.redis import RedisRevocationStore

async def main() -> None:
    url, channel, prefix, iss, jti = sys.argv[1:6]
    async with RedisRevocationStore(url, channel=channel, key_prefix=prefix) as store:
        print("ready", flush=True)
        token = {"iss": iss, "sub": "alice", "jti": jti, "iat": 0}
        while not store.view.is_revoked(token):
            await asyncio.sleep(0.001)
        print("revoked", flush=True)

asyncio.run(main())
"""


async def test_a_revocation_reaches_another_process_within_the_bound(
    stores: Callable[..., Any], redis_url: str, ns: Namespace
) -> None:
    store: RedisRevocationStore = await stores()
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CHILD, redis_url, ns.channel, ns.prefix, ISS, "j-child",
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert child.stdout is not None
    try:
        assert await asyncio.wait_for(child.stdout.readline(), 30) == b"ready\n"
        start = time.perf_counter()
        await store.revoke_token(ISS, "j-child", expires_at=time.time() + 600)
        line = await asyncio.wait_for(child.stdout.readline(), 5)
        latency = time.perf_counter() - start
        assert line == b"revoked\n"
        assert latency < BOUND
        assert await asyncio.wait_for(child.wait(), 10) == 0
    finally:
        if child.returncode is None:
            child.kill()
        await child.communicate()
