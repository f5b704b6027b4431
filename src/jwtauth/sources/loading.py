"""Loading the signing key at start-up: from the environment, a file, or (development) a
generated key kept in the state directory. Every refusal is one line that names the setting and
never the secret.
"""

from __future__ import annotations

import logging
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from jwtauth.environment import ENV_PREFIX, STRICT, Strictness
from jwtauth.errors import (
    ConfigurationError,
    KeyConfigurationError,
    WeakSecretError,
)
from jwtauth.files import owned_by_us, write_private_file
from jwtauth.keys.algorithms import Algorithm
from jwtauth.keys.key import HMACKey, Key, generate_key, key_from_pem
from jwtauth.keys.keyring import KeyRing
from jwtauth.sources.key_file import read_key_file
from jwtauth.sources.managers import ManagerConfig
from jwtauth.sources.remote import remote_secret
from jwtauth.sources.strength import SecretStrength, assess_secret

__all__ = [
    "KeyConfig",
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
class KeyConfig:
    """Where the signing key or HMAC secret comes from: the values the loaders take
    (``Settings.key_config()`` builds them from ``JWTAUTH_*``)."""

    algorithm: Algorithm
    secret: str | None = field(default=None, repr=False)
    origin: str = "env"  # where ``secret`` was set: argument, env, .env or toml
    secret_file: Path | None = None
    private_key_file: Path | None = None
    manager: ManagerConfig | None = None  # JWTAUTH_SECRET_SOURCE=vault|aws
    secret_refresh: float = 300.0
    state_dir: Path = Path(".jwtauth")
    signer: str = "local"
    strictness: Strictness = STRICT


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


def _remote_secret(config: KeyConfig, manager: ManagerConfig) -> bytes:
    if any(v is not None for v in (config.secret, config.secret_file, config.private_key_file)):
        raise ConfigurationError(
            f"{ENV_PREFIX}SECRET_SOURCE={manager.source} reads the secret or key from the "
            f"secrets manager; unset {ENV_PREFIX}SECRET, {ENV_PREFIX}SECRET_FILE and "
            f"{ENV_PREFIX}PRIVATE_KEY_FILE"
        )
    return _strip_line_end(remote_secret(manager, ttl=config.secret_refresh).get())


def load_secret(config: KeyConfig) -> LoadedSecret | None:
    """The configured HMAC secret, or ``None`` when neither source is set."""
    if config.manager is not None:
        return LoadedSecret(_remote_secret(config, config.manager), config.manager.source)
    if config.secret is not None and config.secret_file is not None:
        raise ConfigurationError(f"set only one of {ENV_PREFIX}SECRET and {ENV_PREFIX}SECRET_FILE")
    if config.secret_file is not None:
        data = read_key_file(config.secret_file, config.strictness)
        return LoadedSecret(_strip_line_end(data), "file")
    if config.secret is not None:
        return LoadedSecret(config.secret.encode("utf-8"), config.origin)
    return None


def _hmac_key(config: KeyConfig) -> Key:
    secret = load_secret(config)
    if secret is None:
        raise ConfigurationError(
            f"{config.algorithm} needs {ENV_PREFIX}SECRET or {ENV_PREFIX}SECRET_FILE "
            "(generate one with: jwtauth secret generate)"
        )
    setting = _REMOTE_SETTING.get(secret.source) or (
        f"{ENV_PREFIX}SECRET_FILE" if secret.source == "file" else f"{ENV_PREFIX}SECRET"
    )
    strength = secret.strength()
    if not strength.ok:
        config.strictness.refuse_or_warn(WeakSecretError(f"{setting}: {strength.reason}"))
    try:
        return HMACKey(secret.value, config.algorithm)
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


def _development_key(config: KeyConfig) -> Key:
    state = config.state_dir
    path = state / f"signing-key-{config.algorithm.value}.pem"
    if not os.path.lexists(path):
        state.mkdir(mode=0o700, parents=True, exist_ok=True)
        _check_state_dir(state)
        key = generate_key(config.algorithm)
        write_private_file(path, private_pem(key))
        logger.warning("generated a development signing key in %s (kid %s)", path, key.kid)
        return key
    _check_state_dir(state)
    return key_from_pem(read_key_file(path, config.strictness), config.algorithm)


def _check_state_dir(state: Path) -> None:
    # Whoever can write here can plant the signing key the server will trust: refused even in
    # development.
    st = state.stat()
    if stat.S_IMODE(st.st_mode) & 0o022 or not owned_by_us(st):
        raise ConfigurationError(f"{state} is writable by other users; run: chmod 700 {state}")


def load_signing_key(config: KeyConfig) -> Key:
    """The signing key the settings describe, after every start-up check."""
    if config.signer == "transit":
        # Fail closed: a server not yet built for Transit must not quietly sign with a local key.
        raise ConfigurationError(
            f"{ENV_PREFIX}SIGNER=transit: the keyring comes from "
            "jwtauth.lifecycle.transit.transit_keyring(settings)"
        )
    if config.algorithm.family == "HS":
        if config.private_key_file is not None:
            raise ConfigurationError(
                f"{ENV_PREFIX}PRIVATE_KEY_FILE is for asymmetric algorithms, not {config.algorithm}"
            )
        return _hmac_key(config)
    if config.manager is not None:
        key = key_from_pem(_remote_secret(config, config.manager), config.algorithm)
        if not key.can_sign:
            setting = _REMOTE_SETTING[config.manager.source]
            raise KeyConfigurationError(f"{setting} holds a public key")
        return key
    if config.secret is not None or config.secret_file is not None:
        raise ConfigurationError(
            f"{ENV_PREFIX}SECRET is for HS* algorithms; {config.algorithm} uses "
            f"{ENV_PREFIX}PRIVATE_KEY_FILE"
        )
    if config.private_key_file is None:
        if config.strictness.production:
            raise ConfigurationError(
                f"{ENV_PREFIX}PRIVATE_KEY_FILE must be set in production "
                "(generate one with: jwtauth keys generate)"
            )
        return _development_key(config)
    key = key_from_pem(read_key_file(config.private_key_file, config.strictness), config.algorithm)
    if not key.can_sign:
        raise KeyConfigurationError(f"{ENV_PREFIX}PRIVATE_KEY_FILE holds a public key")
    return key


def load_keyring(config: KeyConfig) -> KeyRing:
    """A keyring whose signing key comes from :func:`load_signing_key`."""
    return KeyRing(load_signing_key(config))
