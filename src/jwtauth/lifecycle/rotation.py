"""The lifecycle of a managed key: `next` -> `active` -> `retiring` -> `retired`.

Pure and synchronous: every function takes the records and ``now`` and returns new records; the
store persists them and the server builds its :class:`~jwtauth.keys.keyring.KeyRing` from them.

* ``next`` is published in JWKS but does not sign yet, so a resource server that caches JWKS has
  learnt its `kid` before the first token signed by it arrives.
* ``active`` signs; exactly one key is active.
* ``retiring`` stopped signing at ``deactivated_at`` and verifies until ``retire_at``: the
  longest an access token it signed can still be valid (TTL + leeway), plus the time other
  processes may take to notice the rotation and stop signing with it.
* ``retired`` is gone from the keyring and from JWKS; its private material is destroyed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from jwtauth.errors import KeyConfigurationError, KeyRotationError
from jwtauth.keys.algorithms import Algorithm
from jwtauth.keys.key import Key
from jwtauth.keys.keyring import KeyRing

__all__ = [
    "JWKS_MAX_AGE",
    "KeyRecord",
    "KeyState",
    "RotationPolicy",
    "build_keyring",
    "first_keys",
    "live_records",
    "next_change",
    "replace_all",
    "rotate",
    "rotation_due",
    "signing_record",
]

JWKS_MAX_AGE = 300
"""Seconds a client may cache ``/.well-known/jwks.json`` (its ``Cache-Control: max-age``)."""


class KeyState(StrEnum):
    """Where a managed key is in its life."""

    NEXT = "next"
    ACTIVE = "active"
    RETIRING = "retiring"
    RETIRED = "retired"


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """What the store keeps about one managed key, besides its (encrypted) material."""

    kid: str
    alg: Algorithm
    state: KeyState
    created_at: float
    activated_at: float | None = None  # when it started signing
    deactivated_at: float | None = None  # when it stopped signing
    retire_at: float | None = None  # retiring: the end of its grace; retired: when it went


@dataclass(frozen=True, slots=True)
class RotationPolicy:
    """How long keys overlap.

    Args:
        token_lifetime: the longest an access token lives, leeway included (seconds).
        propagation: how long another process may keep signing with a key after a rotation
            (its keyring poll interval).
        next_lead: how long `next` must have been published before it may sign: the JWKS cache
            age plus the propagation time, so every cache has seen it.
    """

    token_lifetime: float
    propagation: float
    next_lead: float = JWKS_MAX_AGE

    @property
    def grace(self) -> float:
        """How long a retiring key keeps verifying after it stopped signing."""
        return self.token_lifetime + self.propagation


def first_keys(now: float, active: Key, next_key: Key) -> list[KeyRecord]:
    """The records of a new keyring: ``active`` signs from ``now``, ``next_key`` waits."""
    if active.kid == next_key.kid:
        raise KeyConfigurationError("the active and the next key must differ")
    return [
        KeyRecord(active.kid, active.alg, KeyState.ACTIVE, now, activated_at=now),
        KeyRecord(next_key.kid, next_key.alg, KeyState.NEXT, now),
    ]


def signing_record(records: Iterable[KeyRecord]) -> KeyRecord:
    """The one active record."""
    active = [r for r in records if r.state is KeyState.ACTIVE]
    if len(active) != 1:
        raise KeyConfigurationError(f"the keyring must have one active key, not {len(active)}")
    return active[0]


def _retire_expired(record: KeyRecord, now: float) -> KeyRecord:
    if (
        record.state is KeyState.RETIRING
        and record.retire_at is not None
        and record.retire_at <= now
    ):
        return replace(record, state=KeyState.RETIRED)
    return record


def rotate(
    records: Sequence[KeyRecord],
    now: float,
    new_next: Key,
    policy: RotationPolicy,
    *,
    force: bool = False,
) -> list[KeyRecord]:
    """One rotation: `next` signs, `active` retires with grace, ``new_next`` is published.

    Retiring keys whose grace has ended become retired.

    Raises:
        KeyRotationError: `next` was published less than ``policy.next_lead`` ago (a JWKS cache
            may not know it yet) and ``force`` is not set; or there is no `next` key.
    """
    pending = [r for r in records if r.state is KeyState.NEXT]
    if len(pending) != 1:
        raise KeyRotationError(f"the keyring must have one next key, not {len(pending)}")
    published_for = now - pending[0].created_at
    if published_for < policy.next_lead and not force:
        raise KeyRotationError(
            f"the next key was published {published_for:.0f} s ago; JWKS caches may not know it "
            f"for {policy.next_lead:.0f} s (force to rotate anyway)"
        )
    if any(r.kid == new_next.kid for r in records):
        raise KeyConfigurationError(f"the keyring already has a key {new_next.kid!r}")
    rotated: list[KeyRecord] = []
    for record in records:
        if record.state is KeyState.NEXT:
            changed = replace(record, state=KeyState.ACTIVE, activated_at=now)
        elif record.state is KeyState.ACTIVE:
            changed = replace(
                record, state=KeyState.RETIRING, deactivated_at=now, retire_at=now + policy.grace
            )
        else:
            changed = _retire_expired(record, now)
        rotated.append(changed)
    rotated.append(KeyRecord(new_next.kid, new_next.alg, KeyState.NEXT, now))
    return rotated


def replace_all(
    records: Sequence[KeyRecord], now: float, active: Key, next_key: Key
) -> list[KeyRecord]:
    """The emergency rotation: every existing key is retired now, none verifies any more, and
    ``active`` signs at once (no JWKS lead: a compromised key must stop verifying first)."""
    known = {r.kid for r in records}
    if active.kid in known or next_key.kid in known:
        raise KeyConfigurationError("a replacement key has the kid of an existing key")
    retired = [
        record
        if record.state is KeyState.RETIRED
        else replace(
            record,
            state=KeyState.RETIRED,
            deactivated_at=record.deactivated_at if record.deactivated_at is not None else now,
            retire_at=now,
        )
        for record in records
    ]
    return [*retired, *first_keys(now, active, next_key)]


def live_records(records: Iterable[KeyRecord], now: float) -> list[KeyRecord]:
    """The records whose keys belong in the keyring at ``now`` (JWKS included)."""
    return [r for r in records if _retire_expired(r, now).state is not KeyState.RETIRED]


def next_change(records: Iterable[KeyRecord], now: float) -> float | None:
    """When :func:`live_records` will next drop a key by itself (a grace ending), if ever."""
    ends = [
        r.retire_at
        for r in records
        if r.state is KeyState.RETIRING and r.retire_at is not None and r.retire_at > now
    ]
    return min(ends, default=None)


def rotation_due(records: Iterable[KeyRecord], now: float, period: float) -> bool:
    """True when the active key has signed for ``period`` seconds or more."""
    active = signing_record(records)
    started = active.activated_at if active.activated_at is not None else active.created_at
    return now - started >= period


def build_keyring(records: Iterable[KeyRecord], keys: Mapping[str, Key], now: float) -> KeyRing:
    """The keyring of the live records at ``now``: the active key signs, the others verify."""
    live = live_records(records, now)
    active = signing_record(live)
    try:
        return KeyRing(keys[active.kid], [keys[r.kid] for r in live if r is not active])
    except KeyError as missing:
        raise KeyConfigurationError(f"no key material for {missing.args[0]!r}") from None
