"""The auth server's API as one ASGI app that a host application mounts, with its life.

``jwtauth serve`` is this app with a lifespan and the health routes. A host application (FastAPI
or Starlette, and Flask or Django through :mod:`jwtauth.integrations`) mounts the same app under
``/auth`` and ``/.well-known``, so that it serves the same endpoints (docs/api.md) with the same
stores, policies, rate limits, lockout, transport, security headers and problem+json errors.
The host runs :meth:`EmbeddedAuth.lifespan` (or :meth:`start` and :meth:`close`); until then
every request to the mounted routes answers ``503`` (docs/decisions/022-embedded-auth.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from starlette.routing import BaseRoute, Mount
from starlette.types import ASGIApp, Receive, Scope, Send

from jwtauth.auth.lockout import Lockout
from jwtauth.auth.mfa import MfaService
from jwtauth.auth.passwords import PasswordHasher, PasswordPolicy
from jwtauth.auth.service import AuthService, ClaimsHook, ServicePolicy, load_claims_hook
from jwtauth.config import Settings
from jwtauth.errors import ConfigurationError
from jwtauth.hygiene.redaction import install_redaction
from jwtauth.integrations._http import Authenticator, mark_public
from jwtauth.keys.keyring import KeyRing
from jwtauth.lifecycle.managed import keyring_source
from jwtauth.lifecycle.sync import open_keyring
from jwtauth.manager import TokenManager
from jwtauth.ratelimit import MemoryRateLimiter, RatePolicy, TrustedProxies
from jwtauth.redis_namespace import redis_namespace
from jwtauth.server.deps import ServerState
from jwtauth.server.metrics import MetricsAccess, ServerMetrics
from jwtauth.server.middleware import (
    BodyDeadlineMiddleware,
    BodyLimitMiddleware,
    HTTPSRequiredMiddleware,
    SecurityHeadersMiddleware,
)
from jwtauth.server.openapi import document
from jwtauth.server.problems import install_problem_handlers, problem
from jwtauth.server.routes import auth, claims, mfa, wellknown
from jwtauth.server.throttle import Throttle
from jwtauth.server.transport import Transport
from jwtauth.stores.durable import DurableRevocationStore, PropagatingStore
from jwtauth.stores.memory import MemoryRevocationStore
from jwtauth.stores.sql import SQLStore
from jwtauth.stores.sql_database import head_revision, upgrade
from jwtauth.stores.sql_lockout import SQLLockoutStore
from jwtauth.stores.sql_mfa import SQLMfaStore
from jwtauth.types import LockoutPolicy, UserProvider

__all__ = ["MOUNTED_PREFIXES", "EmbeddedAuth"]

MOUNTED_PREFIXES = ("/auth", "/.well-known")
"""The path prefixes a host application routes to :attr:`EmbeddedAuth.app`."""

_log = logging.getLogger("jwtauth.server")


def _policies(settings: Settings) -> dict[str, RatePolicy]:
    return {
        "login-ip": RatePolicy("login-ip", settings.rate_limit_login, 60),
        "login-account": RatePolicy("login-account", settings.rate_limit_login, 60),
        "register-ip": RatePolicy("register-ip", settings.rate_limit_register, 60),
        "refresh-user": RatePolicy("refresh-user", settings.rate_limit_refresh, 60),
        # Refresh tokens that cannot refresh (unknown, spent, revoked), per client address.
        "refresh-ip": RatePolicy("refresh-ip", settings.rate_limit_refresh, 60),
        # Changing the password checks the current one: a guessing vector for a stolen token.
        "password-user": RatePolicy("password-user", settings.rate_limit_login, 60),
        # Second-factor codes (and disabling TOTP, which checks the password) per user.
        "mfa-user": RatePolicy("mfa-user", settings.rate_limit_mfa, 60),
    }


def _rate_limiter(settings: Settings, issuer: str) -> Any:
    if settings.redis_url is None:
        return MemoryRateLimiter()
    from jwtauth.ratelimit.redis import RedisRateLimiter  # noqa: PLC0415 - optional backend

    namespace = redis_namespace(settings.redis_namespace, issuer)
    return RedisRateLimiter(settings.redis_url.get_secret_value(), namespace=namespace)


def _revocation_store(settings: Settings, issuer: str) -> DurableRevocationStore:
    # The database is the source of truth; Redis (or this process's memory) only propagates
    # (issue 14). The SQL store is bound at start, when it exists.
    propagation: PropagatingStore
    if settings.redis_url is None:
        propagation = MemoryRevocationStore(max_token_lifetime=settings.session_ttl)
    else:
        from jwtauth.stores.redis import RedisRevocationStore  # noqa: PLC0415 - optional backend

        propagation = RedisRevocationStore(
            settings.redis_url.get_secret_value(),
            namespace=redis_namespace(settings.redis_namespace, issuer),
            max_token_lifetime=settings.session_ttl,
        )
    return DurableRevocationStore(
        propagation,
        max_token_lifetime=settings.session_ttl,
        poll_interval=settings.revocation_poll_interval,
        max_staleness=settings.revocation_max_staleness,
        fail_open=settings.revocation_fail_open,
    )


class EmbeddedAuth:
    """The auth API (register, login, refresh, logout, sessions, password, TOTP, JWKS) as an
    ASGI app, and the stores it runs on.

    Args:
        settings: the configuration (``Settings.load()`` when omitted); the same names as
            ``jwtauth serve``, checked here, so a bad configuration fails at start.
        host, port: where the host listens; the default issuer outside production.
        users: where users live; the server's own ``users`` table when omitted. A host
            application passes a provider for its own user table.
        hasher: checks and makes password hashes; argon2id when omitted. A host whose users
            carry another hash format passes an adapter for it.
        claims_hook: extra claims for access tokens; else the function
            ``JWTAUTH_CLAIMS_HOOK`` names.
        registration: serve ``POST /auth/register`` (a host with its own sign-up turns it off:
            the route answers 404).
        tokens: a token manager the host built already (its keyring, issuer, audience and
            lifetime, as a framework's own settings describe them); its revocation view becomes
            this auth's store's. Else one is built from ``settings``.
        realm: the ``realm`` of the ``WWW-Authenticate`` challenge on every 401 of the auth
            routes and of the host's routes this auth's :attr:`authenticator` protects; else
            ``settings.realm`` (``JWTAUTH_REALM``, ``jwtauth`` as ``jwtauth serve``).
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 8000,
        users: UserProvider | None = None,
        hasher: PasswordHasher | None = None,
        claims_hook: ClaimsHook | None = None,
        registration: bool = True,
        tokens: TokenManager | None = None,
        realm: str | None = None,
    ) -> None:
        self.settings = settings = settings if settings is not None else Settings.load()
        self.realm = realm if realm is not None else settings.realm
        # Before anything logs: every handler redacts tokens and these credentials (decision 019).
        install_redaction(secrets=settings.secret_values())
        # Static keys, or what the managed keyring needs; every key check runs here.
        self._keyring = tokens.keyring if tokens is not None else keyring_source(settings)
        self.issuer = (
            tokens.factory.issuer if tokens is not None else settings.issuer_for(host, port)
        )
        self._database_url = settings.database_url_for_state()
        if claims_hook is None and settings.claims_hook is not None:
            claims_hook = load_claims_hook(settings.claims_hook)
        self._claims_hook = claims_hook
        self.revocations = _revocation_store(settings, self.issuer)
        # Built now, so that the host can protect its own routes with it before the start;
        # until then a managed keyring is empty (every token is refused), and the start
        # installs the loaded one.
        if tokens is None:
            tokens = TokenManager(
                self._keyring if isinstance(self._keyring, KeyRing) else KeyRing(None),
                issuer=self.issuer,
                audience=settings.audience,
                ttl=settings.access_ttl,
                leeway=settings.leeway,
            )
        tokens.revocations = self.revocations.view
        self.tokens = tokens
        self.authenticator: Authenticator = _Authenticator(self)
        self._users = users
        self._hasher = hasher
        self._stack: AsyncExitStack | None = None
        self.state: ServerState | None = None
        self._registration = registration
        self.app = self._build()

    # The ASGI app -----------------------------------------------------------------------------

    def _build(self) -> FastAPI:
        settings = self.settings
        app = FastAPI(
            title="jwtauth",
            summary="JWT authentication server",
            version="0.1.0",
            # No interactive docs: they load scripts from a CDN, which our CSP forbids.
            docs_url=None,
            redoc_url=None,
            # FastAPI's OpenTelemetry hooks ask the environment for providers on every request
            # (about 10 us here) and would export exception messages and stack traces; the
            # server has its own metrics and security events (decision 012).
            telemetry={"tracing": False, "metrics": False, "logs": False},
            lifespan=lambda _app: self.lifespan(),
        )
        # A slash redirect would answer with the request's Host and scheme: a 307 to
        # http://evil.example/auth/login re-sends the password there (issue 13, item 3).
        app.router.redirect_slashes = False
        install_problem_handlers(app)
        app.state.realm = self.realm  # the problem handlers' challenge reads it
        # Innermost: a refusal above (HTTPS, not started) reads no body at all; every route
        # behind it gets at most the limit, however the body is framed (issue 13, item 11).
        app.add_middleware(BodyLimitMiddleware, limit=settings.max_request_body)
        # Around the limit, so the route's wait for a slow body is bounded too (issue 14).
        app.add_middleware(BodyDeadlineMiddleware, timeout=settings.body_timeout)
        origin = settings.https_origin(self.issuer)
        if origin is not None:
            app.add_middleware(
                HTTPSRequiredMiddleware,
                mode=settings.https,
                origin=origin,
                trusted_proxies=settings.trusted_proxies,
            )
        app.add_middleware(_RequireStarted, auth=self)
        # Added last, so it is outermost: refusals from the middleware above get the headers.
        app.add_middleware(
            SecurityHeadersMiddleware,
            production=settings.is_production,
            trusted_proxies=settings.trusted_proxies,
        )
        # First, so that matching the hottest request does not scan every API route before it.
        app.add_route(claims.PATH, claims.claims, methods=["GET"], name="claims")
        app.include_router(auth.router)
        app.include_router(wellknown.router)
        if settings.mfa:
            mfa.install(app)
        document(app, settings, {claims.PATH: claims.OPENAPI})
        return app

    @property
    def routes(self) -> list[BaseRoute]:
        """Routes for a Starlette host: ``Starlette(routes=[*auth.routes, ...])``, with
        :meth:`lifespan` in the host's lifespan."""
        return [
            Mount(prefix, app=_FullPath(self.app, prefix), name=f"jwtauth{prefix}")
            for prefix in MOUNTED_PREFIXES
        ]

    @property
    def router(self) -> APIRouter:
        """A router for a FastAPI host, ``app.include_router(auth.router)``: the auth API under
        ``/auth`` and ``/.well-known``, started and closed by the host's lifespan. The mounted
        routes answer for themselves (their own errors, headers and token checks), so
        :meth:`jwtauth.integrations.fastapi.JWTAuth.protect` counts them as public."""
        return APIRouter(routes=self.routes, lifespan=lambda _app: self.lifespan())

    # Its life ---------------------------------------------------------------------------------

    @property
    def started(self) -> bool:
        """Whether :meth:`start` has run (and :meth:`close` not since)."""
        return self.state is not None

    @property
    def service(self) -> AuthService:
        """The running auth service (issue, refresh, revoke from host code).

        Raises:
            ConfigurationError: not started.
        """
        if self.state is None:
            raise ConfigurationError("the embedded auth is not started")
        return self.state.service

    async def start(self) -> None:
        """Open the stores and load the keyring; development databases are migrated here
        (production runs ``jwtauth db upgrade``). Idempotent."""
        if self._stack is not None:
            return
        settings = self.settings
        async with AsyncExitStack() as stack:
            if not settings.is_production:
                if settings.database_url is None:
                    settings.state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
                await asyncio.to_thread(upgrade, self._database_url)
            # pool_size open, as many again in bursts: with N processes the database sees up to
            # 2 * N * JWTAUTH_DATABASE_POOL_SIZE connections (docs/capacity.md).
            pool = settings.database_pool_size
            store = SQLStore(self._database_url, pool_size=pool, max_overflow=pool)
            stack.push_async_callback(store.close)  # closed last, whatever the others do
            if settings.is_production and await store.schema_revision() != head_revision():
                raise ConfigurationError(
                    "the database schema is not current; run: jwtauth db upgrade"
                )
            revocations = self.revocations
            revocations.bind(store)  # the rows live beside the sessions they revoke
            await revocations.start()  # the propagation store's too, then every live row
            stack.push_async_callback(_quietly, revocations.close)
            keys = await open_keyring(store, self._keyring)  # decision 017
            service = self._service(store)
            # Building it sets service.second_factor: login then challenges enrolled users.
            mfa_service = MfaService(service, SQLMfaStore(store)) if settings.mfa else None
            limiter = _rate_limiter(settings, self.issuer)
            stack.push_async_callback(_quietly, limiter.close)
            metrics = ServerMetrics(
                MetricsAccess.configure(settings.metrics_allow, settings.metrics_token)
            )
            metrics.start()
            stack.callback(metrics.stop)
            # Installs the loaded keyring into self.tokens and keeps it current (rotation).
            # The revoke-all cut-off is durable in the keyring table already: applied to the
            # views (and Redis) only, not recorded again by every process at every start.
            following = keys.following(self.tokens, revocations.propagation)
            await stack.enter_async_context(following)
            throttle = Throttle(limiter, _policies(settings), enabled=settings.rate_limits)
            transport = Transport.configure(
                cookies=settings.cookie_transport, fingerprint=settings.token_fingerprint
            )
            self.state = ServerState(
                service,
                TrustedProxies.parse(settings.trusted_proxies),
                metrics,
                throttle,
                transport,
                mfa_service,
                registration=self._registration,
                ipv6_prefix=settings.ipv6_rate_limit_prefix,
            )
            self.app.state.jwtauth = self.state
            self._stack = stack.pop_all()

    async def close(self) -> None:
        """Close what :meth:`start` opened (idempotent)."""
        stack, self._stack, self.state = self._stack, None, None
        if stack is not None:
            await stack.aclose()

    @asynccontextmanager
    async def lifespan(self) -> AsyncIterator[None]:
        """:meth:`start`, then :meth:`close` on exit: a host application's lifespan."""
        await self.start()
        try:
            yield
        finally:
            await self.close()

    def _service(self, store: SQLStore) -> AuthService:
        settings = self.settings
        return AuthService(
            tokens=self.tokens,
            users=self._users if self._users is not None else store,
            refresh=store,
            revocations=self.revocations,
            hasher=self._hasher or PasswordHasher(),
            password_policy=PasswordPolicy(
                min_length=settings.password_min_length, min_score=settings.password_min_score
            ),
            policy=ServicePolicy(
                access_ttl=settings.access_ttl,
                refresh_ttl=settings.refresh_ttl,
                session_ttl=settings.session_ttl,
                max_sessions=settings.max_sessions,
            ),
            lockout=Lockout(
                SQLLockoutStore(store) if settings.lockout else None,
                LockoutPolicy(settings.lockout_threshold, settings.lockout_period),
            ),
            claims_hook=self._claims_hook,
        )


class _Authenticator(Authenticator):
    """Verifies with the embedded auth's token manager; its start and close are the embedded
    auth's, so that the host's protection (``JWTAuth(auth.authenticator)``, a WSGI
    adapter's runtime) runs the auth's life."""

    __slots__ = ("_auth",)

    def __init__(self, auth: EmbeddedAuth) -> None:
        super().__init__(auth.tokens, realm=auth.realm)  # checks the realm can be quoted
        self._auth = auth

    async def start(self) -> None:
        await self._auth.start()

    async def close(self) -> None:
        await self._auth.close()


@mark_public
class _FullPath:
    """The mounted auth app sees the whole path (``/auth/login``, as its routes are declared),
    not the rest after the mount point."""

    def __init__(self, app: ASGIApp, prefix: str) -> None:
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        root_path: str = scope.get("root_path", "")
        scope = {**scope, "root_path": root_path.removesuffix(self.prefix)}
        await self.app(scope, receive, send)


class _RequireStarted:
    """Answers 503 problem+json until the host has started the auth (a missing lifespan),
    instead of a 500 from a missing state; says once in the log what is missing."""

    def __init__(self, app: ASGIApp, auth: EmbeddedAuth) -> None:
        self.app = app
        self.auth = auth
        self._told = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.auth.started:
            await self.app(scope, receive, send)
            return
        if not self._told:
            self._told = True
            _log.error(
                "jwtauth: a request reached the auth routes before EmbeddedAuth.start(); "
                "run its lifespan in the host application's"
            )
        response = problem(503, "The authentication service is not started.", code="not_ready")
        await response(scope, receive, send)


async def _quietly(close: Any) -> None:
    if close is not None:
        with contextlib.suppress(Exception):
            await close()
