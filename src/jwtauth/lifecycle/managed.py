"""From settings to a keyring source: the configured keys (static) or the managed keyring.

The managed keyring lives in the database (``jwtauth.lifecycle.sql``); this module only
decides whether it is used, loads its key-encryption key, and picks the key a new keyring starts
with. Every refusal is one line that names the setting and never the secret.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from jwtauth.config import ENV_PREFIX, Settings
from jwtauth.errors import ConfigurationError
from jwtauth.files import write_private_file
from jwtauth.keys.algorithms import Algorithm
from jwtauth.keys.key import Key, generate_key
from jwtauth.keys.keyring import KeyRing
from jwtauth.lifecycle.envelope import KeyEncryptionKey
from jwtauth.lifecycle.rotation import JWKS_MAX_AGE, RotationPolicy
from jwtauth.sources.key_file import read_key_file
from jwtauth.sources.loading import _check_state_dir, load_keyring, load_signing_key

__all__ = ["ManagedKeyring", "keyring_source", "load_kek", "uses_managed_keyring"]

logger = logging.getLogger("jwtauth.keys")

KEK_FILE_NAME = "keyring-kek"


@dataclass(frozen=True, slots=True)
class ManagedKeyring:
    """What a process needs to open the managed keyring; the repr shows no key material.

    Args:
        algorithm: the algorithm of the keys it generates.
        kek: seals and opens the stored private keys.
        seed: the key an empty keyring starts with (the configured or development key, so
            switching to the managed keyring keeps today's `kid` and tokens), or ``None`` to
            generate one.
        policy: how long keys overlap.
        rotation_period: seconds between automatic rotations (``None``: never).
        poll_interval: seconds between checks of the stored keyring.
    """

    algorithm: Algorithm
    kek: KeyEncryptionKey
    seed: Key | None
    policy: RotationPolicy
    rotation_period: float | None
    poll_interval: float

    def new_key(self) -> Key:
        """A freshly generated key for the keyring."""
        return generate_key(self.algorithm)


def _configured(settings: Settings) -> bool:
    # Any explicit key source: a secret, a key file, a secrets manager or a remote signer.
    return (
        any(
            value is not None
            for value in (settings.secret, settings.secret_file, settings.private_key_file)
        )
        or settings.secret_source != "local"  # noqa: S105 - a source's name, not a secret
        or settings.signer != "local"
    )


def uses_managed_keyring(settings: Settings) -> bool:
    """Whether the settings select the managed keyring.

    ``auto`` picks it only in development with no key configured: a configured key is honoured
    exactly as before, and production chooses deliberately (it must also supply a KEK).
    """
    if settings.keyring == "auto":
        return not settings.is_production and not _configured(settings)
    if settings.keyring == "managed" and settings.signer != "local":
        raise ConfigurationError(
            f"{ENV_PREFIX}KEYRING=managed keeps its own keys; it cannot be combined with "
            f"{ENV_PREFIX}SIGNER={settings.signer}"
        )
    return settings.keyring == "managed"


def load_kek(settings: Settings) -> KeyEncryptionKey:
    """The key-encryption key: from the setting or its file; generated (mode 0600) in the state
    directory in development; required in production."""
    if settings.keyring_kek is not None and settings.keyring_kek_file is not None:
        raise ConfigurationError(
            f"set only one of {ENV_PREFIX}KEYRING_KEK and {ENV_PREFIX}KEYRING_KEK_FILE"
        )
    if settings.keyring_kek is not None:
        return KeyEncryptionKey.from_text(settings.keyring_kek.get_secret_value().encode())
    if settings.keyring_kek_file is not None:
        return KeyEncryptionKey.from_text(
            read_key_file(settings.keyring_kek_file, settings.strictness)
        )
    if settings.is_production:
        raise ConfigurationError(
            f"{ENV_PREFIX}KEYRING_KEK_FILE must be set in production for the managed keyring "
            "(generate one with: jwtauth secret generate --bytes 32 --out FILE)"
        )
    return _development_kek(settings)


def _development_kek(settings: Settings) -> KeyEncryptionKey:
    state = settings.state_dir
    state.mkdir(mode=0o700, parents=True, exist_ok=True)
    _check_state_dir(state)
    path = state / KEK_FILE_NAME
    if not os.path.lexists(path):
        kek = os.urandom(32)
        try:
            write_private_file(path, KeyEncryptionKey.encode(kek) + b"\n")
        except FileExistsError:
            pass  # another process of this state directory made it first: use theirs
        else:
            logger.warning("generated a development key-encryption key in %s", path)
            return KeyEncryptionKey(kek)
    return KeyEncryptionKey.from_text(read_key_file(path, settings.strictness))


def _seed(settings: Settings) -> Key | None:
    if _configured(settings) or (not settings.is_production and settings.algorithm.family != "HS"):
        # The configured key, or the development key of the state directory: the keyring
        # starts where the static configuration was, so outstanding tokens keep verifying.
        return load_signing_key(settings.key_config())
    return None


def keyring_source(settings: Settings) -> KeyRing | ManagedKeyring:
    """The configured keyring, or what the managed keyring needs; every check runs here, before
    a server binds its port."""
    if settings.signer == "transit":  # the private key stays in Vault (decision 018)
        from jwtauth.lifecycle.transit import transit_keyring  # noqa: PLC0415 - needs the vault extra

        return transit_keyring(settings)
    if not uses_managed_keyring(settings):
        return load_keyring(settings.key_config())
    propagation = settings.keyring_poll_interval
    return ManagedKeyring(
        algorithm=settings.algorithm,
        kek=load_kek(settings),
        seed=_seed(settings),
        policy=RotationPolicy(
            token_lifetime=settings.access_ttl + settings.leeway,
            propagation=propagation,
            next_lead=JWKS_MAX_AGE + propagation,
        ),
        rotation_period=settings.key_rotation_days * 86_400.0 or None,
        poll_interval=settings.keyring_poll_interval,
    )
