"""Signing with Vault/OpenBao Transit: the private key never enters this process.

A :class:`TransitKey` is a :class:`~jwtauth.keys.key.Key` whose :meth:`~TransitKey.sign` asks
Transit to sign with one pinned version of a named key; verification is local, with that
version's public key read from the key's read endpoint. :func:`load_transit_keyring` turns the
key's versions into a keyring: the newest version signs, every older version still available
verifies, each under its RFC 7638 thumbprint as `kid`. Rotating the Transit key
(``bao write -f transit/keys/<name>/rotate``) and loading the keyring again therefore adds a
`kid`; raising ``min_decryption_version`` retires the versions below it.

Blocking: the token engine is synchronous and :meth:`TransitKey.sign` is one HTTP round trip,
so issuing a token with a Transit key blocks the calling thread for that round trip (about a
millisecond on loopback; ``bench/transit.py``). Async callers must issue in a worker thread
(``anyio.to_thread.run_sync`` / ``asyncio.to_thread``), never on the event loop. Verification
never calls Vault.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from jwtauth.config import ENV_PREFIX, Settings
from jwtauth.errors import (
    ConfigurationError,
    KeyConfigurationError,
    SecretsManagerError,
    SigningUnavailableError,
)
from jwtauth.keys.algorithms import Algorithm
from jwtauth.keys.key import ECKey, EdDSAKey, Key, key_from_pem
from jwtauth.keys.keyring import KeyRing
from jwtauth.sources.vault import (
    VAULT_ERRORS,
    describe_vault_error,
    unexpected_answer,
    vault_client,
)

__all__ = ["TRANSIT_KEY_TYPES", "TransitKey", "load_transit_keyring", "transit_keyring"]

#: Transit key type -> (JWS algorithm, Transit `hash_algorithm`; None where the type fixes it).
TRANSIT_KEY_TYPES: dict[str, tuple[Algorithm, str | None]] = {
    "ecdsa-p256": (Algorithm.ES256, "sha2-256"),
    "ecdsa-p384": (Algorithm.ES384, "sha2-384"),
    "ecdsa-p521": (Algorithm.ES512, "sha2-512"),
    "ed25519": (Algorithm.EdDSA, None),
}

_HASH_FOR = dict(TRANSIT_KEY_TYPES.values())


def _b64decode_any(text: str) -> bytes:
    # Transit marshals ECDSA signatures as JWS (base64url, unpadded) and Ed25519 ones as
    # standard padded base64; one decoder takes both.
    return base64.urlsafe_b64decode(
        text.translate(str.maketrans("+/", "-_")) + "=" * (-len(text) % 4)
    )


class TransitKey(Key):
    """One version of a Transit signing key: signs through Vault, verifies locally.

    Args:
        client: an hvac client (:func:`jwtauth.sources.vault.vault_client`).
        name: the Transit key's name.
        version: the key version this object signs with; pinned, so a rotation by someone else
            cannot make signatures appear under a `kid` they do not belong to.
        public: that version's public key, which gives the algorithm, the `kid`, the JWK and
            local verification.
        mount: the Transit mount point.
    """

    __slots__ = ("_client", "_hash_algorithm", "_public", "mount", "name", "version")
    families = ("ES", "Ed")
    remote = True  # every signature is an HTTP round trip to Vault

    def __init__(
        self,
        client: Any,
        *,
        name: str,
        version: int,
        public: ECKey | EdDSAKey,
        mount: str = "transit",
    ) -> None:
        self._client = client
        self._public = public
        self.name = name
        self.version = version
        self.mount = mount
        self._hash_algorithm = _HASH_FOR[public.alg]
        super().__init__(public.alg, public.kid)
        self.signature_size = public.signature_size

    @property
    def can_sign(self) -> bool:
        return True

    def _default_kid(self) -> str:
        return self._public.kid

    def public_jwk(self) -> dict[str, str]:
        return self._public.public_jwk()

    def verify(self, signing_input: bytes, signature: bytes) -> bool:
        return self._public.verify(signing_input, signature)

    def sign(self, signing_input: bytes) -> bytes:
        """Sign through Transit (one HTTP round trip) and check the result locally.

        Raises:
            SigningUnavailableError: Vault cannot sign, or answered with a signature that this
                version's public key does not verify (the key was replaced: reload the keyring).
        """
        options: dict[str, Any] = {}
        if self._hash_algorithm is not None:
            # Transit hashes the input itself (prehashed=false) and returns JOSE's r || s.
            options = {"hash_algorithm": self._hash_algorithm, "marshaling_algorithm": "jws"}
        try:
            response = self._client.secrets.transit.sign_data(
                name=self.name,
                hash_input=base64.b64encode(signing_input).decode("ascii"),
                key_version=self.version,
                prehashed=False,
                mount_point=self.mount,
                **options,
            )
            signature = self.decode_signature(response["data"]["signature"])
        except VAULT_ERRORS as exc:
            raise SigningUnavailableError(
                f"Vault Transit could not sign with {self._label()}: {describe_vault_error(exc)}"
            ) from None
        except (KeyError, TypeError, ValueError):
            raise SigningUnavailableError(
                f"Vault Transit answered {self._label()} with no usable signature"
            ) from None
        # A token that would not verify is never issued: this catches a Transit key deleted and
        # re-created under the same name, whose version numbers start again with new keys.
        if not self._public.verify(signing_input, signature):
            raise SigningUnavailableError(
                f"the signature from {self._label()} does not verify with its public key; the "
                "Transit key was replaced, reload the keyring"
            )
        return signature

    def decode_signature(self, marshaled: str) -> bytes:
        """JOSE signature bytes from Transit's ``vault:v<N>:<base64>``; ECDSA signatures in DER
        (Transit's default marshaling) are converted to the fixed-width r || s of RFC 7518 3.4.

        Raises:
            ValueError: not a signature of this key version.
        """
        prefix, version, encoded = marshaled.split(":")
        if prefix != "vault" or version != f"v{self.version}":
            raise ValueError("the signature is not from the pinned key version")
        try:
            signature = _b64decode_any(encoded)
        except binascii.Error:
            raise ValueError("the signature is not base64") from None
        # By length, not by a leading 0x30: one raw r || s in 256 starts with that byte too.
        if self._hash_algorithm is not None and len(signature) != self.signature_size:
            coordinate = self.signature_size // 2
            r, s = decode_dss_signature(signature)
            signature = r.to_bytes(coordinate, "big") + s.to_bytes(coordinate, "big")
        return signature

    def _label(self) -> str:
        return f"key {self.mount}/{self.name} version {self.version}"

    def __repr__(self) -> str:
        return (
            f"TransitKey(alg={self.alg.value!r}, kid={self.kid!r}, name={self.name!r}, "
            f"version={self.version!r})"
        )


def _public_key(key_type: str, public: str, alg: Algorithm) -> ECKey | EdDSAKey:
    if key_type == "ed25519":
        raw = base64.b64decode(public, validate=True)
        return EdDSAKey(ed25519.Ed25519PublicKey.from_public_bytes(raw), alg)
    key = key_from_pem(public.encode("ascii"), alg)
    if not isinstance(key, ECKey):
        raise KeyConfigurationError(f"Transit returned a {type(key).__name__} for an ECDSA key")
    return key


def _read_key(client: Any, name: str, mount: str) -> dict[str, Any]:
    try:
        response = client.secrets.transit.read_key(name=name, mount_point=mount)
    except VAULT_ERRORS as exc:
        raise SecretsManagerError(
            f"Vault Transit key {mount}/{name}: {describe_vault_error(exc)}"
        ) from None
    data = response.get("data") if isinstance(response, dict) else None
    if not isinstance(data, dict):
        raise SecretsManagerError(
            f"Vault Transit key {mount}/{name}: {unexpected_answer(response)}"
        )
    return data


def load_transit_keyring(
    client: Any, name: str, *, mount: str = "transit", settings: Settings | None = None
) -> KeyRing:
    """A keyring from a Transit key's versions: the newest signs, the others verify.

    An exportable key, or one that allows plaintext backup, can leave Vault, which defeats the
    point of Transit: refused in production and a ``SecurityWarning`` in development (given
    ``settings``; without them, always refused).

    Raises:
        SecretsManagerError: the key cannot be read.
        KeyConfigurationError: the key cannot sign JWS, or could leave Vault.
    """
    data = _read_key(client, name, mount)
    key_type = data.get("type")
    if key_type not in TRANSIT_KEY_TYPES or not data.get("supports_signing"):
        supported = ", ".join(TRANSIT_KEY_TYPES)
        raise KeyConfigurationError(
            f"Transit key {mount}/{name} is of type {key_type!r}; JWS signing needs {supported}"
        )
    if data.get("exportable") or data.get("allow_plaintext_backup"):
        error = KeyConfigurationError(
            f"Transit key {mount}/{name} is exportable or allows plaintext backup, so its "
            "private key can leave Vault; create a non-exportable key"
        )
        if settings is None:
            raise error
        settings.refuse_or_warn(error)
    alg = TRANSIT_KEY_TYPES[key_type][0]
    floor = max(int(data.get("min_decryption_version") or 1), 1)
    publics = {
        int(version): _public_key(key_type, entry["public_key"], alg)
        for version, entry in data.get("keys", {}).items()
        if int(version) >= floor
    }
    latest = int(data.get("latest_version") or 0)
    if latest not in publics:
        raise KeyConfigurationError(f"Transit key {mount}/{name} has no usable latest version")
    signing = TransitKey(client, name=name, version=latest, public=publics.pop(latest), mount=mount)
    return KeyRing(signing, publics.values())


def transit_keyring(settings: Settings, *, client: Any = None) -> KeyRing:
    """The keyring of ``JWTAUTH_TRANSIT_KEY_NAME`` on ``JWTAUTH_TRANSIT_MOUNT``, through the
    Vault client of ``JWTAUTH_VAULT_URL``/``_TOKEN``. Call it again after a rotation.

    Raises:
        ConfigurationError: missing settings, or an explicit ``JWTAUTH_ALGORITHM`` that is not
            the Transit key's.
    """
    if not settings.transit_key_name:
        raise ConfigurationError(f"{ENV_PREFIX}TRANSIT_KEY_NAME must be set to sign with Transit")
    keyring = load_transit_keyring(
        client if client is not None else vault_client(settings.vault_config()),
        settings.transit_key_name,
        mount=settings.transit_mount,
        settings=settings,
    )
    alg = keyring.signing_key.alg
    if settings.source_of("algorithm") != "default" and settings.algorithm != alg:
        raise ConfigurationError(
            f"{ENV_PREFIX}ALGORITHM is {settings.algorithm} but Transit key "
            f"{settings.transit_key_name!r} signs {alg}"
        )
    return keyring
