"""The keyring: the only place verification finds a key, by `kid`, never by header contents."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from jwtauth.errors import ConfigurationError, KeyConfigurationError, UnknownKeyError
from jwtauth.keys.key import HMACKey, Key

__all__ = ["KeyRing"]


class KeyRing:
    """An immutable set of keys: at most one signing key and any number of verification keys.

    Rotation builds a new keyring (:meth:`with_key`, :meth:`with_signing`, :meth:`without`) and
    swaps it in; a verifier holding the old one is never left half-updated.

    Args:
        signing: the key new tokens are signed with, or ``None`` for a verify-only keyring.
        verification: further keys that verify only (the previous key during rotation, say).
        kidless: the `kid` of the key that verifies tokens carrying no `kid` at all. Off by
            default: a token without `kid` names no key and is refused.
    """

    __slots__ = ("_keys", "_kidless", "_signing")

    def __init__(
        self,
        signing: Key | None,
        verification: Iterable[Key] = (),
        *,
        kidless: str | None = None,
    ) -> None:
        keys: dict[str, Key] = {}
        for key in (*((signing,) if signing else ()), *verification):
            if key.kid in keys and keys[key.kid] is not key:
                raise KeyConfigurationError(f"two keys share the kid {key.kid!r}")
            keys[key.kid] = key
        if signing is not None and not signing.can_sign:
            raise KeyConfigurationError(f"key {signing.kid!r} has no private part to sign with")
        if kidless is not None and kidless not in keys:
            raise KeyConfigurationError(f"kidless names {kidless!r}, which is not in the keyring")
        self._keys = keys
        self._signing = signing
        self._kidless = kidless

    @property
    def signing_key(self) -> Key:
        """The key that signs new tokens."""
        if self._signing is None:
            raise ConfigurationError("this keyring verifies only; it has no signing key")
        return self._signing

    def find(self, kid: str | None) -> Key | None:
        """The key a token's `kid` (or its absence) resolves to, or ``None``."""
        if kid is not None:
            return self._keys.get(kid)
        return self._keys[self._kidless] if self._kidless is not None else None

    def get(self, kid: str | None) -> Key:
        """Return the key for ``kid``; the only way verification obtains a key."""
        key = self.find(kid)
        if key is None:
            raise UnknownKeyError()
        return key

    def holds(self, key: Key) -> bool:
        """True when this exact key object is still in the keyring (not retired)."""
        return self._keys.get(key.kid) is key

    def __iter__(self) -> Iterator[Key]:
        return iter(self._keys.values())

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, kid: object) -> bool:
        return kid in self._keys

    def jwks(self) -> dict[str, list[dict[str, Any]]]:
        """The public keys as a JWK Set (RFC 7517 section 5); HMAC secrets never appear."""
        return {"keys": [k.public_jwk() for k in self._keys.values() if not isinstance(k, HMACKey)]}

    def with_key(self, key: Key) -> KeyRing:
        """A new keyring that also verifies with ``key``."""
        return KeyRing(self._signing, (*self._keys.values(), key), kidless=self._kidless)

    def with_signing(self, kid: str) -> KeyRing:
        """A new keyring that signs with the key ``kid``; the old signing key still verifies."""
        return KeyRing(self.get(kid), self._keys.values(), kidless=self._kidless)

    def without(self, kid: str) -> KeyRing:
        """A new keyring without ``kid``: tokens it signed stop verifying."""
        if kid not in self._keys:
            # A typo while retiring a compromised key must not pass for success.
            raise KeyConfigurationError(f"no key {kid!r} in the keyring")
        if self._signing is not None and self._signing.kid == kid:
            raise KeyConfigurationError("the signing key cannot be removed; promote another first")
        rest = [k for k in self._keys.values() if k.kid != kid]
        kidless = self._kidless if self._kidless != kid else None
        return KeyRing(self._signing, rest, kidless=kidless)

    def __repr__(self) -> str:
        signing = self._signing.kid if self._signing else None
        return f"KeyRing(signing={signing!r}, kids={list(self._keys)!r})"
