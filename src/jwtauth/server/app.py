"""The application factory: settings in, a FastAPI app out; stores opened by its lifespan."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from jwtauth.auth.passwords import PasswordHasher, PasswordPolicy
from jwtauth.auth.service import AuthService, ServicePolicy
from jwtauth.config import Settings
from jwtauth.errors import ConfigurationError
from jwtauth.keys.loading import load_keyring
from jwtauth.manager import TokenManager
from jwtauth.ratelimit import MemoryRateLimiter, RatePolicy
from jwtauth.server.deps import ServerState
from jwtauth.server.metrics import ServerMetrics
from jwtauth.server.middleware import SecurityHeadersMiddleware
from jwtauth.server.problems import install_problem_handlers
from jwtauth.server.routes import auth, claims, wellknown
from jwtauth.server.throttle import Throttle
from jwtauth.stores.memory import MemoryRevocationStore
from jwtauth.stores.sql import SQLStore
from jwtauth.stores.sql_database import head_revision, upgrade
from jwtauth.types import RevocationStore

__all__ = ["create_app"]


def _policies(settings: Settings) -> dict[str, RatePolicy]:
    return {
        "login-ip": RatePolicy("login-ip", settings.rate_limit_login, 60),
        "login-account": RatePolicy("login-account", settings.rate_limit_login, 60),
        "register-ip": RatePolicy("register-ip", settings.rate_limit_register, 60),
        "refresh-user": RatePolicy("refresh-user", settings.rate_limit_refresh, 60),
        # Changing the password checks the current one: a guessing vector for a stolen token.
        "password-user": RatePolicy("password-user", settings.rate_limit_login, 60),
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
    keyring = load_keyring(settings)
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
        tokens = TokenManager(
            keyring,
            issuer=issuer,
            audience=settings.audience,
            ttl=settings.access_ttl,
            leeway=settings.leeway,
            revocations=revocations.view,
        )
        service = AuthService(
            tokens=tokens,
            users=store,
            refresh=store,
            revocations=revocations,
            hasher=hasher or PasswordHasher(),
            password_policy=PasswordPolicy(
                min_length=settings.password_min_length, min_score=settings.password_min_score
            ),
            policy=ServicePolicy(
                access_ttl=settings.access_ttl,
                refresh_ttl=settings.refresh_ttl,
                session_ttl=settings.session_ttl,
                max_sessions=settings.max_sessions,
            ),
        )
        metrics = ServerMetrics()
        limiter = _rate_limiter(settings)
        throttle = Throttle(limiter, _policies(settings), enabled=settings.rate_limits)
        app.state.jwtauth = ServerState(
            service, frozenset(settings.trusted_proxies), metrics, throttle
        )
        metrics.start()
        try:
            yield
        finally:
            metrics.stop()
            with contextlib.suppress(Exception):
                await limiter.close()
            close = getattr(revocations, "close", None)
            if close is not None:
                with contextlib.suppress(Exception):
                    await close()
            await store.close()

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
    app.add_middleware(
        SecurityHeadersMiddleware,
        production=settings.is_production,
        trusted_proxies=settings.trusted_proxies,
    )
    # First, so that matching the hottest request does not scan every API route before it.
    app.add_route(claims.PATH, claims.claims, methods=["GET"], name="claims")
    app.include_router(auth.router)
    app.include_router(wellknown.router)
    _document(app, claims.PATH, claims.OPENAPI)
    return app


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
