"""The published JWS examples of RFC 7515, 7519, 7520 and 8037, verified by the JWS layer alone.

The vectors live in ``tests/fixtures/rfc_vectors.json``: each has the verification key as a JWK,
the compact token and the expected payload (base64url). ``accept`` vectors must verify and yield
exactly that payload; ``reject`` vectors are unsecured (`alg: none`) and must be refused.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from jwtauth import JWS, AlgorithmError, BadSignatureError, HMACKey, Key, KeyRing, TokenError
from jwtauth.errors import UnknownKeyError
from jwtauth.keys.key import key_from_jwk

VECTORS_PATH = Path(__file__).parent / "fixtures" / "rfc_vectors.json"
VECTORS: list[dict[str, Any]] = json.loads(VECTORS_PATH.read_text(encoding="utf-8"))["vectors"]
ACCEPT = [v for v in VECTORS if v["expect"] == "accept"]
REJECT = [v for v in VECTORS if v["expect"] == "reject"]


def _b64url_decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _header(token: str) -> dict[str, Any]:
    header: dict[str, Any] = json.loads(_b64url_decode(token.split(".", 1)[0]))
    return header


def _key(vector: dict[str, Any]) -> Key:
    jwk: dict[str, Any] = vector["jwk"]
    if jwk["kty"] == "oct":
        return HMACKey(_b64url_decode(jwk["k"]), vector["alg"], kid=jwk.get("kid"))
    return key_from_jwk(jwk, vector["alg"])


def _ring(vector: dict[str, Any]) -> KeyRing:
    key = _key(vector)
    kidless = None if "kid" in _header(vector["token"]) else key.kid
    return KeyRing(None, [key], kidless=kidless)


def _ids(vectors: list[dict[str, Any]]) -> list[str]:
    return [str(v["name"]) for v in vectors]


def test_fixture_covers_every_published_family() -> None:
    """The file still holds what its description promises: every algorithm family and `none`."""
    algs = {v["alg"] for v in ACCEPT}
    assert {"HS256", "RS256", "PS384", "ES256", "ES512", "EdDSA"} <= algs
    assert {v["alg"] for v in REJECT} == {"none"}
    assert len(ACCEPT) == 9
    assert len(REJECT) == 2


@pytest.mark.parametrize("vector", ACCEPT, ids=_ids(ACCEPT))
def test_accept_vector_verifies_to_its_payload(vector: dict[str, Any]) -> None:
    verified = JWS().verify(vector["token"], _ring(vector))

    assert verified.payload == _b64url_decode(vector["payload_b64"])
    assert verified.header.alg == vector["alg"]
    assert verified.key.alg.value == vector["alg"]


@pytest.mark.parametrize("vector", ACCEPT, ids=_ids(ACCEPT))
def test_accept_vector_key_is_found_by_kid_or_by_the_kidless_setting(
    vector: dict[str, Any],
) -> None:
    """A token with a `kid` is matched by it; one without needs `kidless`, or names no key."""
    key = _key(vector)
    header = _header(vector["token"])
    if "kid" in header:
        assert key.kid == header["kid"] == vector["jwk"]["kid"]
        assert JWS().verify(vector["token"], KeyRing(None, [key])).key is key
    else:
        with pytest.raises(UnknownKeyError):
            JWS().verify(vector["token"], KeyRing(None, [key]))


@pytest.mark.parametrize("vector", REJECT, ids=_ids(REJECT))
def test_reject_vector_is_refused_as_unsecured(vector: dict[str, Any]) -> None:
    # Even a keyring that would verify kid-less tokens with some key must not accept `none`.
    fallback = HMACKey(bytes(range(100, 164)), "HS256", kid="fallback")
    ring = KeyRing(None, [fallback], kidless="fallback")

    with pytest.raises(AlgorithmError):
        JWS().verify(vector["token"], ring)


@pytest.mark.parametrize("vector", ACCEPT, ids=_ids(ACCEPT))
def test_flipping_the_last_signature_character_is_refused(vector: dict[str, Any]) -> None:
    token: str = vector["token"]
    last = token[-1]
    flipped = token[:-1] + ("A" if last != "A" else "B")
    assert flipped != token

    with pytest.raises(TokenError):
        JWS().verify(flipped, _ring(vector))


@pytest.mark.parametrize("vector", ACCEPT, ids=_ids(ACCEPT))
def test_flipping_one_signature_bit_is_a_bad_signature(vector: dict[str, Any]) -> None:
    """A canonically encoded signature with one bit changed reaches the signature check."""
    head, payload, signature = vector["token"].split(".")
    raw = bytearray(_b64url_decode(signature))
    raw[len(raw) // 2] ^= 0x01
    forged = f"{head}.{payload}.{_b64url_encode(bytes(raw))}"

    with pytest.raises(BadSignatureError):
        JWS().verify(forged, _ring(vector))


@pytest.mark.parametrize("vector", ACCEPT, ids=_ids(ACCEPT))
def test_vector_key_refuses_the_other_vectors(vector: dict[str, Any]) -> None:
    """No vector verifies with another vector's key (each key is bound to its own algorithm)."""
    ring = _ring(vector)
    key = _key(vector)
    for other in ACCEPT:
        if _key(other).kid == key.kid and other["alg"] == vector["alg"]:
            continue  # the same key and algorithm (RFC 7520 reuses one key for several vectors)
        with pytest.raises(TokenError):
            JWS().verify(other["token"], ring)


def test_rfc8037_thumbprint_is_the_default_kid() -> None:
    """RFC 8037 appendix A.3: the Ed25519 key's RFC 7638 thumbprint is its default `kid`."""
    (vector,) = [v for v in ACCEPT if v["alg"] == "EdDSA"]
    assert _key(vector).kid == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
