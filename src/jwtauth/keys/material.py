"""Is this public-key material? A key object's refusal of key material as an HMAC secret.

A verifier that accepts a public key as an HMAC secret lets anyone who has the public key forge
tokens (CVE-2017-11424, CVE-2022-29217, CVE-2024-33663), so :class:`~jwtauth.keys.key.HMACKey`
refuses whatever :func:`looks_like_public_key_material` recognises, in every encoding we know.
Here, with the key objects, rather than with the secret-strength checks
(:mod:`jwtauth.sources.strength`), which use it too: a key object needs no secret source.
"""

from __future__ import annotations

import base64
import binascii
import functools
import math
import re
from collections.abc import Callable

import orjson
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

__all__ = ["looks_like_public_key_material"]

_URLSAFE = bytes.maketrans(b"-_", b"+/")
_PUBLIC_KEY_PREFIXES = (
    b"-----BEGIN",
    b"ssh-rsa",
    b"ssh-ed25519",
    b"ssh-dss",
    b"ecdsa-sha2-",
    b"sk-ssh-",
    b"sk-ecdsa-",
    b"---- BEGIN SSH2",
)

# SEC 1 section 2.3.3 (X9.62) encodings of P-256, P-384 and P-521 points, by length: 0x04 || X || Y
# (uncompressed), 0x02/0x03 || X (compressed), and the bare X || Y of JWK `x` and `y` joined.
_NIST_CURVES: tuple[tuple[ec.EllipticCurve, int], ...] = (
    (ec.SECP256R1(), 32),
    (ec.SECP384R1(), 48),
    (ec.SECP521R1(), 66),
)
_UNCOMPRESSED_POINT = {1 + 2 * size: curve for curve, size in _NIST_CURVES}
_COMPRESSED_POINT = {1 + size: curve for curve, size in _NIST_CURVES}
_BARE_POINT = {2 * size: curve for curve, size in _NIST_CURVES}
# The lengths at which bytes may be an RSA modulus: 2048 to 16384 bits in steps of 512, every
# size in use from the jwtauth minimum up, minimal big-endian as in a JWK (RFC 7518 6.3.1.1).
_MODULUS_BYTES = frozenset(range(256, 2049, 64))
_SMALL_PRIME_BOUND = 1 << 16
_BASE64URL = re.compile(rb"[A-Za-z0-9_-]+={0,2}")


def _loads_as_key(material: bytes) -> bool:
    loaders = (
        serialization.load_pem_public_key,
        serialization.load_der_public_key,
        serialization.load_ssh_public_key,
        x509.load_pem_x509_certificate,
        x509.load_der_x509_certificate,
    )
    for loader in loaders:
        try:
            loader(material)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            continue
        return True
    for private_loader in (serialization.load_der_private_key, serialization.load_pem_private_key):
        try:
            private_loader(material, password=None)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            continue
        return True
    return False


def _is_jwk_json(material: bytes) -> bool:
    if not material.lstrip().startswith(b"{"):
        return False
    try:
        value = orjson.loads(material)
    except orjson.JSONDecodeError:
        return False
    return isinstance(value, dict) and ("kty" in value or "keys" in value)


def _decodings(text: bytes) -> list[bytes]:
    """``text`` read as standard base64, base64url (padded or not) and hex, where it is one."""
    compact = b"".join(text.split())
    decoders: tuple[Callable[[bytes], bytes], ...] = (
        lambda t: base64.b64decode(t, validate=True),
        lambda t: base64.b64decode(t.translate(_URLSAFE) + b"=" * (-len(t) % 4), validate=True),
        lambda t: bytes.fromhex(t.decode("ascii")),
    )
    found: list[bytes] = []
    for decode in decoders:
        try:
            found.append(decode(compact))
        except (binascii.Error, ValueError):
            continue
    return found


def _is_encoded_key(stripped: bytes) -> bool:
    """The base64, base64url or hex form of a DER key or of an OpenSSH key's wire format."""
    for decoded in _decodings(stripped):
        # OpenSSH wire format: a 4-byte length, then the key type name.
        if decoded[4:].startswith((b"ssh-", b"ecdsa-sha2-", b"sk-")):
            return True
        if decoded[:1] == b"\x30" and _loads_as_key(decoded):
            return True
        if _is_ec_point(decoded, compressed=False):
            return True
    return False


def _on_curve(curve: ec.EllipticCurve, encoded: bytes) -> bool:
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(curve, encoded)
    except ValueError:
        return False
    return True


def _is_ec_point(data: bytes, *, compressed: bool) -> bool:
    """A P-256/384/521 public point as raw bytes.

    False positives: 0x04 || X || Y and bare X || Y must satisfy the curve equation, which a
    random X and Y do with probability about 2**-256 (P-256) or less. A compressed point is
    any X whose X**3 + aX + b is a square, about half of them, so a random binary secret of 33
    or 49 bytes is taken for one about once in 256 draws (its first byte is 0x02 or 0x03 once in
    128) and of 67 bytes once in 2**15 (P-521's X must also be below 2**521). Hence
    ``compressed`` only for raw bytes: text never starts with 0x02 or 0x03, and a base64 or hex
    secret of those decoded lengths would otherwise be refused once in 256.
    """
    first = data[:1]
    if first == b"\x04" and (curve := _UNCOMPRESSED_POINT.get(len(data))) is not None:
        return _on_curve(curve, data)
    if compressed and first in (b"\x02", b"\x03"):
        curve = _COMPRESSED_POINT.get(len(data))
        return curve is not None and _on_curve(curve, data)
    curve = _BARE_POINT.get(len(data))
    return curve is not None and _on_curve(curve, b"\x04" + data)


@functools.cache
def _small_primorial() -> int:
    """The product of the primes below 2**16 (one number, about 94,000 bits)."""
    sieve = bytearray([1]) * _SMALL_PRIME_BOUND
    sieve[0:2] = b"\x00\x00"
    for n in range(2, math.isqrt(_SMALL_PRIME_BOUND) + 1):
        if sieve[n]:
            sieve[n * n :: n] = bytes(len(range(n * n, _SMALL_PRIME_BOUND, n)))
    return math.prod(n for n in range(_SMALL_PRIME_BOUND) if sieve[n])


def _is_rsa_modulus(data: bytes) -> bool:
    """Big-endian bytes shaped like an RSA modulus of 2048 bits or more.

    That is: 256 to 2048 bytes in steps of 64, optionally after one 0x00 (the DER INTEGER form),
    top bit set, odd, and no prime factor below 2**16. Every real modulus (two large primes)
    passes. Random bytes are indistinguishable from a modulus in general; these rules refuse a
    random binary secret of exactly those lengths about once in 40 draws: top bit 1/2, odd 1/2,
    and an odd number has no prime factor below 2**16 with probability about
    2 * exp(-gamma) / ln(2**16) = 0.10 (Mertens' theorem). Text never matches (its first byte is
    ASCII, below 0x80). Trial division further up buys little: below 2**20 the rate is one in
    50. The refusal is loud and drawing another secret fixes it.
    """
    if len(data) - 1 in _MODULUS_BYTES and data[0] == 0:
        data = data[1:]
    if len(data) not in _MODULUS_BYTES or data[0] < 0x80 or not data[-1] & 1:
        return False
    return math.gcd(int.from_bytes(data, "big"), _small_primorial()) == 1


def _is_jwk_modulus(text: bytes) -> bool:
    """The JWK `n` member of an RSA key (a Base64urlUInt, RFC 7518 section 6.3.1.1).

    False positives: the base64url text of random bytes of a modulus length, such as
    ``secrets.token_urlsafe(256)``, is refused at the rate of :func:`_is_rsa_modulus`, about
    once in 40. Standard base64 (``+``, ``/``) and hex are not read, so ``openssl rand -base64``
    and ``-hex`` output of any length never is.
    """
    if _BASE64URL.fullmatch(text) is None:
        return False
    unpadded = text.rstrip(b"=")
    try:
        decoded = base64.urlsafe_b64decode(unpadded + b"=" * (-len(unpadded) % 4))
    except (binascii.Error, ValueError):
        return False
    return _is_rsa_modulus(decoded)


def looks_like_public_key_material(material: bytes) -> bool:
    """True when ``material`` is a key or certificate in any encoding we know.

    PEM (SPKI, PKCS#1 ``RSA PUBLIC KEY``, certificates, private keys), OpenSSH and RFC 4716 SSH2
    public keys, DER (the CVE-2024-33663 bypass of PEM-only checks), DER or OpenSSH wire format
    in base64, base64url or hex, and JWK JSON are all recognised; so are the raw forms an attacker
    who knows the public key can equally compute: a P-256/384/521 point (X9.62, compressed or
    not, or bare X || Y; uncompressed also in base64, base64url or hex), RSA modulus bytes and a
    JWK `n` string. The last two, and compressed points, are tests of shape that some random
    secrets of those exact lengths pass too (see :func:`_is_rsa_modulus` and
    :func:`_is_ec_point` for the rates); text secrets of other lengths never do. A single EC
    coordinate or an Ed25519 public key (any 32 bytes) is not recognised: nothing tells it from
    random bytes.
    """
    stripped = material.strip()
    if any(stripped.startswith(prefix) for prefix in _PUBLIC_KEY_PREFIXES):
        return True
    if b"-----BEGIN" in stripped or b"---- BEGIN SSH2" in stripped or _is_jwk_json(stripped):
        return True
    # DER is a SEQUENCE (0x30); only then is it worth asking the parsers. The unstripped bytes
    # are tried too (a DER key may well end in a byte that happens to be ASCII whitespace), and
    # so is the material without trailing NULs (C-string artefacts).
    for candidate in {material, stripped, material.rstrip(b"\x00")}:
        if candidate[:1] == b"\x30" and _loads_as_key(candidate):
            return True
    if _is_ec_point(material, compressed=True) or _is_rsa_modulus(material):
        return True
    return _is_jwk_modulus(stripped) or _is_encoded_key(stripped.rstrip(b"\x00"))
