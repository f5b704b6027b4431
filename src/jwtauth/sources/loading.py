"""Loading the signing key at start-up: from the environment, a file, or (development) a
generated key kept in the state directory. Every refusal is one line that names the setting and
never the secret.
"""

from __future__ import annotations

import logging
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from jwtauth.config import ENV_PREFIX, Settings
from jwtauth.errors import (
    ConfigurationError,
    KeyConfigurationError,
    WeakSecretError,
)
from jwtauth.files import owned_by_us, write_private_file
from jwtauth.keys.key import HMACKey, Key, generate_key, key_from_pem
from jwtauth.keys.keyring import KeyRing
from jwtauth.sources.key_file import read_key_file
from jwtauth.sources.remote import remote_secret
from jwtauth.sources.strength import SecretStrength, assess_secret

__all__ = [
    "LoadedSecret",
    "load_keyring",
    "load_secret",
    "load_signing_key",
    "private_pem",
    "read_key_file",
    "write_private_file",
]

logger = logging.getLogger("jwtauth.keys")


@dataclass(frozen=True, slots=True)
class LoadedSecret:
    """An HMAC secret and where it came from (``env``, ``file``, ``.env``, ``vault`` or ``aws``);
    repr hides it."""

    value: bytes
    source: str

    def __repr__(self) -> str:
        return f"LoadedSecret(source={self.source!r}, length={len(self.value)})"

    def strength(self) -> SecretStrength:
        """Assess the secret without revealing it."""
        return assess_secret(self.value)


def _strip_line_end(data: bytes) -> bytes:
    # Trailing line ends are an artefact of `echo` and editors, not part of a text secret. A
    # binary secret is kept byte for byte: its last byte may well be 0x0a or 0x0d.
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return data
    return data.rstrip(b"\r\n")


# The setting that names a secret kept in a secrets manager, for messages.
_REMOTE_SETTING = {"vault": f"{ENV_PREFIX}VAULT_PATH", "aws": f"{ENV_PREFIX}AWS_SECRET_ID"}


def _remote_secret(settings: Settings) -> bytes:
    if any(
        v is not None for v in (settings.secret, settings.secret_file, settings.private_key_file)
    ):
        raise ConfigurationError(
            f"{ENV_PREFIX}SECRET_SOURCE={settings.secret_source} reads the secret or key from the "
            f"secrets manager; unset {ENV_PREFIX}SECRET, {ENV_PREFIX}SECRET_FILE and "
            f"{ENV_PREFIX}PRIVATE_KEY_FILE"
        )
    return _strip_line_end(remote_secret(settings).get())


def load_secret(settings: Settings) -> LoadedSecret | None:
    """The configured HMAC secret, or ``None`` when neither source is set."""
    if settings.secret_source in _REMOTE_SETTING:
        return LoadedSecret(_remote_secret(settings), settings.secret_source)
    if settings.secret is not None and settings.secret_file is not None:
        raise ConfigurationError(f"set only one of {ENV_PREFIX}SECRET and {ENV_PREFIX}SECRET_FILE")
    if settings.secret_file is not None:
        return LoadedSecret(_strip_line_end(read_key_file(settings.secret_file, settings)), "file")
    if settings.secret is not None:
        return LoadedSecret(
            settings.secret.get_secret_value().encode("utf-8"), settings.source_of("secret")
        )
    return None


def _hmac_key(settings: Settings) -> Key:
    secret = load_secret(settings)
    if secret is None:
        raise ConfigurationError(
            f"{settings.algorithm} needs {ENV_PREFIX}SECRET or {ENV_PREFIX}SECRET_FILE "
            "(generate one with: jwtauth secret generate)"
        )
    setting = _REMOTE_SETTING.get(secret.source) or (
        f"{ENV_PREFIX}SECRET_FILE" if secret.source == "file" else f"{ENV_PREFIX}SECRET"
    )
    strength = secret.strength()
    if not strength.ok:
        settings.refuse_or_warn(WeakSecretError(f"{setting}: {strength.reason}"))
    try:
        return HMACKey(secret.value, settings.algorithm)
    except KeyConfigurationError as exc:
        raise type(exc)(f"{setting}: {exc.message}") from None


def private_pem(key: Key) -> bytes:
    """The PKCS#8 PEM of an asymmetric signing key (unencrypted: protect it by file mode)."""
    private = getattr(key, "_private", None)
    if private is None:
        raise KeyConfigurationError("only an asymmetric signing key can be written as PEM")
    return bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def _development_key(settings: Settings) -> Key:
    state = settings.state_dir
    path = state / f"signing-key-{settings.algorithm.value}.pem"
    if not os.path.lexists(path):
        state.mkdir(mode=0o700, parents=True, exist_ok=True)
        _check_state_dir(state)
        key = generate_key(settings.algorithm)
        write_private_file(path, private_pem(key))
        logger.warning("generated a development signing key in %s (kid %s)", path, key.kid)
        return key
    _check_state_dir(state)
    return key_from_pem(read_key_file(path, settings), settings.algorithm)


def _check_state_dir(state: Path) -> None:
    # Whoever can write here can plant the signing key the server will trust: refused even in
    # development.
    st = state.stat()
    if stat.S_IMODE(st.st_mode) & 0o022 or not owned_by_us(st):
        raise ConfigurationError(f"{state} is writable by other users; run: chmod 700 {state}")


def load_signing_key(settings: Settings) -> Key:
    """The signing key the settings describe, after every start-up check."""
    if settings.signer == "transit":
        # Fail closed: a server not yet built for Transit must not quietly sign with a local key.
        raise ConfigurationError(
            f"{ENV_PREFIX}SIGNER=transit: the keyring comes from "
            "jwtauth.lifecycle.transit.transit_keyring(settings)"
        )
    if settings.algorithm.family == "HS":
        if settings.private_key_file is not None:
            raise ConfigurationError(
                f"{ENV_PREFIX}PRIVATE_KEY_FILE is for asymmetric algorithms, "
                f"not {settings.algorithm}"
            )
        return _hmac_key(settings)
    if settings.secret_source in _REMOTE_SETTING:
        key = key_from_pem(_remote_secret(settings), settings.algorithm)
        if not key.can_sign:
            raise KeyConfigurationError(
                f"{_REMOTE_SETTING[settings.secret_source]} holds a public key"
            )
        return key
    if settings.secret is not None or settings.secret_file is not None:
        raise ConfigurationError(
            f"{ENV_PREFIX}SECRET is for HS* algorithms; {settings.algorithm} uses "
            f"{ENV_PREFIX}PRIVATE_KEY_FILE"
        )
    if settings.private_key_file is None:
        if settings.is_production:
            raise ConfigurationError(
                f"{ENV_PREFIX}PRIVATE_KEY_FILE must be set in production "
                "(generate one with: jwtauth keys generate)"
            )
        return _development_key(settings)
    key = key_from_pem(read_key_file(settings.private_key_file, settings), settings.algorithm)
    if not key.can_sign:
        raise KeyConfigurationError(f"{ENV_PREFIX}PRIVATE_KEY_FILE holds a public key")
    return key


def load_keyring(settings: Settings) -> KeyRing:
    """A keyring whose signing key comes from :func:`load_signing_key`."""
    return KeyRing(load_signing_key(settings))
