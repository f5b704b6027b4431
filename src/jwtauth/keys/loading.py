"""Loading the signing key at start-up: from the environment, a file, or (development) a
generated key kept in the state directory. Every refusal is one line that names the setting and
never the secret.
"""

from __future__ import annotations

import logging
import os
import stat
import warnings
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from jwtauth.config import ENV_PREFIX, Settings
from jwtauth.errors import (
    ConfigurationError,
    InsecureKeyFileError,
    KeyConfigurationError,
    SecurityWarning,
    WeakSecretError,
)
from jwtauth.keys.key import HMACKey, Key, generate_key, key_from_pem
from jwtauth.keys.keyring import KeyRing
from jwtauth.keys.secrets import SecretStrength, assess_secret

__all__ = [
    "LoadedSecret",
    "check_key_file",
    "load_keyring",
    "load_secret",
    "load_signing_key",
    "write_private_file",
]

logger = logging.getLogger("jwtauth.keys")


@dataclass(frozen=True, slots=True)
class LoadedSecret:
    """An HMAC secret and where it came from (``env``, ``file`` or ``.env``); repr hides it."""

    value: bytes
    source: str

    def __repr__(self) -> str:
        return f"LoadedSecret(source={self.source!r}, length={len(self.value)})"

    def strength(self) -> SecretStrength:
        """Assess the secret without revealing it."""
        return assess_secret(self.value)


def _refuse_or_warn(settings: Settings, error: KeyConfigurationError) -> None:
    if settings.is_production:
        raise error
    warnings.warn(f"{error.message} (refused in production)", SecurityWarning, stacklevel=3)


def check_key_file(path: Path, settings: Settings) -> None:
    """Refuse (production) or warn about (development) a key file other users can access."""
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise ConfigurationError(f"cannot read key file {path}: {exc.strerror}") from None
    if not stat.S_ISREG(mode):
        raise ConfigurationError(f"key file {path} is not a regular file")
    if mode & 0o077:
        _refuse_or_warn(
            settings,
            InsecureKeyFileError(
                f"key file {path} is accessible by group or others "
                f"(mode {stat.S_IMODE(mode):04o}); run: chmod 600 {path}"
            ),
        )


def load_secret(settings: Settings) -> LoadedSecret | None:
    """The configured HMAC secret, or ``None`` when neither source is set."""
    if settings.secret is not None and settings.secret_file is not None:
        raise ConfigurationError(f"set only one of {ENV_PREFIX}SECRET and {ENV_PREFIX}SECRET_FILE")
    if settings.secret_file is not None:
        check_key_file(settings.secret_file, settings)
        # A trailing newline is an artefact of `echo` and editors, not part of the secret.
        value = settings.secret_file.read_bytes().rstrip(b"\r\n")
        return LoadedSecret(value, "file")
    if settings.secret is not None:
        source = ".env" if settings.came_from_dotenv("secret") else "env"
        return LoadedSecret(settings.secret.get_secret_value().encode("utf-8"), source)
    return None


def _hmac_key(settings: Settings) -> Key:
    secret = load_secret(settings)
    if secret is None:
        raise ConfigurationError(
            f"{settings.algorithm} needs {ENV_PREFIX}SECRET or {ENV_PREFIX}SECRET_FILE "
            "(generate one with: jwtauth secret generate)"
        )
    strength = secret.strength()
    if not strength.ok:
        _refuse_or_warn(settings, WeakSecretError(f"{ENV_PREFIX}SECRET: {strength.reason}"))
    return HMACKey(secret.value, settings.algorithm)


def write_private_file(path: Path, data: bytes) -> None:
    """Create ``path`` with mode 0600 and write ``data``; never overwrite an existing file."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)  # the umask may only remove bits, but be explicit
        os.write(fd, data)
    finally:
        os.close(fd)


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
    path = settings.state_dir / f"signing-key-{settings.algorithm.value}.pem"
    if not path.exists():
        settings.state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        key = generate_key(settings.algorithm)
        write_private_file(path, private_pem(key))
        logger.warning("generated a development signing key in %s (kid %s)", path, key.kid)
        return key
    check_key_file(path, settings)
    return key_from_pem(path.read_bytes(), settings.algorithm)


def load_signing_key(settings: Settings) -> Key:
    """The signing key the settings describe, after every start-up check."""
    if settings.algorithm.family == "HS":
        if settings.private_key_file is not None:
            raise ConfigurationError(
                f"{ENV_PREFIX}PRIVATE_KEY_FILE is for asymmetric algorithms, "
                f"not {settings.algorithm}"
            )
        return _hmac_key(settings)
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
    check_key_file(settings.private_key_file, settings)
    key = key_from_pem(settings.private_key_file.read_bytes(), settings.algorithm)
    if not key.can_sign:
        raise KeyConfigurationError(f"{ENV_PREFIX}PRIVATE_KEY_FILE holds a public key")
    return key


def load_keyring(settings: Settings) -> KeyRing:
    """A keyring whose signing key comes from :func:`load_signing_key`."""
    return KeyRing(load_signing_key(settings))
