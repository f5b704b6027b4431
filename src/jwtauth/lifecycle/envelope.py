"""Envelope encryption of stored key material (AES-256-GCM, from `cryptography`).

Each key is sealed under its own random data key, and the data key under the key-encryption
key (KEK), which never enters the database. The key's `kid` and algorithm are the associated
data, so a sealed blob copied onto another row does not open. A blob names the KEK it was sealed
under by a labelled hash (nothing usable about the KEK), so a wrong KEK is reported as such.

Blob layout (version 1)::

    0x01 | kek id (8) | nonce (12) | wrapped data key (32 + 16) | nonce (12) | sealed material
"""

from __future__ import annotations

import hashlib
import os
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from jwtauth.errors import KeyConfigurationError, KeyRotationError
from jwtauth.keys.algorithms import Algorithm
from jwtauth.keys.key import HMACKey, Key, key_from_pem
from jwtauth.tokens.encoding import b64url_decode, b64url_encode

__all__ = ["KEK_BYTES", "KeyEncryptionKey", "key_from_material", "key_material"]

KEK_BYTES: Final = 32
_VERSION: Final = b"\x01"
_ID_BYTES: Final = 8
_NONCE: Final = 12
_WRAPPED: Final = KEK_BYTES + 16
_HEADER: Final = 1 + _ID_BYTES + _NONCE + _WRAPPED + _NONCE


class KeyEncryptionKey:
    """A 256-bit AES-GCM key that seals and opens stored key material; its repr hides it."""

    __slots__ = ("_aead", "kek_id")

    def __init__(self, key: bytes) -> None:
        if len(key) != KEK_BYTES:
            raise KeyConfigurationError(f"the key-encryption key must be {KEK_BYTES} bytes")
        self._aead = AESGCM(key)
        self.kek_id = hashlib.sha256(b"jwtauth kek id\x00" + key).digest()[:_ID_BYTES]

    @classmethod
    def generate(cls) -> KeyEncryptionKey:
        """A fresh random KEK."""
        return cls(AESGCM.generate_key(bit_length=KEK_BYTES * 8))

    @classmethod
    def from_text(cls, text: bytes) -> KeyEncryptionKey:
        """A KEK from its base64url text (43 characters, trailing line ends ignored)."""
        try:
            return cls(b64url_decode(text.strip().decode("ascii")))
        except (ValueError, UnicodeDecodeError):
            raise KeyConfigurationError(
                f"the key-encryption key must be {KEK_BYTES} bytes in base64url"
            ) from None

    @staticmethod
    def encode(key: bytes) -> bytes:
        """The text form of a raw KEK, as :meth:`from_text` reads it."""
        return b64url_encode(key).encode("ascii")

    def seal(self, material: bytes, *, kid: str, alg: Algorithm) -> bytes:
        """Encrypt ``material`` under a new data key bound to ``kid`` and ``alg``."""
        data_key = AESGCM.generate_key(bit_length=256)
        wrap_nonce, nonce = os.urandom(_NONCE), os.urandom(_NONCE)
        aad = _aad(kid, alg)
        wrapped = self._aead.encrypt(wrap_nonce, data_key, aad)
        sealed = AESGCM(data_key).encrypt(nonce, material, aad)
        return _VERSION + self.kek_id + wrap_nonce + wrapped + nonce + sealed

    def open(self, blob: bytes, *, kid: str, alg: Algorithm) -> bytes:
        """Decrypt a blob made by :meth:`seal` for the same ``kid`` and ``alg``.

        Raises:
            KeyRotationError: another KEK sealed it, or it was altered or moved.
        """
        if len(blob) <= _HEADER or blob[:1] != _VERSION:
            raise KeyRotationError(f"the stored material of key {kid!r} is not a sealed key")
        if blob[1 : 1 + _ID_BYTES] != self.kek_id:
            raise KeyRotationError(
                f"key {kid!r} was sealed under another key-encryption key than the configured one"
            )
        at = 1 + _ID_BYTES
        wrap_nonce, at = blob[at : at + _NONCE], at + _NONCE
        wrapped, at = blob[at : at + _WRAPPED], at + _WRAPPED
        nonce, sealed = blob[at : at + _NONCE], blob[at + _NONCE :]
        aad = _aad(kid, alg)
        try:
            data_key = self._aead.decrypt(wrap_nonce, wrapped, aad)
            return AESGCM(data_key).decrypt(nonce, sealed, aad)
        except InvalidTag:
            raise KeyRotationError(f"the stored material of key {kid!r} fails its check") from None

    def __repr__(self) -> str:
        return "KeyEncryptionKey(**********)"


def _aad(kid: str, alg: Algorithm) -> bytes:
    return b"jwtauth keyring v1\x00" + kid.encode("utf-8") + b"\x00" + alg.value.encode("ascii")


def key_material(key: Key) -> bytes:
    """What is sealed for ``key``: an HMAC secret as is, an asymmetric key as PKCS#8 PEM."""
    if isinstance(key, HMACKey):
        secret: bytes = object.__getattribute__(key, "_secret")
        return secret
    private = getattr(key, "_private", None)
    if private is None:
        raise KeyConfigurationError(f"key {key.kid!r} has no private part to store")
    return bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def key_from_material(material: bytes, alg: Algorithm, kid: str) -> Key:
    """The key :func:`key_material` described."""
    if alg.family == "HS":
        return HMACKey(material, alg, kid)
    return key_from_pem(material, alg, kid=kid)
