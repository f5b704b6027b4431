"""Revocation with the SQL database as the source of truth, propagated by a faster store.

Before issue 14 a revocation lived only in the revocation store: in this process's memory, or
in Redis. A Redis restarted empty forgot every logout, a logout during a Redis outage reached
only the process that handled it, and several processes on SQLite without Redis never heard of
each other's logouts. :class:`DurableRevocationStore` puts a row in the ``revocations`` table
first (:mod:`jwtauth.stores.sql_revocations`) and only then propagates through the store it
wraps (Redis pub/sub, which reaches every process in milliseconds, or this process's view):

* **Writing.** The row is the revocation: if it cannot be written the call raises (the server
  answers 503) and nothing is propagated. After it is written a propagation failure (Redis
  down) is logged by exception class only and swallowed: this process's view still has it, and
  every other process finds it by polling. The auth service ends a session and records its
  revocation in one transaction (:meth:`end_session`, :meth:`end_sessions`), so a session is
  never over without its revocation on record, nor the reverse.
* **Loading.** :meth:`start` starts the wrapped store (Redis subscribes and scans) and then
  loads every live row into the view, so a process started after Redis came back empty still
  refuses a token logged out before.
* **Polling.** Every ``poll_interval`` seconds one query reads the rows stored under ids above
  the last one seen (a range scan on the primary key). On PostgreSQL ids are drawn before
  commit, so a row may become visible after a higher one: an id skipped over stays a gap, and
  the poll reads from the lowest gap, until the gap is filled or ``gap_timeout`` passes (a
  rolled-back transaction leaves a gap for ever). Applying a row twice changes nothing.
* **Re-sync.** When the wrapped store reports a gap in its own feed (the Redis subscription was
  restored: whatever was published meanwhile is lost), the next poll reloads every live row.
* **Fail closed.** The view is trusted while a feed vouches for it: the wrapped store's push
  feed is live (a Redis subscription up and loaded), or a poll succeeded less than
  ``poll_interval + max_staleness`` ago. When neither does (Redis down *and* the database
  unread), verification raises :class:`~jwtauth.errors.RevocationsUnavailableError` (a 503 with
  ``Retry-After``) rather than answer from a view that may miss a logout, unless ``fail_open``
  (:class:`~jwtauth.revocation.Freshness`). Redis down alone is no reason: the poll still reads
  every revocation, within the same bound.

Bound: a revocation made in any process is in force in every other within ``poll_interval``
plus one query, whatever Redis does; with Redis up, within milliseconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from types import TracebackType
from typing import Final, Protocol, Self, runtime_checkable

from sqlalchemy.ext.asyncio import AsyncConnection

from jwtauth.revocation import Freshness
from jwtauth.stores.memory import DEFAULT_MAX_TOKEN_LIFETIME, MemoryRevocationStore
from jwtauth.stores.sql import SQLStore
from jwtauth.stores.sql_revocations import Revocation, SQLRevocationLog
from jwtauth.types import Clock, RevocationStore, RevocationView, Rotation

__all__ = ["DurableRevocationStore", "PropagatingStore"]

_log = logging.getLogger(__name__)

_BATCH: Final = 5000  # rows a poll reads per query; more are read by further queries at once
_MAX_GAPS: Final = 1000  # ids skipped over that are remembered; a sequence jump is not a gap


@runtime_checkable
class PropagatingStore(RevocationStore, Protocol):
    """A revocation store whose local state can be written without propagating again."""

    @property
    def local(self) -> MemoryRevocationStore:
        """This process's entries; writing them reaches no other process."""
        ...


@runtime_checkable
class _PushFeed(Protocol):
    """A propagation store that says whether its feed misses nothing now (Redis pub/sub)."""

    @property
    def live(self) -> bool: ...


def _live_of(feed: _PushFeed) -> Callable[[], bool]:
    return lambda: feed.live


@runtime_checkable
class _Started(Protocol):
    async def start(self) -> None: ...

    async def close(self) -> None: ...


class DurableRevocationStore:
    """Revocations recorded in SQL, then propagated by ``propagation``; implements
    :class:`jwtauth.types.RevocationStore` and the auth service's
    :class:`jwtauth.auth.service.SessionRevocations`.

    Call :meth:`bind` with the SQL store, then :meth:`start` before serving (or ``async
    with``), and :meth:`close` at shutdown.

    Args:
        propagation: the store that carries revocations between processes fast (a
            :class:`~jwtauth.stores.redis.RedisRevocationStore`) or only keeps this process's
            view (a :class:`~jwtauth.stores.memory.MemoryRevocationStore`). Its view is this
            store's view. It is started and closed with this store.
        store: the SQL store holding the ``revocations`` table; else :meth:`bind` it later.
        clock: the time source; rows expire by it.
        retention: seconds an entry outlives the token's `exp`; as the propagation store's.
        max_token_lifetime: as the propagation store's (the longest session).
        poll_interval: seconds between two reads of new rows.
        gap_timeout: seconds an id skipped over is waited for before it counts as never
            committed.
        max_staleness: seconds past a due poll that the view stays trusted without a live push
            feed; then verification answers 503 (see the module's "Fail closed").
        fail_open: verify from a stale view anyway (logged), availability over revocation.
    """

    __slots__ = (
        "_clock",
        "_failing",
        "_floor",
        "_freshness",
        "_gap_timeout",
        "_gaps",
        "_high",
        "_inner",
        "_log",
        "_max_token_lifetime",
        "_poll",
        "_reload_due",
        "_retention",
        "_task",
        "_wake",
    )

    def __init__(
        self,
        propagation: PropagatingStore,
        store: SQLStore | None = None,
        *,
        clock: Clock = time.time,
        retention: float = 300.0,
        max_token_lifetime: float = DEFAULT_MAX_TOKEN_LIFETIME,
        poll_interval: float = 1.0,
        gap_timeout: float = 60.0,
        max_staleness: float = 1.0,
        fail_open: bool = False,
    ) -> None:
        if not (poll_interval > 0 and gap_timeout > 0 and max_staleness >= 0):  # NaN too
            raise ValueError("poll_interval and gap_timeout must be > 0, max_staleness >= 0")
        self._inner = propagation
        self._log = None if store is None else SQLRevocationLog(store)
        self._clock = clock
        self._retention = retention
        self._max_token_lifetime = max_token_lifetime
        self._poll = poll_interval
        self._gap_timeout = gap_timeout
        self._floor = 0  # every id at or below it is applied (or given up on)
        self._high = 0  # the highest id applied
        self._gaps: dict[int, float] = {}  # id skipped over -> monotonic time it was noticed
        self._reload_due = False
        self._failing = False
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        if hasattr(propagation, "on_resync"):
            propagation.on_resync = self.resync
        self._freshness = Freshness(
            _live_of(propagation) if isinstance(propagation, _PushFeed) else None,
            max_staleness=max_staleness,
            fail_open=fail_open,
            retry_after=poll_interval,
        )

    @property
    def view(self) -> RevocationView:
        """The propagation store's view, which this store also feeds from the database."""
        return self._inner.view

    @property
    def propagation(self) -> PropagatingStore:
        """The wrapped store (for what is durable elsewhere already: the keyring's revoke-all)."""
        return self._inner

    @property
    def poll_interval(self) -> float:
        """Seconds between two reads of new rows."""
        return self._poll

    @property
    def freshness(self) -> Freshness:
        """The gate :meth:`start` puts on the view: whether it may be trusted now."""
        return self._freshness

    def bind(self, store: SQLStore) -> None:
        """Record in ``store``'s database (before :meth:`start`)."""
        if self._task is not None:
            raise RuntimeError("the store is already started")
        self._log = SQLRevocationLog(store)

    # Lifecycle ---------------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the propagation store, load every live row, then poll in the background.

        Raises if the database (or Redis) cannot be read: a process must not serve with a view
        that misses revocations."""
        if self._task is not None:
            raise RuntimeError("the store is already started")
        self._sql()
        if isinstance(self._inner, _Started):
            await self._inner.start()
        try:
            # After the propagation store: whatever is revoked from now on reaches us through
            # it or through the poll, whatever before is in the rows loaded here.
            await self._confirmed(self.reload)
        except BaseException:
            await self._close_inner()
            raise
        self._inner.local.view.freshness = self._freshness
        if self._freshness.fail_open:
            _log.warning(
                "revocations: fail open: while neither the propagation feed nor a database "
                "poll vouches for the revocation view, tokens are verified against it anyway"
            )
        self._task = asyncio.create_task(self._follow(), name="jwtauth-revocation-poll")

    async def close(self) -> None:
        """Stop polling and close the propagation store; safe to call twice."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._close_inner()

    async def _close_inner(self) -> None:
        if isinstance(self._inner, _Started):
            await self._inner.close()

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

    # RevocationStore ---------------------------------------------------------------------------

    async def revoke_token(self, issuer: str, jti: str, expires_at: float) -> None:
        """Revoke one access token until its expiry: recorded, then propagated."""
        if not jti:
            raise ValueError("a token is revoked by its jti, which must not be empty")
        await self._record([self._until("jti", issuer, jti, expires_at)])

    async def revoke_session(self, issuer: str, session_id: str, expires_at: float) -> None:
        """Revoke every access token carrying `sid` = ``session_id`` until ``expires_at``."""
        if not session_id:
            raise ValueError("a session is revoked by its id, which must not be empty")
        await self._record([self._until("sid", issuer, session_id, expires_at)])

    async def revoke_subject(self, issuer: str, subject: str, before: float) -> None:
        """Revoke every token of ``subject`` issued before ``before`` (logout-all)."""
        await self._record([self._cut_off("sub", issuer, subject, before)])

    async def revoke_all(self, before: float) -> None:
        """Revoke every token issued before ``before`` (revoke-all)."""
        await self._record([self._cut_off("all", "", "", before)])

    async def ping(self) -> bool:
        """The propagation store's answer, and False while the view cannot be trusted (the
        database has its own readiness check)."""
        return await self._inner.ping() and (self._task is None or self._freshness.fresh)

    # Sessions and their revocation in one transaction ------------------------------------------

    def joins(self, refresh: object) -> bool:
        """True when ``refresh`` (the auth service's refresh-token store) is the SQL store
        these rows live in, so that a session change and its revocation can share a
        transaction."""
        return self._log is not None and refresh is self._log.store

    async def end_session(
        self,
        issuer: str,
        user_id: str,
        session_id: str,
        until: float,
        *,
        token: tuple[str, float] | None = None,
    ) -> bool:
        """Revoke the user's live session ``session_id`` (and its tokens until ``until``) and,
        if given, the access token ``token`` (`jti`, `exp`), in one transaction; then
        propagate. False when the user had no such live session (``token`` is revoked
        anyway)."""
        now = self._clock()
        first = [] if token is None else [self._until("jti", issuer, token[0], token[1])]
        written: list[Revocation] = []

        async def record(connection: AsyncConnection, ended: list[str]) -> None:
            rows = [*first, *(self._until("sid", issuer, sid, until) for sid in ended)]
            await SQLRevocationLog.insert(connection, rows, now)
            written.extend(rows)

        found = await self._sql().store.revoke_session(user_id, session_id, then=record)
        await self._propagate(written)
        return found

    async def end_sessions(
        self,
        issuer: str,
        user_id: str,
        *,
        keep: str | None = None,
        until: float | None = None,
        cut_off: Clock | None = None,
    ) -> list[str]:
        """Revoke every live session of the user but ``keep``, recording in the same
        transaction each one's revocation until ``until`` and/or the user's cut-off at
        ``cut_off()`` (read after the sessions are ended, so a token issued by a refresh
        that beat the change is cut off too); then propagate. Returns the ended ids."""
        now = self._clock()
        written: list[Revocation] = []

        async def record(connection: AsyncConnection, ended: list[str]) -> None:
            rows = [] if until is None else [self._until("sid", issuer, s, until) for s in ended]
            if cut_off is not None:
                rows.append(self._cut_off("sub", issuer, user_id, cut_off()))
            await SQLRevocationLog.insert(connection, rows, now)
            written.extend(rows)

        ended = await self._sql().store.revoke_sessions(user_id, keep=keep, then=record)
        await self._propagate(written)
        return ended

    async def rotate(
        self,
        issuer: str,
        token_hash: bytes,
        new_hash: bytes,
        new_expires_at: float,
        now: float,
        *,
        until: float,
    ) -> Rotation:
        """The SQL store's refresh-token rotation; when the token was reused, its family's
        session revocation (until ``until``) is recorded in the rotation's transaction and then
        propagated. So a reuse never ends the family while the thief's access tokens stay
        valid for want of a second write (Redis down, the database gone between the two)."""
        written: list[Revocation] = []

        async def record(connection: AsyncConnection, ended: list[str]) -> None:
            rows = [self._until("sid", issuer, sid, until) for sid in ended]
            await SQLRevocationLog.insert(connection, rows, self._clock())
            written.extend(rows)

        outcome = await self._sql().store.rotate(
            token_hash, new_hash, new_expires_at, now, on_reuse=record
        )
        await self._propagate(written)
        return outcome

    # Writing -----------------------------------------------------------------------------------

    def _sql(self) -> SQLRevocationLog:
        if self._log is None:
            raise RuntimeError("the durable revocation store has no database: bind() it first")
        return self._log

    def _until(self, kind: str, issuer: str, value: str, expires_at: float) -> Revocation:
        # The cap the propagation store applies too, so that the row, Redis and every view agree.
        until = min(_finite(expires_at), self._clock() + self._max_token_lifetime)
        return Revocation(kind, issuer, value, until, until + self._retention)  # type: ignore[arg-type]

    def _cut_off(self, kind: str, issuer: str, value: str, before: float) -> Revocation:
        before = _finite(before)
        lives_until = before + self._max_token_lifetime + self._retention
        return Revocation(kind, issuer, value, before, lives_until)  # type: ignore[arg-type]

    async def _record(self, revocations: Sequence[Revocation]) -> None:
        # The row first: it is the revocation. A failure here is the caller's (a 503).
        await self._sql().record(revocations, self._clock())
        await self._propagate(revocations)

    async def _propagate(self, revocations: Sequence[Revocation]) -> None:
        if isinstance(self._inner, _PushFeed) and not self._inner.live:
            # The feed is down (Redis gone or hung, as its subscription found): do not make the
            # request wait on it. This process applies the rows now, the others by polling.
            for revocation in revocations:
                await _apply(self._inner.local, revocation)
            return
        for index, revocation in enumerate(revocations):
            try:
                await _apply(self._inner, revocation)
            except Exception as exc:
                # This process refuses them at once whatever the propagation store managed; the
                # others read the rows within a poll. One failure is enough: the rest are not
                # tried (a hung Redis would make the request wait once per revocation). Class
                # only: a Redis error names the host.
                for rest in revocations[index:]:
                    await _apply(self._inner.local, rest)
                _log.warning(
                    "revocations: recorded in the database but not propagated (%s); "
                    "other processes apply it from the database within %.1f s",
                    type(exc).__name__,
                    self._poll,
                )
                return

    # Following the database --------------------------------------------------------------------

    def resync(self) -> None:
        """Reload every live row at the next poll, which starts now: called by the
        propagation store when its own feed had a gap (a Redis subscription restored)."""
        self._reload_due = True
        self._wake.set()

    async def reload(self) -> int:
        """Apply every live row (at start, after a gap); return how many."""
        loop = asyncio.get_running_loop()
        rows, highest = await self._sql().live(self._clock())
        seen = {stored.id for stored in rows}
        for stored in rows:
            await _apply(self._inner.local, stored.revocation)
        # Ids below the highest that are not there may belong to transactions still in flight
        # (drawn, not yet committed): wait for them as for any gap, the recent ones only.
        noticed = loop.time()
        for missing in range(max(self._high, highest - _MAX_GAPS) + 1, highest + 1):
            if missing not in seen:
                self._gaps.setdefault(missing, noticed)
        for ident in seen:
            self._gaps.pop(ident, None)
        self._high = max(self._high, highest)
        self._set_floor(noticed)
        self._inner.local.purge()
        return len(rows)

    async def poll(self) -> int:
        """One read of the rows above the last id seen (and of any gap); return how many were
        applied. The poller calls it every ``poll_interval``; tests call it directly."""
        loop = asyncio.get_running_loop()
        log = self._sql()
        applied = 0
        cursor = self._floor
        while True:
            rows = await log.after(cursor, _BATCH)
            noticed = loop.time()
            for stored in rows:
                self._gaps.pop(stored.id, None)
                if stored.id > self._high:
                    for missing in range(max(self._high, stored.id - _MAX_GAPS) + 1, stored.id):
                        self._gaps.setdefault(missing, noticed)
                    self._high = stored.id
                await _apply(self._inner.local, stored.revocation)
                applied += 1
            if len(rows) < _BATCH:
                break
            cursor = rows[-1].id
        self._set_floor(noticed)
        return applied

    def _set_floor(self, now: float) -> None:
        expired = [ident for ident, at in self._gaps.items() if now - at >= self._gap_timeout]
        for ident in expired:
            del self._gaps[ident]
        self._floor = min(self._gaps) - 1 if self._gaps else self._high

    async def _follow(self) -> None:
        while True:
            # A bounded wait for the next poll, cut short by a re-sync request.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll)
            self._wake.clear()
            try:
                if self._reload_due:
                    self._reload_due = False
                    try:
                        await self._confirmed(self.reload)
                    except BaseException:
                        self._reload_due = True  # at the next poll, not in a tight loop
                        raise
                await self._confirmed(self.poll)
            except Exception as exc:
                if not self._failing:
                    self._failing = True
                    _log.warning(
                        "revocations: could not read the database (%s); retrying every %.1f s",
                        type(exc).__name__,
                        self._poll,
                    )
            else:
                if self._failing:
                    self._failing = False
                    _log.info("revocations: reading the database again")

    async def _confirmed(self, read: Callable[[], Awaitable[int]]) -> None:
        # The view holds every row committed before the read began: trusted until the next
        # poll is due, plus the bound. Measured from the start, so a slow read counts.
        began = time.monotonic()
        await read()
        self._freshness.confirm(
            self._poll + self._freshness.max_staleness - (time.monotonic() - began)
        )

    @property
    def gaps(self) -> int:
        """How many ids skipped over are still waited for (observability, tests)."""
        return len(self._gaps)


async def _apply(target: RevocationStore, revocation: Revocation) -> None:
    kind, issuer, value, instant = (
        revocation.kind, revocation.issuer, revocation.value, revocation.instant,
    )  # fmt: skip
    if kind == "jti":
        await target.revoke_token(issuer, value, instant)
    elif kind == "sid":
        await target.revoke_session(issuer, value, instant)
    elif kind == "sub":
        await target.revoke_subject(issuer, value, instant)
    else:
        await target.revoke_all(instant)


def _finite(instant: float) -> float:
    # NaN would never expire (nor refuse anything): refuse it before it reaches the database.
    if not math.isfinite(instant):
        raise ValueError(f"a revocation needs a finite time, not {instant!r}")
    return float(instant)
