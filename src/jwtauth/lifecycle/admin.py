"""What the `jwtauth keys rotate`, `keys list` and `revoke-all` commands do, without the CLI.

Each opens the configured database the way the server does (development migrates it first;
production requires the current schema), does its one change, and closes it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from jwtauth.config import Settings
from jwtauth.errors import ConfigurationError, KeyRotationError
from jwtauth.lifecycle.managed import ManagedKeyring, keyring_source
from jwtauth.lifecycle.rotation import KeyRecord
from jwtauth.lifecycle.sql import RevokeAllOutcome, SQLKeyringStore
from jwtauth.lifecycle.sync import KeyringSync, open_keyring
from jwtauth.redis_namespace import redis_namespace
from jwtauth.stores.sql import SQLStore
from jwtauth.stores.sql_database import head_revision, upgrade

__all__ = ["list_keys", "revoke_all", "rotate_keys"]


@asynccontextmanager
async def _database(settings: Settings) -> AsyncIterator[SQLStore]:
    url = settings.database_url_for_state()
    if not settings.is_production:
        if settings.database_url is None:
            settings.state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        await asyncio.to_thread(upgrade, url)
    store = SQLStore(url, pool_size=0)
    try:
        if settings.is_production and await store.schema_revision() != head_revision():
            raise ConfigurationError("the database schema is not current; run: jwtauth db upgrade")
        yield store
    finally:
        await store.close()


@asynccontextmanager
async def _managed(settings: Settings) -> AsyncIterator[KeyringSync]:
    source = keyring_source(settings)
    if not isinstance(source, ManagedKeyring):
        raise KeyRotationError(
            "the keyring is static (configured keys); set JWTAUTH_KEYRING=managed to manage "
            "and rotate keys in the database"
        )
    async with _database(settings) as store:
        yield await open_keyring(store, source)


async def rotate_keys(
    settings: Settings, *, force: bool = False, compromised: bool = False
) -> tuple[KeyRecord, ...]:
    """Rotate the managed keyring once; return its records afterwards."""
    async with _managed(settings) as keys:
        await keys.rotate(force=force, compromised=compromised)
        return keys.records


async def list_keys(settings: Settings) -> tuple[KeyRecord, ...]:
    """The managed keyring's records (created first if there is none yet)."""
    async with _managed(settings) as keys:
        return keys.records


async def revoke_all(settings: Settings, before: float | None = None) -> RevokeAllOutcome:
    """Refuse every token issued before ``before`` (now), in the database for every process
    and, when Redis is configured, at once through its channel; end every live session."""
    now = time.time()
    before = now if before is None else before
    async with _database(settings) as store:
        outcome = await SQLKeyringStore(store).revoke_all(before, now)
    if settings.redis_url is not None:
        from jwtauth.stores.redis import RedisRevocationStore  # noqa: PLC0415 - optional backend

        # The servers' namespace: with no issuer configured (development), the one of the
        # default `jwtauth serve`; any other server applies the cut-off at its next poll.
        issuer = settings.issuer_for("127.0.0.1", 8000)
        shared = RedisRevocationStore(
            settings.redis_url.get_secret_value(),
            namespace=redis_namespace(settings.redis_namespace, issuer),
            max_token_lifetime=settings.session_ttl,
        )
        try:
            await shared.revoke_all(outcome.revoked_before)
        finally:
            await shared.close()
    return outcome
