"""Keys, each bound to exactly one algorithm for its whole life.

The key, never the token, decides how a signature is checked: an :class:`HMACKey` can only
compute an HMAC, an :class:`ECKey` only verifies ECDSA on its own curve. Algorithm confusion
(a public key used as an HMAC secret, `alg: none`, RS256 swapped for HS256) therefore has no
code path to run on.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from abc import ABC, abstractmethod
from typing import Any, ClassVar

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from jwtauth.errors import KeyConfigurationError, WeakSecretError
from jwtauth.keys.algorithms import Algorithm
from jwtauth.keys.jwk import (
    CURVE_NAMES,
    CURVES,
    PublicKey,
    public_jwk,
    public_key_from_jwk,
    thumbprint,
)
from jwtauth.keys.material import looks_like_public_key_material
from jwtauth.tokens.encoding import b64url_encode

__all__ = [
    "ECKey",
    "EdDSAKey",
    "HMACKey",
    "Key",
    "RSAKey",
    "generate_key",
    "key_from_jwk",
    "key_from_pem",
]

MIN_RSA_BITS = 2048
_HASHES: dict[int, type[hashes.HashAlgorithm]] = {
    256: hashes.SHA256,
    384: hashes.SHA384,
    512: hashes.SHA512,
}
_EC_CURVE_FOR = {Algorithm.ES256: "P-256", Algorithm.ES384: "P-384", Algorithm.ES512: "P-521"}

# Ed25519's field prime p and group order L (RFC 8032 section 5.1).
_ED25519_P = 2**255 - 19
_ED25519_L = 2**252 + 27742317777372353535851937790883648493
_ED25519_Y_MASK = (1 << 255) - 1  # an encoding is y, little-endian, with x's sign in bit 255
# Every encoding of the 8 points of small order, as the y it carries, compared without the sign
# bit: the 7 entries of libsodium's ge25519_has_small_order (src/libsodium/crypto_core/ed25519/
# ref10/ed25519_ref10.c), times 2 signs. Under such a public key A, [8]A is the identity, so
# the cofactorless check [S]B = R + [k]A holds for R = identity and S = 0 whatever the message:
# anyone forges. As a signature's R, the point reveals the key (S = k * a) or shows a signer
# that is not following RFC 8032. libsodium refuses both; so does this.
_ED25519_SMALL_ORDER_Y = frozenset(
    {
        0,  # x = +-sqrt(-1): the two points of order 4
        1,  # x = 0: the identity (order 1)
        # the four points of order 8, y and -y
        2707385501144840649318225287225658788936804267575313519463743609750303402022,
        55188659117513257062467267217118295137698188065244968500265048394206261417927,
        _ED25519_P - 1,  # x = 0: the point of order 2
        _ED25519_P,  # 0 again, not reduced mod p
        _ED25519_P + 1,  # 1 again, not reduced mod p
    }
)


def _ed25519_y(encoded: bytes) -> int:
    return int.from_bytes(encoded, "little") & _ED25519_Y_MASK


def _check_ed25519_public_key(raw: bytes) -> None:
    """Refuse a public key of small order or whose y is not reduced mod p (RFC 8032 5.1.3).

    OpenSSL (through `cryptography`) accepts both: it stores the 32 bytes as they are.
    """
    y = _ed25519_y(raw)
    if y in _ED25519_SMALL_ORDER_Y:
        raise KeyConfigurationError("the Ed25519 public key is a point of small order")
    if y >= _ED25519_P:
        raise KeyConfigurationError("the Ed25519 public key is not canonically encoded")


class Key(ABC):
    """A key with its `kid` and the one algorithm it signs or verifies with."""

    __slots__ = ("alg", "kid", "signature_size")
    families: ClassVar[tuple[str, ...]]
    #: True when signing is a network call (a remote signer such as Vault Transit): async
    #: callers then issue tokens in a worker thread rather than block their event loop.
    remote: ClassVar[bool] = False
    #: The exact length in bytes of every signature this key makes (set by each subclass).
    signature_size: int

    def __init__(self, alg: Algorithm | str, kid: str | None) -> None:
        alg = Algorithm.parse(alg)
        if alg.family not in self.families:
            raise KeyConfigurationError(f"a {type(self).__name__} cannot be used with {alg}")
        self.alg: Algorithm = alg
        self.kid: str = kid if kid is not None else self._default_kid()

    @property
    @abstractmethod
    def can_sign(self) -> bool:
        """True when this key holds private (or secret) material."""

    @abstractmethod
    def sign(self, signing_input: bytes) -> bytes:
        """Sign ``signing_input`` (the ASCII of `header.payload`)."""

    @abstractmethod
    def verify(self, signing_input: bytes, signature: bytes) -> bool:
        """Return True when ``signature`` is valid: of exactly :attr:`signature_size` bytes and
        correct; constant-time for HMAC."""

    @abstractmethod
    def _default_kid(self) -> str: ...

    def public_jwk(self) -> dict[str, str]:
        """The public JWK with `kid`, `alg` and `use`; HMAC keys have none and raise."""
        raise KeyConfigurationError("HMAC keys are secret and have no public JWK")

    def __setattr__(self, name: str, value: Any) -> None:
        # Set once in __init__, then fixed: a keyring indexes keys by `kid`, and the algorithm is
        # the key's whole security contract.
        try:
            object.__getattribute__(self, name)
        except AttributeError:
            object.__setattr__(self, name, value)
            return
        raise AttributeError(f"{type(self).__name__}.{name} cannot be changed")

    def __repr__(self) -> str:
        # Never any key material, whatever the subclass.
        return f"{type(self).__name__}(alg={self.alg.value!r}, kid={self.kid!r})"


class HMACKey(Key):
    """A shared secret for HS256/384/512, at least as long as the hash output."""

    __slots__ = ("_digest", "_secret")
    families = ("HS",)

    def __init__(
        self, secret: bytes, alg: Algorithm | str = Algorithm.HS256, kid: str | None = None
    ) -> None:
        if not isinstance(secret, bytes):
            raise TypeError("an HMAC secret must be bytes")
        self._secret = secret
        super().__init__(alg, kid)
        minimum = self.alg.hash_bits // 8
        if len(secret) < minimum:
            # RFC 7518 section 3.2: the key MUST be at least as long as the hash output.
            raise WeakSecretError(f"{self.alg} needs an HMAC secret of at least {minimum} bytes")
        if looks_like_public_key_material(secret):
            # Some rules are tests of shape that a random secret passes by chance, rarely: the
            # message says how to get past one.
            raise WeakSecretError(
                "key material (a public or private key, an EC point, an RSA modulus) is not an"
                " HMAC secret; a random secret takes such a form by rare chance: draw another"
            )
        self._digest = f"sha{self.alg.hash_bits}"
        self.signature_size = self.alg.hash_bits // 8

    @property
    def can_sign(self) -> bool:
        return True

    def sign(self, signing_input: bytes) -> bytes:
        return hmac.digest(self._secret, signing_input, self._digest)

    def verify(self, signing_input: bytes, signature: bytes) -> bool:
        expected = hmac.digest(self._secret, signing_input, self._digest)
        return hmac.compare_digest(expected, signature)

    def _default_kid(self) -> str:
        # Derived through a labelled hash so that the kid reveals nothing usable about the secret.
        digest = hashlib.sha256(b"jwtauth hmac kid\x00" + self._secret).digest()
        return "hs-" + b64url_encode(digest[:12])


class _AsymmetricKey(Key):
    __slots__ = ("_private", "_public")

    _private: Any
    _public: Any

    @property
    def can_sign(self) -> bool:
        return self._private is not None

    def _require_private(self) -> Any:
        if self._private is None:
            raise KeyConfigurationError(f"key {self.kid!r} is a verification key and cannot sign")
        return self._private

    def public_jwk(self) -> dict[str, str]:
        return {**public_jwk(self._public), "kid": self.kid, "alg": self.alg.value, "use": "sig"}

    def _default_kid(self) -> str:
        return thumbprint(public_jwk(self._public))

    def public_pem(self) -> bytes:
        """The public key as PEM SubjectPublicKeyInfo."""
        return bytes(
            self._public.public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )


class RSAKey(_AsymmetricKey):
    """An RSA key (2048 bits or more) for one of RS256/384/512 or PS256/384/512."""

    __slots__ = ("_hash", "_padding")
    families = ("RS", "PS")  # PKCS#1 v1.5 and PSS share the RSA key type

    def __init__(
        self,
        key: rsa.RSAPrivateKey | rsa.RSAPublicKey,
        alg: Algorithm | str = Algorithm.RS256,
        kid: str | None = None,
    ):
        self._private = key if isinstance(key, rsa.RSAPrivateKey) else None
        self._public = key.public_key() if isinstance(key, rsa.RSAPrivateKey) else key
        if self._public.key_size < MIN_RSA_BITS:
            raise KeyConfigurationError(f"RSA keys must have at least {MIN_RSA_BITS} bits")
        super().__init__(alg, kid)
        self._hash = _HASHES[self.alg.hash_bits]()
        self.signature_size = (self._public.key_size + 7) // 8
        self._padding: padding.AsymmetricPadding = (
            # RFC 7518 section 3.5: the salt is as long as the hash output.
            padding.PSS(mgf=padding.MGF1(self._hash), salt_length=self._hash.digest_size)
            if self.alg.family == "PS"
            else padding.PKCS1v15()
        )

    def sign(self, signing_input: bytes) -> bytes:
        return bytes(self._require_private().sign(signing_input, self._padding, self._hash))

    def verify(self, signing_input: bytes, signature: bytes) -> bool:
        if len(signature) != self.signature_size:
            return False
        try:
            self._public.verify(signature, signing_input, self._padding, self._hash)
        except InvalidSignature:
            return False
        return True


class ECKey(_AsymmetricKey):
    """An ECDSA key on the curve its algorithm names: P-256, P-384 or P-521."""

    __slots__ = ("_coord", "_ecdsa")
    families = ("ES",)

    def __init__(
        self,
        key: ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey,
        alg: Algorithm | str | None = None,
        kid: str | None = None,
    ):
        self._private = key if isinstance(key, ec.EllipticCurvePrivateKey) else None
        self._public = key.public_key() if isinstance(key, ec.EllipticCurvePrivateKey) else key
        curve = CURVE_NAMES.get(key.curve.name)
        if curve is None:
            raise KeyConfigurationError("EC keys must be on P-256, P-384 or P-521")
        natural = next(a for a, c in _EC_CURVE_FOR.items() if c == curve)
        super().__init__(alg if alg is not None else natural, kid)
        if _EC_CURVE_FOR[self.alg] != curve:
            raise KeyConfigurationError(f"{self.alg} requires a {_EC_CURVE_FOR[self.alg]} key")
        self._coord = CURVES[curve][1]
        self.signature_size = 2 * self._coord
        self._ecdsa = ec.ECDSA(_HASHES[self.alg.hash_bits]())

    def sign(self, signing_input: bytes) -> bytes:
        der = self._require_private().sign(signing_input, self._ecdsa)
        r, s = decode_dss_signature(der)
        # JWS uses the fixed-width R || S form (RFC 7518 section 3.4), not DER.
        return bytes(r.to_bytes(self._coord, "big") + s.to_bytes(self._coord, "big"))

    def verify(self, signing_input: bytes, signature: bytes) -> bool:
        if len(signature) != self.signature_size:
            return False
        size = self._coord
        r = int.from_bytes(signature[:size], "big")
        s = int.from_bytes(signature[size:], "big")
        try:
            self._public.verify(encode_dss_signature(r, s), signing_input, self._ecdsa)
        except InvalidSignature:
            return False
        return True


class EdDSAKey(_AsymmetricKey):
    """An Ed25519 key for EdDSA (RFC 8037)."""

    __slots__ = ()
    families = ("Ed",)

    def __init__(
        self,
        key: ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey,
        alg: Algorithm | str = Algorithm.EdDSA,
        kid: str | None = None,
    ):
        self._private = key if isinstance(key, ed25519.Ed25519PrivateKey) else None
        self._public = key.public_key() if isinstance(key, ed25519.Ed25519PrivateKey) else key
        # Here, not in the JWK or PEM loaders: every way to a key (JWK, PEM, DER, raw bytes from
        # Vault Transit, a caller's own object) ends in this constructor.
        _check_ed25519_public_key(self._public.public_bytes_raw())
        super().__init__(alg, kid)
        self.signature_size = 64

    def sign(self, signing_input: bytes) -> bytes:
        return bytes(self._require_private().sign(signing_input))

    def verify(self, signing_input: bytes, signature: bytes) -> bool:
        if len(signature) != self.signature_size:
            return False
        # RFC 8032 section 5.1.7 requires S < L (else S + L is a second valid signature); a
        # small-order R is libsodium's rule (see _ED25519_SMALL_ORDER_Y). Checked here so that
        # neither depends on what the OpenSSL build underneath enforces.
        if _ed25519_y(signature[:32]) in _ED25519_SMALL_ORDER_Y:
            return False
        if int.from_bytes(signature[32:], "little") >= _ED25519_L:
            return False
        try:
            self._public.verify(signature, signing_input)
        except InvalidSignature:
            return False
        return True


def _wrap(key: Any, alg: Algorithm | str | None, kid: str | None) -> Key:
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        return RSAKey(key, alg if alg is not None else Algorithm.RS256, kid)
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        return ECKey(key, alg, kid)
    if isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey):
        return EdDSAKey(key, alg if alg is not None else Algorithm.EdDSA, kid)
    raise KeyConfigurationError("unsupported key type; expected RSA, EC (P-256/384/521) or Ed25519")


def key_from_pem(pem: bytes, alg: Algorithm | str | None = None, *, kid: str | None = None) -> Key:
    """Load a PEM private key (to sign) or public key (to verify) bound to ``alg``."""
    loaded: Any
    try:
        if b"PRIVATE KEY" in pem:
            loaded = serialization.load_pem_private_key(pem, password=None)
        else:
            loaded = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise KeyConfigurationError("the PEM data is not a supported, unencrypted key") from exc
    return _wrap(loaded, alg, kid)


def key_from_jwk(jwk: dict[str, Any], alg: Algorithm | str | None = None) -> Key:
    """Build a verification key from a public JWK; `alg` comes from the JWK or the argument."""
    chosen = alg if alg is not None else jwk.get("alg")
    if chosen is None:
        raise KeyConfigurationError("a JWK without `alg` needs an explicit algorithm")
    try:
        public: PublicKey = public_key_from_jwk(jwk)
    except ValueError as exc:
        raise KeyConfigurationError(str(exc)) from exc
    kid = jwk.get("kid")
    return _wrap(public, chosen, kid if isinstance(kid, str) else None)


def generate_key(alg: Algorithm | str, *, kid: str | None = None, rsa_bits: int = 3072) -> Key:
    """Generate a fresh signing key for ``alg`` (HMAC secrets are 64 random bytes)."""
    alg = Algorithm.parse(alg)
    if alg.family == "HS":
        return HMACKey(secrets.token_bytes(64), alg, kid)
    if alg.family in ("RS", "PS"):
        return RSAKey(rsa.generate_private_key(65537, rsa_bits), alg, kid)
    if alg.family == "ES":
        curve_cls = CURVES[_EC_CURVE_FOR[alg]][0]
        return ECKey(ec.generate_private_key(curve_cls()), alg, kid)
    return EdDSAKey(ed25519.Ed25519PrivateKey.generate(), alg, kid)
