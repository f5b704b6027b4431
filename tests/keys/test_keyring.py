"""The keyring: lookup by `kid` only, immutable rotation, public-only JWKS."""

from __future__ import annotations

import json
import secrets

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from jwtauth.errors import (
    BadSignatureError,
    ConfigurationError,
    KeyConfigurationError,
    UnknownKeyError,
)
from jwtauth.keys.key import ECKey, EdDSAKey, HMACKey, Key
from jwtauth.keys.keyring import KeyRing
from jwtauth.tokens.encoding import b64url_encode, json_dumps
from jwtauth.tokens.jws import JWS

PRIVATE_JWK_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


def hmac_key(kid: str | None = None) -> HMACKey:
    # A fixed first byte keeps random secrets away from 0x30 (DER), see tests/keys/test_key.py.
    return HMACKey(b"k" + secrets.token_bytes(63), "HS256", kid)


def ec_key(kid: str | None = None) -> ECKey:
    return ECKey(ec.generate_private_key(ec.SECP256R1()), "ES256", kid)


def ed_key(kid: str | None = None) -> EdDSAKey:
    return EdDSAKey(ed25519.Ed25519PrivateKey.generate(), "EdDSA", kid)


def token_with_header(key: Key, header: dict[str, str]) -> str:
    """A token signed by ``key`` with exactly ``header`` (which need not name a kid)."""
    head = b64url_encode(json_dumps(header))
    body = b64url_encode(json_dumps({"sub": "x"}))
    signing_input = f"{head}.{body}".encode()
    return f"{head}.{body}.{b64url_encode(key.sign(signing_input))}"


def test_get_finds_keys_by_kid_only() -> None:
    signing, other = ec_key("a"), ed_key("b")
    ring = KeyRing(signing, [other])
    assert ring.get("a") is signing
    assert ring.get("b") is other
    assert ring.signing_key is signing
    for kid in ("c", "A", "a ", "", None):
        with pytest.raises(UnknownKeyError):
            ring.get(kid)


def test_keyring_collection_protocol() -> None:
    a, b, c = ec_key("a"), ed_key("b"), hmac_key("c")
    ring = KeyRing(a, [b, c])
    assert len(ring) == 3
    assert list(ring) == [a, b, c]
    assert "a" in ring
    assert "b" in ring
    assert "z" not in ring
    assert None not in ring


def test_two_keys_with_one_kid_are_refused() -> None:
    with pytest.raises(KeyConfigurationError, match="share the kid"):
        KeyRing(ec_key("same"), [ed_key("same")])
    with pytest.raises(KeyConfigurationError, match="share the kid"):
        KeyRing(None, [hmac_key("same"), hmac_key("same")])
    ring = KeyRing(ec_key("a"))
    with pytest.raises(KeyConfigurationError, match="share the kid"):
        ring.with_key(ec_key("a"))


def test_the_same_key_object_twice_is_one_key() -> None:
    key = ec_key("a")
    ring = KeyRing(key, [key])
    assert len(ring) == 1
    assert len(ring.with_key(key)) == 1


def test_signing_key_needs_a_private_part() -> None:
    public_only = ECKey(ec.generate_private_key(ec.SECP256R1()).public_key())
    with pytest.raises(KeyConfigurationError, match="no private part"):
        KeyRing(public_only)
    ring = KeyRing(None, [public_only])
    assert ring.get(public_only.kid) is public_only
    with pytest.raises(KeyConfigurationError):
        KeyRing(ec_key(), [public_only]).with_signing(public_only.kid)


def test_verify_only_keyring_has_no_signing_key() -> None:
    ring = KeyRing(None, [ec_key("a")])
    with pytest.raises(ConfigurationError):
        _ = ring.signing_key
    with pytest.raises(ConfigurationError):
        _ = KeyRing(None).signing_key
    assert len(KeyRing(None)) == 0


# kidless --------------------------------------------------------------------------------------


def test_kidless_tokens_are_refused_by_default() -> None:
    key = hmac_key("a")
    ring = KeyRing(key)
    with pytest.raises(UnknownKeyError):
        ring.get(None)
    token = token_with_header(key, {"alg": "HS256", "typ": "at+jwt"})
    with pytest.raises(UnknownKeyError):
        JWS().verify(token, ring)


def test_kidless_names_the_key_for_tokens_without_kid() -> None:
    legacy, current = hmac_key("legacy"), ec_key("current")
    ring = KeyRing(current, [legacy], kidless="legacy")
    assert ring.get(None) is legacy
    # Only a missing kid falls back; an unknown kid never does.
    with pytest.raises(UnknownKeyError):
        ring.get("unknown")
    token = token_with_header(legacy, {"alg": "HS256", "typ": "at+jwt"})
    assert JWS().verify(token, ring).key is legacy
    # A kidless token signed by another key does not verify with the kidless key.
    forged = token_with_header(hmac_key(), {"alg": "HS256"})
    with pytest.raises(BadSignatureError):
        JWS().verify(forged, ring)


def test_kidless_must_name_a_held_key() -> None:
    with pytest.raises(KeyConfigurationError, match="kidless"):
        KeyRing(ec_key("a"), kidless="b")


def test_kidless_survives_rotation_and_goes_with_its_key() -> None:
    a, b = ec_key("a"), ec_key("b")
    ring = KeyRing(a, [b], kidless="b")
    assert ring.with_key(ed_key("c")).get(None) is b
    assert ring.with_signing("b").get(None) is b
    rotated = ring.without("b")
    with pytest.raises(UnknownKeyError):
        rotated.get(None)
    assert ring.get(None) is b  # the original is unchanged


# Rotation -------------------------------------------------------------------------------------


def test_with_key_returns_a_new_keyring() -> None:
    a, b = ec_key("a"), ec_key("b")
    ring = KeyRing(a)
    grown = ring.with_key(b)
    assert grown is not ring
    assert "b" in grown
    assert "b" not in ring
    assert grown.signing_key is a
    assert len(ring) == 1


def test_with_signing_promotes_a_key_and_keeps_the_old_one() -> None:
    old, new = ec_key("old"), ed_key("new")
    ring = KeyRing(old).with_key(new)
    rotated = ring.with_signing("new")
    assert rotated.signing_key is new
    assert rotated.get("old") is old
    assert ring.signing_key is old
    with pytest.raises(UnknownKeyError):
        ring.with_signing("missing")


def test_without_removes_a_verification_key() -> None:
    old, new = ec_key("old"), ec_key("new")
    ring = KeyRing(old).with_key(new).with_signing("new")
    retired = ring.without("old")
    assert "old" not in retired
    assert "old" in ring
    assert retired.signing_key is new
    with pytest.raises(UnknownKeyError):
        retired.get("old")
    assert not retired.holds(old)
    assert ring.holds(old)


def test_the_signing_key_cannot_be_removed() -> None:
    ring = KeyRing(ec_key("s"), [ec_key("v")])
    with pytest.raises(KeyConfigurationError, match="signing key"):
        ring.without("s")
    assert ring.signing_key.kid == "s"


def test_without_an_unknown_kid_is_refused() -> None:
    """Retiring a compromised key under a mistyped kid must fail loudly, not leave it trusted."""
    ring = KeyRing(ec_key("s"), [ec_key("2024-key")])
    with pytest.raises(KeyConfigurationError, match="no key"):
        ring.without("2024_key")
    assert [k.kid for k in ring] == ["s", "2024-key"]


def test_holds_is_identity_not_kid() -> None:
    key = ec_key("a")
    impostor = ec_key("a")
    ring = KeyRing(key)
    assert ring.holds(key)
    assert not ring.holds(impostor)
    assert ring.with_key(ed_key("b")).holds(key)


def test_verify_only_keyring_rotation() -> None:
    a, b = ec_key("a"), ec_key("b")
    ring = KeyRing(None, [a])
    assert ring.with_key(b).get("b") is b
    assert "a" not in ring.with_key(b).without("a")
    promoted = ring.with_key(b).with_signing("b")
    assert promoted.signing_key is b


# JWKS -----------------------------------------------------------------------------------------


def test_jwks_lists_public_keys_only() -> None:
    a, b, secret = ec_key("a"), ed_key("b"), hmac_key("h")
    jwks = KeyRing(a, [b, secret]).jwks()
    assert set(jwks) == {"keys"}
    assert [k["kid"] for k in jwks["keys"]] == ["a", "b"]
    for jwk in jwks["keys"]:
        assert not PRIVATE_JWK_MEMBERS & jwk.keys()
        assert jwk["use"] == "sig"
    assert jwks["keys"][0] == a.public_jwk()
    # Serializable as is.
    assert json.loads(json.dumps(jwks)) == jwks


def test_jwks_of_an_hmac_keyring_is_empty() -> None:
    assert KeyRing(hmac_key("h")).jwks() == {"keys": []}


def test_jwks_follows_rotation() -> None:
    old, new = ec_key("old"), ec_key("new")
    ring = KeyRing(old).with_key(new).with_signing("new")
    assert {k["kid"] for k in ring.jwks()["keys"]} == {"old", "new"}
    assert {k["kid"] for k in ring.without("old").jwks()["keys"]} == {"new"}


def test_repr_names_kids_and_no_material() -> None:
    secret = b"k" + secrets.token_bytes(63)
    ring = KeyRing(HMACKey(secret, kid="h"), [ec_key("e")])
    text = repr(ring)
    assert text == "KeyRing(signing='h', kids=['h', 'e'])"
    assert secret.hex()[:16] not in text
