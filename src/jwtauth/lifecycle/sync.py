"""One process's view of the shared keyring and revoke-all cut-off, kept current from SQL.

:class:`KeyringSync` opens the managed keyring (creating it on first use), rotates it with a
compare-and-set, and, in a server, follows it: every ``poll_interval`` seconds it reads the one
``keyring_state`` row, and when the version moved it reloads the keys into the
:class:`~jwtauth.manager.TokenManager` and applies a new revoke-all cut-off to the revocation
store. It also drops a retiring key once its grace ends, and runs the automatic rotation.

Bound: a rotation or revoke-all made anywhere is in force in every process within
``poll_interval`` plus one query (the default is 5 s). A revoke-all also travels through Redis
pub/sub when Redis is configured, which takes milliseconds; the poll is its backstop. The grace
of a retiring key includes ``poll_interval``, since a process that has not yet noticed a rotation
still signs with the old key.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Sequence

from jwtauth.errors import KeyRotationError
from jwtauth.keys.key import Key
from jwtauth.keys.keyring import KeyRing
from jwtauth.lifecycle.managed import ManagedKeyring
from jwtauth.lifecycle.rotation import (
    KeyRecord,
    KeyState,
    build_keyring,
    first_keys,
    live_records,
    next_change,
    replace_all,
    rotate,
    rotation_due,
)
from jwtauth.lifecycle.sql import KeyringSnapshot, SQLKeyringStore
from jwtauth.manager import TokenManager
from jwtauth.stores.sql import SQLStore
from jwtauth.types import Clock, RevocationStore

__all__ = ["KeyringSync", "open_keyring"]

_log = logging.getLogger("jwtauth.keys")
_STATIC_POLL = 5.0  # a static keyring follows only the revoke-all cut-off


class KeyringSync:
    """The managed (or static) keyring of one process, and its revoke-all cut-off.

    Args:
        store: the keyring tables.
        source: a static :class:`KeyRing` (only the revoke-all cut-off is followed) or the
            managed keyring's configuration.
        clock: the time source.
    """

    def __init__(
        self, store: SQLKeyringStore, source: KeyRing | ManagedKeyring, clock: Clock = time.time
    ) -> None:
        self._store = store
        self._managed = source if isinstance(source, ManagedKeyring) else None
        self._keyring: KeyRing | None = source if isinstance(source, KeyRing) else None
        self._clock = clock
        self._keys: dict[str, Key] = {}  # kept, so a reload keeps each key object (cache hits)
        self._snapshot = KeyringSnapshot(-1, None, ())
        self._applied_cutoff: float | None = None
        self._rebuild_at: float | None = None
        self._tokens: TokenManager | None = None
        self._revocations: RevocationStore | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def keyring(self) -> KeyRing:
        """The keyring in force in this process."""
        if self._keyring is None:
            raise KeyRotationError("the managed keyring has not been loaded")
        return self._keyring

    @property
    def records(self) -> tuple[KeyRecord, ...]:
        """The stored records as last loaded (retired ones included)."""
        return self._snapshot.records

    @property
    def poll_interval(self) -> float:
        """Seconds between two checks of the stored state."""
        return self._managed.poll_interval if self._managed is not None else _STATIC_POLL

    # Loading -----------------------------------------------------------------------------------

    async def load(self) -> KeyRing:
        """Read the stored state; create the managed keyring first if there is none."""
        snapshot = await self._store.snapshot()
        if self._managed is not None and not snapshot.records:
            managed = self._managed
            active = managed.seed if managed.seed is not None else managed.new_key()
            new = {k.kid: k for k in (active, managed.new_key())}
            records = first_keys(self._clock(), *new.values())
            if await self._store.save(snapshot.version, records, new) is not None:
                _log.info("keyring: created with active key %s", active.kid)
            snapshot = await self._store.snapshot()  # ours, or the one that won the race
        await self._install(snapshot)
        return self.keyring

    async def _install(self, snapshot: KeyringSnapshot) -> None:
        if self._managed is not None and snapshot.version != self._snapshot.version:
            live = live_records(snapshot.records, self._clock())
            missing = [r for r in live if r.kid not in self._keys]
            self._keys.update(await self._store.keys(missing))
            self._snapshot = snapshot
            self._set_keyring()
        self._snapshot = snapshot
        await self._apply_cutoff(snapshot.revoked_before)

    def _set_keyring(self) -> None:
        now = self._clock()
        records = self._snapshot.records
        self._keyring = build_keyring(records, self._keys, now)
        live = {r.kid for r in live_records(records, now)}
        self._keys = {kid: key for kid, key in self._keys.items() if kid in live}
        self._rebuild_at = next_change(records, now)
        if self._tokens is not None:
            self._tokens.keyring = self._keyring

    async def _apply_cutoff(self, before: float | None) -> None:
        if before is None or (self._applied_cutoff is not None and before <= self._applied_cutoff):
            return
        if self._revocations is not None:
            await self._revocations.revoke_all(before)
            self._applied_cutoff = before

    # Following ---------------------------------------------------------------------------------

    async def attach(self, tokens: TokenManager, revocations: RevocationStore) -> None:
        """Keep ``tokens``' keyring and ``revocations``' cut-off current from now on."""
        self._tokens = tokens
        self._revocations = revocations
        tokens.keyring = self.keyring
        await self._apply_cutoff(self._snapshot.revoked_before)

    async def refresh(self) -> bool:
        """One check: reload when the stored version moved, drop keys whose grace ended, and
        rotate when the automatic rotation is due. True when the keyring changed."""
        before = self._keyring
        version, _ = await self._store.state()
        if version != self._snapshot.version:
            await self._install(await self._store.snapshot())
        elif self._rebuild_at is not None and self._clock() >= self._rebuild_at:
            self._set_keyring()
        await self._rotate_if_due()
        return self._keyring is not before

    async def _rotate_if_due(self) -> None:
        managed = self._managed
        if managed is None or managed.rotation_period is None or not self._snapshot.records:
            return
        if not rotation_due(self._snapshot.records, self._clock(), managed.rotation_period):
            return
        try:
            # Against the state that was found due: a process that loses the race must not
            # rotate the winner's new key straight away.
            await self._rotate(self._snapshot, force=False, compromised=False)
        except KeyRotationError as exc:
            # Another process rotated first (it is now ours too), or `next` is too new.
            _log.info("keyring: automatic rotation skipped: %s", exc.message)
            await self._install(await self._store.snapshot())
        else:
            _log.info("keyring: rotated automatically; active key %s", self.keyring.signing_key.kid)

    @contextlib.asynccontextmanager
    async def following(
        self, tokens: TokenManager, revocations: RevocationStore
    ) -> AsyncIterator[None]:
        """:meth:`attach`, then :meth:`start`; :meth:`close` on exit (a server's lifespan)."""
        await self.attach(tokens, revocations)
        self.start()
        try:
            yield
        finally:
            await self.close()

    def start(self) -> None:
        """Follow the stored state in the background until :meth:`close`."""
        if self._task is None:
            self._task = asyncio.create_task(self._follow(), name="jwtauth-keyring")

    async def _follow(self) -> None:
        while True:
            await asyncio.sleep(self.poll_interval)
            try:
                await self.refresh()
            except Exception:
                # A database hiccup must not end the follower: keep the keyring and try again.
                _log.warning("keyring: could not check the stored keyring", exc_info=True)

    async def close(self) -> None:
        """Stop following."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # Changing ----------------------------------------------------------------------------------

    async def rotate(self, *, force: bool = False, compromised: bool = False) -> KeyRing:
        """Rotate the stored keyring: read it, rotate, and write with a compare-and-set.

        ``compromised`` retires every existing key at once and starts from two new keys.

        Raises:
            KeyRotationError: another process changed the keyring since it was loaded, or
                `next` is too new (see :func:`jwtauth.lifecycle.rotation.rotate`).
        """
        return await self._rotate(
            await self._store.snapshot(), force=force, compromised=compromised
        )

    async def _rotate(
        self, snapshot: KeyringSnapshot, *, force: bool, compromised: bool
    ) -> KeyRing:
        managed = self._require_managed()
        now = self._clock()
        records: Sequence[KeyRecord]
        if compromised:
            new = [managed.new_key(), managed.new_key()]
            records = replace_all(snapshot.records, now, new[0], new[1])
        else:
            new = [managed.new_key()]
            records = rotate(snapshot.records, now, new[0], managed.policy, force=force)
        if await self._store.save(snapshot.version, records, {k.kid: k for k in new}) is None:
            raise KeyRotationError("another process changed the keyring first; nothing was done")
        self._keys.update({k.kid: k for k in new})
        await self._install(await self._store.snapshot())
        return self.keyring

    def _require_managed(self) -> ManagedKeyring:
        if self._managed is None:
            raise KeyRotationError(
                "the keyring is static (configured keys); rotation needs JWTAUTH_KEYRING=managed"
            )
        return self._managed

    def state_of(self, kid: str) -> KeyState | None:
        """The stored state of ``kid``, if it is known."""
        return next((r.state for r in self._snapshot.records if r.kid == kid), None)


async def open_keyring(
    store: SQLStore, source: KeyRing | ManagedKeyring, clock: Clock = time.time
) -> KeyringSync:
    """A loaded :class:`KeyringSync` on ``store``'s database (the schema must be current)."""
    kek = source.kek if isinstance(source, ManagedKeyring) else None
    sync = KeyringSync(SQLKeyringStore(store, kek), source, clock)
    await sync.load()
    return sync
