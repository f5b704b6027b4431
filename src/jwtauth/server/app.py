"""The application factory: settings in, a FastAPI app out; stores opened by its lifespan."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from jwtauth.auth.lockout import Lockout
from jwtauth.auth.mfa import MfaService
from jwtauth.auth.passwords import PasswordHasher, PasswordPolicy
from jwtauth.auth.service import AuthService, ServicePolicy
from jwtauth.config import Settings
from jwtauth.errors import ConfigurationError
from jwtauth.keys.managed import keyring_source
from jwtauth.manager import TokenManager
from jwtauth.ratelimit import MemoryRateLimiter, RatePolicy
from jwtauth.redaction import install_redaction
from jwtauth.server.deps import ServerState
from jwtauth.server.metrics import ServerMetrics
from jwtauth.server.middleware import HTTPSRequiredMiddleware, SecurityHeadersMiddleware
from jwtauth.server.problems import install_problem_handlers
from jwtauth.server.routes import auth, claims, mfa, wellknown
from jwtauth.server.throttle import Throttle
from jwtauth.server.transport import Transport
from jwtauth.stores.keyring_sync import open_keyring
from jwtauth.stores.memory import MemoryRevocationStore
from jwtauth.stores.sql import SQLStore
from jwtauth.stores.sql_database import head_revision, upgrade
from jwtauth.stores.sql_lockout import SQLLockoutStore
from jwtauth.stores.sql_mfa import SQLMfaStore
from jwtauth.types import LockoutPolicy, RevocationStore

__all__ = ["create_app"]


def _policies(settings: Settings) -> dict[str, RatePolicy]:
    return {
        "login-ip": RatePolicy("login-ip", settings.rate_limit_login, 60),
        "login-account": RatePolicy("login-account", settings.rate_limit_login, 60),
        "register-ip": RatePolicy("register-ip", settings.rate_limit_register, 60),
        "refresh-user": RatePolicy("refresh-user", settings.rate_limit_refresh, 60),
        # Changing the password checks the current one: a guessing vector for a stolen token.
        "password-user": RatePolicy("password-user", settings.rate_limit_login, 60),
        # Second-factor codes (and disabling TOTP, which checks the password) per user.
        "mfa-user": RatePolicy("mfa-user", settings.rate_limit_mfa, 60),
    }


def _rate_limiter(settings: Settings) -> Any:
    if settings.redis_url is None:
        return MemoryRateLimiter()
    from jwtauth.ratelimit.redis import RedisRateLimiter  # noqa: PLC0415 - optional backend

    return RedisRateLimiter(settings.redis_url.get_secret_value())


async def _revocation_store(settings: Settings) -> Any:
    if settings.redis_url is None:
        return MemoryRevocationStore()
    from jwtauth.stores.redis import RedisRevocationStore  # noqa: PLC0415 - optional backend

    store = RedisRevocationStore(
        settings.redis_url.get_secret_value(), max_token_lifetime=settings.session_ttl
    )
    await store.start()
    return store


def _service(
    settings: Settings,
    store: SQLStore,
    revocations: RevocationStore,
    tokens: TokenManager,
    hasher: PasswordHasher,
) -> AuthService:
    return AuthService(
        tokens=tokens,
        users=store,
        refresh=store,
        revocations=revocations,
        hasher=hasher,
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
    )


def create_app(
    settings: Settings | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    hasher: PasswordHasher | None = None,
) -> FastAPI:
    """Build the auth server. Key and configuration checks run here, so a bad configuration
    fails before the server binds a port.

    Args:
        settings: the configuration (``Settings.load()`` when omitted).
        host, port: where it will listen; the default issuer outside production.
        hasher: the password hasher (tests pass cheaper argon2 parameters).
    """
    settings = settings if settings is not None else Settings.load()
    # Before anything logs: every handler redacts tokens and these credentials (decision 019).
    install_redaction(secrets=settings.secret_values())
    keyring = keyring_source(settings)  # static keys, or the managed keyring's KEK and seed
    issuer = settings.issuer_for(host, port)
    database_url = settings.database_url_for_state()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if not settings.is_production:
            # Development runs migrations itself; production runs `jwtauth db upgrade`.
            if settings.database_url is None:
                settings.state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            await asyncio.to_thread(upgrade, database_url)
        store = SQLStore(database_url)
        if settings.is_production and await store.schema_revision() != head_revision():
            await store.close()
            raise ConfigurationError("the database schema is not current; run: jwtauth db upgrade")
        revocations: RevocationStore = await _revocation_store(settings)
        keys = await open_keyring(store, keyring)  # decision 017: shared, rotated, revoke-all
        tokens = TokenManager(
            keys.keyring,
            issuer=issuer,
            audience=settings.audience,
            ttl=settings.access_ttl,
            leeway=settings.leeway,
            revocations=revocations.view,
        )
        service = _service(settings, store, revocations, tokens, hasher or PasswordHasher())
        # Building it sets service.second_factor: login then challenges enrolled users.
        mfa_service = MfaService(service, SQLMfaStore(store)) if settings.mfa else None
        metrics = ServerMetrics()
        limiter = _rate_limiter(settings)
        throttle = Throttle(limiter, _policies(settings), enabled=settings.rate_limits)
        transport = Transport.configure(
            cookies=settings.cookie_transport, fingerprint=settings.token_fingerprint
        )
        app.state.jwtauth = ServerState(
            service, frozenset(settings.trusted_proxies), metrics, throttle, transport, mfa_service
        )
        metrics.start()
        try:
            async with keys.following(tokens, revocations):
                yield
        finally:
            metrics.stop()
            await _close(limiter, revocations, store)

    app = FastAPI(
        title="jwtauth",
        summary="JWT authentication server",
        version="0.1.0",
        # No interactive docs: they load scripts from a CDN, which our CSP forbids by design.
        docs_url=None,
        redoc_url=None,
        # FastAPI's own OpenTelemetry hooks ask the environment for providers on every request
        # (about 10 us here) and would export exception messages and stack traces; the server
        # has its own metrics and security events (decision 012).
        telemetry={"tracing": False, "metrics": False, "logs": False},
        lifespan=lifespan,
    )
    install_problem_handlers(app)
    origin = settings.https_origin(issuer)
    if origin is not None:
        app.add_middleware(
            HTTPSRequiredMiddleware,
            mode=settings.https,
            origin=origin,
            trusted_proxies=settings.trusted_proxies,
        )
    # Added last, so it is outermost: refusals from the middleware above get the headers too.
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
    _document(app, claims.PATH, claims.OPENAPI)
    return app


async def _close(limiter: Any, revocations: RevocationStore, store: SQLStore) -> None:
    """Close what the lifespan opened; the database last, whatever the others do."""
    with contextlib.suppress(Exception):
        await limiter.close()
    close = getattr(revocations, "close", None)
    if close is not None:
        with contextlib.suppress(Exception):
            await close()
    await store.close()


def _document(app: FastAPI, path: str, item: dict[str, Any]) -> None:
    """Add a plain Starlette route's path item to the OpenAPI schema FastAPI generates."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            schema["paths"] = {path: item, **schema["paths"]}
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
