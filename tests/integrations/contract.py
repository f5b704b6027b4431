"""The contract every framework adapter meets: one table of cases, run by each adapter's tests.

An adapter's test module supplies a :data:`Serve`: an async context manager that builds an
application around an :class:`Authenticator` with three routes (:data:`PROTECTED` answering the
claims as JSON, :data:`SCOPED` requiring :data:`REQUIRED_SCOPE`, :data:`PUBLIC` marked public),
runs its lifespan, and yields a function making one GET request. Then it parametrizes over
:data:`CASES` and calls :func:`check`, and runs :func:`check_logout_all_propagates` with Redis.
A synchronous framework (Django REST framework, Flask) wraps its test client in ``async def``.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from jwtauth.integrations._http import FINGERPRINT_COOKIE, PROBLEM_JSON, Authenticator
from jwtauth.keys.key import generate_key
from jwtauth.keys.keyring import KeyRing
from jwtauth.manager import TokenManager
from jwtauth.revocation import RevocationList
from jwtauth.tokens.token_type import TokenType
from jwtauth.transport.fingerprint import FINGERPRINT_CLAIM, fingerprint_hash

ISSUER = "https://auth.contract.test"
AUDIENCE = "contract-api"
REALM = "contract"
PROTECTED, SCOPED, PUBLIC = "/claims", "/scoped", "/public"
REQUIRED_SCOPE = "items:write"
LOGOUT_ALL_BOUND = 1.0  # seconds: a logout-all elsewhere is honoured within this


@dataclass(frozen=True, slots=True)
class Reply:
    """What an application answered: status, lower-cased headers, body."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


Get = Callable[[str, Mapping[str, str]], Awaitable[Reply]]
Serve = Callable[[Authenticator], AbstractAsyncContextManager[Get]]


@dataclass
class Tokens:
    """A manager (HS256, wall clock, in-process revocation) and the tokens the cases present."""

    manager: TokenManager = field(init=False)
    revocations: RevocationList = field(default_factory=RevocationList)

    def __post_init__(self) -> None:
        self.manager = TokenManager(
            KeyRing(generate_key("ES256")),
            issuer=ISSUER,
            audience=AUDIENCE,
            revocations=self.revocations,
        )

    def authenticator(self) -> Authenticator:
        return Authenticator(self.manager, realm=REALM)

    def issue(self, **claims: Any) -> str:
        return self.manager.issue("alice", claims=claims)

    def expired(self) -> str:
        past = TokenManager(
            self.manager.keyring, issuer=ISSUER, audience=AUDIENCE, clock=lambda: time.time() - 600
        )
        return past.issue("alice", ttl=60)

    def forged(self) -> str:
        # The same kid and algorithm, another private key: what a forger can produce.
        kid = self.manager.keyring.signing_key.kid
        forger = TokenManager(
            KeyRing(generate_key("ES256", kid=kid)), issuer=ISSUER, audience=AUDIENCE
        )
        return forger.issue("alice")

    def revoked(self) -> str:
        token = self.issue()
        claims = self.manager.verify(token)
        self.revocations.revoke(ISSUER, claims["jti"], claims["exp"])
        return token

    def wrong_type(self) -> str:
        return self.manager.issue("alice", token_type=TokenType("refresh", "rt+jwt"))


def bearer(token: str | None) -> dict[str, str]:
    return {} if token is None else {"Authorization": f"Bearer {token}"}


@dataclass(frozen=True, slots=True)
class Case:
    """One request and the answer every adapter must give.

    ``error`` is the challenge's RFC 6750 ``error`` attribute (``""``: a challenge without one,
    ``None``: no challenge); ``code`` the problem's code.
    """

    id: str
    path: str
    headers: Callable[[Tokens], dict[str, str]]
    status: int
    error: str | None = None
    code: str | None = None


CASES = [
    Case("valid token", PROTECTED, lambda t: bearer(t.issue()), 200),
    Case("no token", PROTECTED, lambda t: {}, 401, "", "missing_token"),
    Case("expired", PROTECTED, lambda t: bearer(t.expired()), 401, "invalid_token",
         "token_expired"),
    Case("forged", PROTECTED, lambda t: bearer(t.forged()), 401, "invalid_token", "bad_signature"),
    Case("revoked", PROTECTED, lambda t: bearer(t.revoked()), 401, "invalid_token",
         "token_revoked"),
    Case(
        "wrong type", PROTECTED, lambda t: bearer(t.wrong_type()), 401, "invalid_token",
        "wrong_token_type",
    ),
    Case(
        "other scheme", PROTECTED, lambda t: {"Authorization": f"Basic {t.issue()}"}, 401,
        "invalid_token", "malformed_token",
    ),
    Case(
        "not a JWT", PROTECTED, lambda t: bearer("not.a.token"), 401, "invalid_token",
        "malformed_token",
    ),
    Case(
        "fingerprint cookie missing", PROTECTED,
        lambda t: bearer(t.issue(**{FINGERPRINT_CLAIM: fingerprint_hash("sidecar")})), 401,
        "invalid_token", "fingerprint_mismatch",
    ),
    Case(
        "fingerprint cookie present", PROTECTED,
        lambda t: {
            **bearer(t.issue(**{FINGERPRINT_CLAIM: fingerprint_hash("sidecar")})),
            "Cookie": f"{FINGERPRINT_COOKIE}=sidecar",
        },
        200,
    ),
    Case(
        "missing scope", SCOPED, lambda t: bearer(t.issue(scope="items:read")), 403,
        "insufficient_scope", "insufficient_scope",
    ),
    Case("scope granted", SCOPED, lambda t: bearer(t.issue(scope=f"a {REQUIRED_SCOPE}")), 200),
    Case("scp list granted", SCOPED, lambda t: bearer(t.issue(scp=[REQUIRED_SCOPE])), 200),
    Case("scope without token", SCOPED, lambda t: {}, 401, "", "missing_token"),
    Case("public without token", PUBLIC, lambda t: {}, 200),
    Case("public with a bad token", PUBLIC, lambda t: bearer(t.forged()), 200),
]  # fmt: skip


async def check(serve: Serve, case: Case) -> None:
    """Run ``case`` against the application ``serve`` builds, and check the answer."""
    tokens = Tokens()
    headers = case.headers(tokens)
    async with serve(tokens.authenticator()) as get:
        reply = await get(case.path, headers)
    assert reply.status == case.status, reply.body
    challenge = reply.headers.get("www-authenticate")
    if case.status == 200:
        assert challenge is None
        if case.path == PROTECTED:
            assert reply.json()["sub"] == "alice"
        return
    assert reply.headers["content-type"].startswith(PROBLEM_JSON)
    problem = reply.json()
    assert problem["status"] == case.status
    assert problem["type"] == f"urn:jwtauth:problem:{case.code}"
    assert challenge is not None
    assert challenge.startswith(f'Bearer realm="{REALM}"')
    if case.error:
        assert f'error="{case.error}"' in challenge
        assert "error_description=" in challenge
    else:
        assert "error" not in challenge  # RFC 6750 3.1: no error code without a token
    if case.error == "insufficient_scope":
        assert f'scope="{REQUIRED_SCOPE}"' in challenge
    presented = headers.get("Authorization", "").partition(" ")[2]
    if presented:  # nothing of the token comes back, in the body or the challenge
        for part in presented.split("."):
            if len(part) > 8:
                assert part not in reply.body.decode()
                assert part not in challenge


async def check_logout_all_propagates(serve: Serve, redis_url: str) -> float:
    """A logout-all written by another Redis store (as the auth server writes it) is refused by
    the application within :data:`LOGOUT_ALL_BOUND`; returns the seconds it took."""
    from jwtauth.stores.redis import RedisRevocationStore

    # A channel and prefix of this test's own: Pub/Sub channels are shared by every database.
    unique = uuid.uuid4().hex
    options: dict[str, Any] = {"channel": f"jwtauth:test:{unique}", "key_prefix": f"t:{unique}:"}
    store = RedisRevocationStore(redis_url, **options)
    manager = TokenManager(KeyRing(generate_key("ES256")), issuer=ISSUER, audience=AUDIENCE)
    authenticator = Authenticator(manager, realm=REALM, revocations=store)
    token = manager.issue("alice")
    async with serve(authenticator) as get:
        assert (await get(PROTECTED, bearer(token))).status == 200
        writer = RedisRevocationStore(redis_url, **options)
        try:
            loop = asyncio.get_running_loop()
            await writer.revoke_subject(ISSUER, "alice", time.time())
            written = loop.time()
            while (status := (await get(PROTECTED, bearer(token))).status) == 200:
                assert loop.time() - written < LOGOUT_ALL_BOUND, "logout-all not honoured in time"
                await asyncio.sleep(0.002)  # the next poll; the deadline above bounds the wait
            took = loop.time() - written
        finally:
            await writer.close()
    assert status == 401
    return took


@asynccontextmanager
async def lifespan(app: Callable[..., Coroutine[Any, Any, None]]) -> AsyncIterator[None]:
    """Run an ASGI application's lifespan (startup, then shutdown) around the block."""
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    task = asyncio.create_task(app(scope, inbox.get, outbox.put))
    await inbox.put({"type": "lifespan.startup"})
    started = await asyncio.wait_for(outbox.get(), timeout=10)
    if started["type"] != "lifespan.startup.complete":
        await task
        raise RuntimeError(f"startup failed: {started}")
    try:
        yield
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        await asyncio.wait_for(outbox.get(), timeout=10)
        await task
