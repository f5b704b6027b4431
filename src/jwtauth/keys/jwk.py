"""Conversions between `cryptography` key objects and JSON Web Keys (RFC 7517, 7518, 8037).

Written here rather than taken from a JOSE library because the core needs only public-key
export and import of the four key types, and the token engine deliberately depends on nothing
but `cryptography` (docs/decisions/002-own-jws-layer.md).
"""

from __future__ import annotations

import hashlib
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from jwtauth.tokens.encoding import b64url_decode, b64url_encode, json_dumps

__all__ = ["CURVES", "CURVE_NAMES", "PublicKey", "public_jwk", "public_key_from_jwk", "thumbprint"]

PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey

# JWK `crv` name -> (curve class, coordinate size in bytes).
CURVES: dict[str, tuple[type[ec.EllipticCurve], int]] = {
    "P-256": (ec.SECP256R1, 32),
    "P-384": (ec.SECP384R1, 48),
    "P-521": (ec.SECP521R1, 66),
}
# cryptography curve name -> JWK `crv`.
CURVE_NAMES = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}

# RFC 7638 section 3.2: the required members, in lexicographic order, for each key type.
_THUMBPRINT_MEMBERS = {
    "RSA": ("e", "kty", "n"),
    "EC": ("crv", "kty", "x", "y"),
    "OKP": ("crv", "kty", "x"),
}


def _uint(value: int, size: int | None = None) -> str:
    size = size if size is not None else max(1, (value.bit_length() + 7) // 8)
    return b64url_encode(value.to_bytes(size, "big"))


def public_jwk(key: PublicKey) -> dict[str, str]:
    """Return the public JWK members of ``key``; private members can never appear."""
    if isinstance(key, rsa.RSAPublicKey):
        numbers = key.public_numbers()
        return {"kty": "RSA", "n": _uint(numbers.n), "e": _uint(numbers.e)}
    if isinstance(key, ec.EllipticCurvePublicKey):
        crv = CURVE_NAMES[key.curve.name]
        size = CURVES[crv][1]
        point = key.public_numbers()
        return {"kty": "EC", "crv": crv, "x": _uint(point.x, size), "y": _uint(point.y, size)}
    raw = key.public_bytes_raw()
    return {"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(raw)}


def _check_coordinates(x: bytes, y: bytes, size: int) -> None:
    if len(x) != size or len(y) != size:
        raise ValueError("coordinate length does not match the curve")


def public_key_from_jwk(jwk: dict[str, Any]) -> PublicKey:
    """Build a public key from a JWK; private members, if present, are ignored."""
    kty = jwk.get("kty")
    try:
        if kty == "RSA":
            n = int.from_bytes(b64url_decode(jwk["n"]), "big")
            e = int.from_bytes(b64url_decode(jwk["e"]), "big")
            return rsa.RSAPublicNumbers(e, n).public_key()
        if kty == "EC":
            curve, size = CURVES[jwk["crv"]]
            x, y = b64url_decode(jwk["x"]), b64url_decode(jwk["y"])
            _check_coordinates(x, y, size)
            point = ec.EllipticCurvePublicNumbers(
                int.from_bytes(x, "big"), int.from_bytes(y, "big"), curve()
            )
            return point.public_key()
        if kty == "OKP" and jwk.get("crv") == "Ed25519":
            return ed25519.Ed25519PublicKey.from_public_bytes(b64url_decode(jwk["x"]))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ValueError(f"invalid {kty} JWK") from exc
    raise ValueError("unsupported JWK key type; expected RSA, EC or OKP (Ed25519)")


def thumbprint(jwk: dict[str, str]) -> str:
    """The RFC 7638 JWK thumbprint (SHA-256, base64url) of a public JWK."""
    members = _THUMBPRINT_MEMBERS[jwk["kty"]]
    canonical = json_dumps({name: jwk[name] for name in members})
    return b64url_encode(hashlib.sha256(canonical).digest())
