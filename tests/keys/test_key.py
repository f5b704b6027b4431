"""Keys: one algorithm per key for life, no key material in reprs or JWKs, RFC 7638 kids."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

from jwtauth.errors import KeyConfigurationError, WeakSecretError
from jwtauth.keys.algorithms import Algorithm
from jwtauth.keys.key import (
    ECKey,
    EdDSAKey,
    HMACKey,
    Key,
    RSAKey,
    generate_key,
    key_from_jwk,
    key_from_pem,
)
from jwtauth.tokens.encoding import b64url_decode, b64url_encode

PRIVATE_JWK_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}
ASYMMETRIC_ALGS = [a for a in Algorithm if a.family != "HS"]

# RFC 7638 section 3.1: the example RSA key and its SHA-256 thumbprint.
RFC7638_N = (
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPeb"
    "WKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368Q"
    "QMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2"
    "NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
)
RFC7638_THUMBPRINT = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def hmac_secret(size: int = 64) -> bytes:
    # The fixed first byte keeps random secrets away from 0x30 (a DER SEQUENCE), which has its
    # own deterministic tests below (test_hmac_secret_starting_with_0x30_is_accepted).
    return b"k" + secrets.token_bytes(size - 1)


@pytest.fixture(scope="module")
def rsa_private() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(65537, 2048)


def private_key_for(alg: Algorithm, rsa_private: rsa.RSAPrivateKey) -> Any:
    if alg.family in ("RS", "PS"):
        return rsa_private
    if alg.family == "ES":
        curve: ec.EllipticCurve = {
            "ES256": ec.SECP256R1(),
            "ES384": ec.SECP384R1(),
            "ES512": ec.SECP521R1(),
        }[alg.value]
        return ec.generate_private_key(curve)
    return ed25519.Ed25519PrivateKey.generate()


def make_key(alg: Algorithm, rsa_private: rsa.RSAPrivateKey, *, public: bool = False) -> Key:
    if alg.family == "HS":
        return HMACKey(hmac_secret(), alg)
    private = private_key_for(alg, rsa_private)
    material = private.public_key() if public else private
    if alg.family in ("RS", "PS"):
        return RSAKey(material, alg)
    if alg.family == "ES":
        return ECKey(material, alg)
    return EdDSAKey(material, alg)


# Algorithm binding ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("curve", "alg"),
    [
        (ec.SECP256R1, "ES384"),
        (ec.SECP256R1, "ES512"),
        (ec.SECP384R1, "ES256"),
        (ec.SECP384R1, "ES512"),
        (ec.SECP521R1, "ES256"),
        (ec.SECP521R1, "ES384"),
    ],
)
def test_ec_key_refuses_an_algorithm_for_another_curve(
    curve: type[ec.EllipticCurve], alg: str
) -> None:
    private = ec.generate_private_key(curve())
    with pytest.raises(KeyConfigurationError, match="requires"):
        ECKey(private, alg)
    with pytest.raises(KeyConfigurationError):
        ECKey(private.public_key(), alg)


@pytest.mark.parametrize(
    ("curve", "alg"),
    [
        (ec.SECP256R1, Algorithm.ES256),
        (ec.SECP384R1, Algorithm.ES384),
        (ec.SECP521R1, Algorithm.ES512),
    ],
)
def test_ec_key_defaults_to_its_curves_algorithm(
    curve: type[ec.EllipticCurve], alg: Algorithm
) -> None:
    key = ECKey(ec.generate_private_key(curve()))
    assert key.alg is alg
    assert key.signature_size == len(key.sign(b"x"))


def test_ec_key_on_an_unsupported_curve_is_refused() -> None:
    with pytest.raises(KeyConfigurationError, match="P-256"):
        ECKey(ec.generate_private_key(ec.SECP256K1()))


@pytest.mark.parametrize("alg", ["HS256", "RS256", "PS256", "EdDSA"])
def test_ec_key_refuses_other_families(alg: str) -> None:
    with pytest.raises(KeyConfigurationError):
        ECKey(ec.generate_private_key(ec.SECP256R1()), alg)


def test_rsa_key_below_2048_bits_is_refused() -> None:
    small = rsa.generate_private_key(65537, 1024)  # noqa: S505 - the point is its refusal
    with pytest.raises(KeyConfigurationError, match="2048"):
        RSAKey(small, "RS256")
    with pytest.raises(KeyConfigurationError, match="2048"):
        RSAKey(small.public_key(), "PS256")


def test_rsa_key_of_2048_bits_is_accepted(rsa_private: rsa.RSAPrivateKey) -> None:
    key = RSAKey(rsa_private, "RS256")
    assert key.signature_size == 256
    assert key.verify(b"x", key.sign(b"x"))


@pytest.mark.parametrize("alg", ["HS256", "ES256", "EdDSA"])
def test_rsa_key_refuses_other_families(rsa_private: rsa.RSAPrivateKey, alg: str) -> None:
    with pytest.raises(KeyConfigurationError):
        RSAKey(rsa_private, alg)


@pytest.mark.parametrize("alg", ["RS256", "PS256", "ES256", "EdDSA"])
def test_hmac_key_refuses_asymmetric_algorithms(alg: str) -> None:
    with pytest.raises(KeyConfigurationError):
        HMACKey(hmac_secret(), alg)


@pytest.mark.parametrize("alg", ["HS256", "RS256", "ES256"])
def test_eddsa_key_refuses_other_algorithms(alg: str) -> None:
    with pytest.raises(KeyConfigurationError):
        EdDSAKey(ed25519.Ed25519PrivateKey.generate(), alg)


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "hs256", "HS257", ""])
def test_unknown_algorithm_names_are_refused(alg: str) -> None:
    with pytest.raises((KeyConfigurationError, ValueError)):
        HMACKey(hmac_secret(), alg)


@pytest.mark.parametrize(("alg", "minimum"), [("HS256", 32), ("HS384", 48), ("HS512", 64)])
def test_hmac_secret_must_be_as_long_as_the_hash(alg: str, minimum: int) -> None:
    with pytest.raises(WeakSecretError, match=str(minimum)):
        HMACKey(hmac_secret(minimum - 1), alg)
    key = HMACKey(hmac_secret(minimum), alg)
    assert key.signature_size == minimum
    assert len(key.sign(b"x")) == minimum


def test_hmac_secret_must_be_bytes() -> None:
    with pytest.raises(TypeError):
        HMACKey("k" * 64)  # type: ignore[arg-type]


def test_hmac_secret_starting_with_0x30_is_accepted() -> None:
    # 0x30 is "0" and the DER SEQUENCE tag: a random or hex secret starts with it often
    # (1 in 256 for random bytes, 1 in 16 for hex), and it must not be mistaken for a key.
    for secret in (b"0" + b"\x9c" * 63, b"0123456789abcdef" * 4, b"\x30\x82" + bytes(range(62))):
        key = HMACKey(secret, "HS256")
        assert key.verify(b"x", key.sign(b"x"))


def test_generated_hmac_keys_never_fail() -> None:
    # Enough draws that a first byte of 0x30 (or other unlucky prefix) occurs almost surely.
    for _ in range(3000):
        key = generate_key("HS256")
        assert key.can_sign


@pytest.mark.parametrize("alg", ["HS256", "HS384", "HS512"])
def test_hmac_key_refuses_key_material_as_a_secret(
    rsa_private: rsa.RSAPrivateKey, alg: str
) -> None:
    public = rsa_private.public_key()
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    pkcs1 = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1)
    ssh = public.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    jwk = json.dumps(RSAKey(public, "RS256").public_jwk()).encode()
    for material in (pem, pkcs1, ssh, jwk, b"\n" + pem):
        with pytest.raises(WeakSecretError, match="key material"):
            HMACKey(material, alg)


def test_hmac_key_refuses_der_public_keys() -> None:
    # CVE-2024-33663: DER bypasses a PEM-only check.
    public = ec.generate_private_key(ec.SECP256R1()).public_key()
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert len(der) >= 32
    with pytest.raises(WeakSecretError, match="key material"):
        HMACKey(der, "HS256")


@pytest.mark.parametrize("alg", ASYMMETRIC_ALGS)
def test_verification_only_key_cannot_sign(rsa_private: rsa.RSAPrivateKey, alg: Algorithm) -> None:
    signer = make_key(alg, rsa_private)
    private = private_key_for(alg, rsa_private)
    verifier = type(signer)(private.public_key(), alg)
    assert signer.can_sign
    assert not verifier.can_sign
    with pytest.raises(KeyConfigurationError, match="cannot sign"):
        verifier.sign(b"x")
    signature = type(signer)(private, alg).sign(b"payload")
    assert verifier.verify(b"payload", signature)
    assert not verifier.verify(b"payloaD", signature)


@pytest.mark.parametrize("alg", list(Algorithm))
def test_sign_and_verify_roundtrip(rsa_private: rsa.RSAPrivateKey, alg: Algorithm) -> None:
    key = make_key(alg, rsa_private)
    signature = key.sign(b"header.payload")
    assert len(signature) == key.signature_size
    assert key.verify(b"header.payload", signature)
    assert not key.verify(b"header.payloae", signature)
    flipped = bytes([signature[0] ^ 1]) + signature[1:]
    assert not key.verify(b"header.payload", flipped)
    assert not key.verify(b"header.payload", b"")


@pytest.mark.parametrize("alg", ["HS256", "HS384", "HS512"])
def test_hmac_signature_is_the_rfc_2104_hmac(alg: str) -> None:
    secret = hmac_secret()
    key = HMACKey(secret, alg)
    digest = {"HS256": "sha256", "HS384": "sha384", "HS512": "sha512"}[alg]
    assert key.sign(b"a.b") == hmac.digest(secret, b"a.b", digest)


@pytest.mark.parametrize("alg", ["ES256", "ES384", "ES512"])
def test_ec_key_verify_requires_the_fixed_width_signature(alg: str) -> None:
    # RFC 7518 section 3.4: R and S are each exactly the coordinate size. A verifier that reads
    # integers of any width accepts many spellings of one signature.
    key = generate_key(alg)
    signature = key.sign(b"input")
    half = key.signature_size // 2
    r, s = signature[:half], signature[half:]
    assert key.verify(b"input", signature)
    for variant in (r + b"\x00" + s, signature + b"\x00", b"\x00" + r + s, r + s[:-1]):
        assert not key.verify(b"input", variant), len(variant)


# Reprs and JWKs -------------------------------------------------------------------------------


@pytest.mark.parametrize("alg", list(Algorithm))
def test_repr_is_exactly_class_alg_and_kid(rsa_private: rsa.RSAPrivateKey, alg: Algorithm) -> None:
    key = make_key(alg, rsa_private)
    expected = f"{type(key).__name__}(alg={alg.value!r}, kid={key.kid!r})"
    assert repr(key) == expected
    assert str(key) == expected


def test_hmac_repr_and_kid_reveal_nothing_of_the_secret() -> None:
    secret = hmac_secret()
    key = HMACKey(secret, "HS256")
    text = repr(key) + key.kid
    for rendering in (secret.hex(), b64url_encode(secret), repr(secret)[2:-1]):
        for i in range(0, len(rendering) - 8, 4):
            assert rendering[i : i + 8] not in text
    assert key.kid.startswith("hs-")
    assert HMACKey(secret, "HS256").kid == key.kid
    assert HMACKey(hmac_secret(), "HS256").kid != key.kid


def test_rsa_repr_reveals_no_private_numbers(rsa_private: rsa.RSAPrivateKey) -> None:
    key = RSAKey(rsa_private, "RS256")
    numbers = rsa_private.private_numbers()
    text = repr(key)
    assert len(text) < 100
    for value in (numbers.d, numbers.p, numbers.q, numbers.public_numbers.n):
        assert str(value)[:12] not in text
        assert format(value, "x")[:12] not in text


@pytest.mark.parametrize("alg", ASYMMETRIC_ALGS)
def test_public_jwk_has_no_private_members(rsa_private: rsa.RSAPrivateKey, alg: Algorithm) -> None:
    key = make_key(alg, rsa_private)
    jwk = key.public_jwk()
    assert not PRIVATE_JWK_MEMBERS & jwk.keys()
    assert jwk["kid"] == key.kid
    assert jwk["alg"] == alg.value
    assert jwk["use"] == "sig"
    allowed = {"kty", "kid", "alg", "use", "n", "e", "crv", "x", "y"}
    assert set(jwk) <= allowed


def test_rsa_public_jwk_members_are_the_key_numbers(rsa_private: rsa.RSAPrivateKey) -> None:
    jwk = RSAKey(rsa_private, "PS256").public_jwk()
    numbers = rsa_private.public_key().public_numbers()
    assert jwk["kty"] == "RSA"
    assert int.from_bytes(b64url_decode(jwk["n"]), "big") == numbers.n
    assert jwk["e"] == "AQAB"
    assert b64url_decode(jwk["n"])[0] != 0  # minimal big-endian encoding


@pytest.mark.parametrize(
    ("curve", "crv", "size"),
    [(ec.SECP256R1, "P-256", 32), (ec.SECP384R1, "P-384", 48), (ec.SECP521R1, "P-521", 66)],
)
def test_ec_public_jwk_coordinates_are_full_width(
    curve: type[ec.EllipticCurve], crv: str, size: int
) -> None:
    # RFC 7518 section 6.2.1.2: a coordinate is always the full size, even when its leading byte
    # is zero; search for such a key (1 in 256 for P-256 and P-384, 1 in 2 for P-521).
    for _ in range(20_000):
        private = ec.generate_private_key(curve())
        point = private.public_key().public_numbers()
        if point.x.bit_length() <= (size - 1) * 8:
            break
    else:
        pytest.fail("no key with a short x coordinate found")
    for candidate in (private, ec.generate_private_key(curve())):
        jwk = ECKey(candidate).public_jwk()
        point = candidate.public_key().public_numbers()
        assert jwk["kty"] == "EC"
        assert jwk["crv"] == crv
        x, y = b64url_decode(jwk["x"]), b64url_decode(jwk["y"])
        assert len(x) == size
        assert len(y) == size
        assert int.from_bytes(x, "big") == point.x
        assert int.from_bytes(y, "big") == point.y


def test_okp_public_jwk_is_the_raw_public_key() -> None:
    private = ed25519.Ed25519PrivateKey.generate()
    jwk = EdDSAKey(private).public_jwk()
    assert jwk["kty"] == "OKP"
    assert jwk["crv"] == "Ed25519"
    assert b64url_decode(jwk["x"]) == private.public_key().public_bytes_raw()


def test_hmac_key_has_no_public_jwk() -> None:
    with pytest.raises(KeyConfigurationError):
        HMACKey(hmac_secret()).public_jwk()


# Kids -----------------------------------------------------------------------------------------


def _reference_thumbprint(jwk: dict[str, str]) -> str:
    required = {
        "RSA": ("e", "kty", "n"),
        "EC": ("crv", "kty", "x", "y"),
        "OKP": ("crv", "kty", "x"),
    }
    members = {name: jwk[name] for name in required[jwk["kty"]]}
    canonical = json.dumps(members, sort_keys=True, separators=(",", ":")).encode()
    return b64url_encode(hashlib.sha256(canonical).digest())


def test_kid_of_the_rfc7638_example_key_is_its_thumbprint() -> None:
    key = key_from_jwk({"kty": "RSA", "n": RFC7638_N, "e": "AQAB"}, "RS256")
    assert key.kid == RFC7638_THUMBPRINT
    # The same key built from its numbers, not from a JWK.
    n = int.from_bytes(b64url_decode(RFC7638_N), "big")
    public = rsa.RSAPublicNumbers(65537, n).public_key()
    assert RSAKey(public, "RS256").kid == RFC7638_THUMBPRINT
    assert RSAKey(public, "PS512").kid == RFC7638_THUMBPRINT
    assert _reference_thumbprint({"kty": "RSA", "n": RFC7638_N, "e": "AQAB"}) == RFC7638_THUMBPRINT


def test_kid_in_the_jwk_is_kept() -> None:
    key = key_from_jwk({"kty": "RSA", "n": RFC7638_N, "e": "AQAB", "kid": "2011-04-29"}, "RS256")
    assert key.kid == "2011-04-29"


@pytest.mark.parametrize("alg", ASYMMETRIC_ALGS)
def test_default_kid_is_the_rfc7638_thumbprint(
    rsa_private: rsa.RSAPrivateKey, alg: Algorithm
) -> None:
    key = make_key(alg, rsa_private)
    assert key.kid == _reference_thumbprint(key.public_jwk())


@pytest.mark.parametrize("alg", ASYMMETRIC_ALGS)
def test_private_and_public_halves_share_the_kid(
    rsa_private: rsa.RSAPrivateKey, alg: Algorithm
) -> None:
    private = private_key_for(alg, rsa_private)
    cls = {"RS": RSAKey, "PS": RSAKey, "ES": ECKey, "Ed": EdDSAKey}[alg.family]
    assert cls(private, alg).kid == cls(private.public_key(), alg).kid


def test_explicit_kid_overrides_the_default(rsa_private: rsa.RSAPrivateKey) -> None:
    assert RSAKey(rsa_private, "RS256", kid="2024-01").kid == "2024-01"
    assert HMACKey(hmac_secret(), "HS256", kid="hs-1").kid == "hs-1"
    assert generate_key("ES256", kid="es").kid == "es"


# Loading --------------------------------------------------------------------------------------


def _pem(private: Any, *, public: bool) -> bytes:
    if public:
        return bytes(
            private.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
    return bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


@pytest.mark.parametrize("alg", ASYMMETRIC_ALGS)
def test_key_from_pem_private_signs_and_public_verifies(
    rsa_private: rsa.RSAPrivateKey, alg: Algorithm
) -> None:
    private = private_key_for(alg, rsa_private)
    signer = key_from_pem(_pem(private, public=False), alg)
    verifier = key_from_pem(_pem(private, public=True), alg)
    assert signer.alg is alg
    assert verifier.alg is alg
    assert signer.can_sign
    assert not verifier.can_sign
    assert signer.kid == verifier.kid
    assert verifier.verify(b"m", signer.sign(b"m"))
    assert key_from_pem(_pem(private, public=True), alg, kid="named").kid == "named"


def test_key_from_pem_default_algorithms(rsa_private: rsa.RSAPrivateKey) -> None:
    assert key_from_pem(_pem(rsa_private, public=True)).alg is Algorithm.RS256
    p384 = ec.generate_private_key(ec.SECP384R1())
    assert key_from_pem(_pem(p384, public=True)).alg is Algorithm.ES384
    ed = ed25519.Ed25519PrivateKey.generate()
    assert key_from_pem(_pem(ed, public=False)).alg is Algorithm.EdDSA


def test_key_from_pem_keeps_the_algorithm_binding(rsa_private: rsa.RSAPrivateKey) -> None:
    p256 = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(KeyConfigurationError):
        key_from_pem(_pem(p256, public=True), "ES384")
    with pytest.raises(KeyConfigurationError):
        key_from_pem(_pem(rsa_private, public=True), "HS256")
    with pytest.raises(KeyConfigurationError):
        key_from_pem(_pem(p256, public=False), "RS256")


@pytest.mark.parametrize(
    "pem",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"garbage", id="garbage"),
        pytest.param(
            b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", id="bad-public-body"
        ),
        pytest.param(
            b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
            id="bad-private-body",
        ),
    ],
)
def test_key_from_pem_refuses_bad_pem_with_key_configuration_error(pem: bytes) -> None:
    with pytest.raises(KeyConfigurationError):
        key_from_pem(pem)


def test_key_from_pem_refuses_encrypted_and_unsupported_keys() -> None:
    p256 = ec.generate_private_key(ec.SECP256R1())
    encrypted = p256.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pass"),
    )
    with pytest.raises(KeyConfigurationError):
        key_from_pem(encrypted)
    with pytest.raises(KeyConfigurationError):
        key_from_pem(_pem(ed448.Ed448PrivateKey.generate(), public=True))
    with pytest.raises(KeyConfigurationError):
        key_from_pem(_pem(ec.generate_private_key(ec.SECP256K1()), public=True))


@pytest.mark.parametrize("alg", ASYMMETRIC_ALGS)
def test_key_from_jwk_roundtrips_public_jwk(rsa_private: rsa.RSAPrivateKey, alg: Algorithm) -> None:
    signer = make_key(alg, rsa_private)
    verifier = key_from_jwk(signer.public_jwk())
    assert verifier.alg is alg
    assert verifier.kid == signer.kid
    assert not verifier.can_sign
    assert verifier.public_jwk() == signer.public_jwk()
    assert verifier.verify(b"m", signer.sign(b"m"))


def test_key_from_jwk_needs_an_algorithm() -> None:
    jwk = generate_key("ES256").public_jwk()
    del jwk["alg"]
    with pytest.raises(KeyConfigurationError, match="alg"):
        key_from_jwk(jwk)
    assert key_from_jwk(jwk, "ES256").alg is Algorithm.ES256


def test_key_from_jwk_ignores_private_members() -> None:
    signer = generate_key("ES256")
    jwk: dict[str, Any] = {**signer.public_jwk(), "d": b64url_encode(b"\x01" * 32)}
    verifier = key_from_jwk(jwk)
    assert not verifier.can_sign


def _es256_jwk() -> dict[str, Any]:
    return dict(generate_key("ES256").public_jwk())


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"kty": "oct", "k": "AAAA"}, id="oct"),
        pytest.param({"kty": "RSA"}, id="kty-mismatch"),
        pytest.param({"kty": 5}, id="kty-not-string"),
        pytest.param({"crv": "P-384"}, id="coordinates-for-another-curve"),
        pytest.param({"crv": "secp256k1"}, id="unknown-curve"),
        pytest.param({"crv": 5}, id="crv-not-string"),
        pytest.param({"x": "AAAA"}, id="short-coordinate"),
        pytest.param({"x": "not base64!"}, id="x-not-base64url"),
        pytest.param({"x": 5}, id="x-not-string"),
        pytest.param({"y": None}, id="y-null"),
        pytest.param({"x": b64url_encode(b"\x00" * 31 + b"\x01")}, id="point-not-on-curve"),
        pytest.param({"alg": "ES384"}, id="alg-for-another-curve"),
        pytest.param({"alg": "HS256"}, id="alg-hmac"),
        pytest.param({"alg": "none"}, id="alg-none"),
        pytest.param({"alg": "ECDH-ES"}, id="alg-unsupported"),
        pytest.param({"alg": 5}, id="alg-not-string"),
    ],
)
def test_key_from_jwk_refuses_bad_jwks_with_key_configuration_error(
    change: dict[str, Any],
) -> None:
    # JWKs come from outside (a JWKS document): every refusal must be a KeyConfigurationError
    # so that a caller can skip an unusable key rather than crash.
    jwk = {**_es256_jwk(), **change}
    with pytest.raises(KeyConfigurationError):
        key_from_jwk(jwk)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"n": 5}, id="n-not-string"),
        pytest.param({"e": None}, id="e-null"),
        pytest.param({"n": b64url_encode(b"\xff" * 128)}, id="1024-bit"),
    ],
)
def test_key_from_jwk_refuses_bad_rsa_jwks(change: dict[str, Any]) -> None:
    jwk = {"kty": "RSA", "n": RFC7638_N, "e": "AQAB", "alg": "RS256", **change}
    with pytest.raises(KeyConfigurationError):
        key_from_jwk(jwk)


def test_key_from_jwk_refuses_bad_okp_jwks() -> None:
    jwk: dict[str, Any] = dict(generate_key("EdDSA").public_jwk())
    for change in ({"crv": "Ed448"}, {"crv": "X25519"}, {"x": "AAAA"}):
        with pytest.raises(KeyConfigurationError):
            key_from_jwk({**jwk, **change})


# Generation -----------------------------------------------------------------------------------


@pytest.mark.parametrize("alg", [a for a in Algorithm if a.family not in ("RS", "PS")])
def test_generate_key_binds_the_algorithm(alg: Algorithm) -> None:
    key = generate_key(alg)
    assert key.alg is alg
    assert key.can_sign
    assert key.verify(b"m", key.sign(b"m"))


def test_generate_rsa_key_sizes() -> None:
    assert generate_key("PS256", rsa_bits=2048).signature_size == 256
    with pytest.raises(KeyConfigurationError):
        generate_key("RS256", rsa_bits=1024)


def test_generate_key_refuses_none() -> None:
    with pytest.raises(KeyConfigurationError, match="unsupported algorithm"):
        generate_key("none")


@pytest.mark.parametrize("attribute", ["kid", "alg", "signature_size"])
def test_key_identity_cannot_change_after_construction(attribute: str) -> None:
    key = generate_key("ES256", kid="fixed")
    with pytest.raises(AttributeError, match="cannot be changed"):
        setattr(key, attribute, "HS256")
    assert (key.kid, key.alg) == ("fixed", "ES256")


# Ed25519: small-order and non-canonical points, non-canonical signatures ---------------------
#
# The curve arithmetic below is RFC 8032 section 5.1 in affine coordinates, written here so that
# the small-order points are derived from the curve, not copied from the list the code uses.

ED_P = 2**255 - 19
ED_L = 2**252 + 27742317777372353535851937790883648493
ED_D = -121665 * pow(121666, -1, ED_P) % ED_P
EdPoint = tuple[int, int]
ED_IDENTITY: EdPoint = (0, 1)


def ed_add(a: EdPoint, b: EdPoint) -> EdPoint:
    (x1, y1), (x2, y2) = a, b
    t = ED_D * x1 * x2 * y1 * y2 % ED_P
    x3 = (x1 * y2 + x2 * y1) * pow(1 + t, -1, ED_P) % ED_P
    y3 = (y1 * y2 + x1 * x2) * pow(1 - t, -1, ED_P) % ED_P
    return x3, y3


def ed_mul(k: int, point: EdPoint) -> EdPoint:
    result = ED_IDENTITY
    while k:
        if k & 1:
            result = ed_add(result, point)
        point, k = ed_add(point, point), k >> 1
    return result


def ed_x_for(y: int) -> int | None:
    """A square root x of (y^2 - 1) / (d y^2 + 1), RFC 8032 section 5.1.3, or None."""
    u, v = (y * y - 1) % ED_P, (ED_D * y * y + 1) % ED_P
    x = u * pow(v, 3, ED_P) * pow(u * pow(v, 7, ED_P), (ED_P - 5) // 8, ED_P) % ED_P
    if v * x * x % ED_P == (-u) % ED_P:
        x = x * pow(2, (ED_P - 1) // 4, ED_P) % ED_P
    return x if v * x * x % ED_P == u else None


def ed_encode(point: EdPoint) -> bytes:
    x, y = point
    return (y | (x & 1) << 255).to_bytes(32, "little")


def small_order_points() -> set[EdPoint]:
    """The torsion subgroup: [L]P for a point P whose [L]P has order 8 generates all 8."""
    for y in range(2, 100):
        x = ed_x_for(y)
        if x is None:
            continue
        torsion = ed_mul(ED_L, (x, y))
        if ed_mul(4, torsion) != ED_IDENTITY:
            points = {ed_mul(i, torsion) for i in range(8)}
            assert all(ed_mul(8, p) == ED_IDENTITY for p in points)
            return points
    raise AssertionError("no point with a torsion component of order 8 below y = 100")


def small_order_encodings() -> dict[str, bytes]:
    """Every 32-byte encoding of a small-order point: both sign bits, and y + p below 2**255."""
    ys = {y for _, y in small_order_points()}
    names = {0: "0", 1: "1", ED_P - 1: "-1", ED_P: "p", ED_P + 1: "p+1"}
    found: dict[str, bytes] = {}
    for y in sorted(ys | {y + ED_P for y in ys if y + ED_P < 2**255}):
        for sign in (0, 1):
            name = f"y={names[y]}" if y in names else f"y={y:#x}"[:14]
            found[f"{name},sign={sign}"] = (y | sign << 255).to_bytes(32, "little")
    return found


SMALL_ORDER = small_order_encodings()
# RFC 8032 section 7.1, TESTs 1, 2 and 3: (secret key, public key, message, signature), in hex.
RFC8032_VECTORS = [
    (
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ),
    (
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ),
    (
        "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        "af82",
        "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
    ),
]


def test_the_small_order_encodings_are_the_fourteen_of_libsodium() -> None:
    # 8 points over 5 values of y (0, 1, -1 and +-c); y = 0 and 1 also as y + p: 7 values of y,
    # each with either sign bit.
    assert len(small_order_points()) == 8
    assert len(SMALL_ORDER) == 14


@pytest.mark.parametrize("encoded", list(SMALL_ORDER.values()), ids=list(SMALL_ORDER))
def test_small_order_ed25519_public_keys_are_refused_from_every_source(encoded: bytes) -> None:
    """Under a small-order key [8]A is the identity: R = identity, S = 0 verifies any message."""
    public = ed25519.Ed25519PublicKey.from_public_bytes(encoded)  # OpenSSL takes it as it is
    with pytest.raises(KeyConfigurationError, match="small order"):
        EdDSAKey(public)
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(encoded), "alg": "EdDSA"}
    with pytest.raises(KeyConfigurationError, match="small order"):
        key_from_jwk(jwk)
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(KeyConfigurationError, match="small order"):
        key_from_pem(pem)


@pytest.mark.parametrize("offset", range(2, 19))
@pytest.mark.parametrize("sign", [0, 1])
def test_ed25519_public_keys_with_y_not_reduced_mod_p_are_refused(offset: int, sign: int) -> None:
    # y = p + 0 and p + 1 are small-order; p + 2 ... p + 18 are every other unreduced y.
    encoded = (ED_P + offset | sign << 255).to_bytes(32, "little")
    with pytest.raises(KeyConfigurationError, match="not canonically encoded"):
        EdDSAKey(ed25519.Ed25519PublicKey.from_public_bytes(encoded))


@pytest.mark.parametrize(("secret", "public", "message", "signature"), RFC8032_VECTORS)
def test_rfc8032_vectors_still_sign_and_verify(
    secret: str, public: str, message: str, signature: str
) -> None:
    private = EdDSAKey(ed25519.Ed25519PrivateKey.from_private_bytes(bytes.fromhex(secret)))
    verifier = key_from_jwk(
        {"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(bytes.fromhex(public))}, "EdDSA"
    )
    assert private.public_jwk()["x"] == b64url_encode(bytes.fromhex(public))
    assert private.sign(bytes.fromhex(message)) == bytes.fromhex(signature)
    assert verifier.verify(bytes.fromhex(message), bytes.fromhex(signature))


def _signature_with_identity_r(seed: bytes, message: bytes) -> bytes:
    """A signature whose R is the identity, valid under the cofactorless equation.

    [S]B = R + [k]A with R = identity holds for S = k * a mod L: only the key's holder can make
    it (and it hands over `a`), but OpenSSL accepts it.
    """
    digest = hashlib.sha512(seed).digest()
    a = int.from_bytes(digest[:32], "little")
    a = (a & ~7 & ((1 << 254) - 1)) | (1 << 254)  # RFC 8032 section 5.1.5 clamping
    public = ed25519.Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()
    r = ed_encode(ED_IDENTITY)
    k = int.from_bytes(hashlib.sha512(r + public + message).digest(), "little") % ED_L
    return r + (k * a % ED_L).to_bytes(32, "little")


def test_a_signature_with_a_small_order_r_is_refused() -> None:
    seed = bytes.fromhex(RFC8032_VECTORS[0][0])
    private = ed25519.Ed25519PrivateKey.from_private_bytes(seed)
    signature = _signature_with_identity_r(seed, b"header.payload")
    private.public_key().verify(signature, b"header.payload")  # the primitive's verdict: valid
    assert not EdDSAKey(private.public_key()).verify(b"header.payload", signature)


class RecordingEd25519PublicKey(ed25519.Ed25519PublicKey):
    """A real public key that counts the signatures handed to the primitive."""

    def __init__(self, real: ed25519.Ed25519PublicKey) -> None:
        self.real = real
        self.verified = 0

    def public_bytes(
        self, encoding: serialization.Encoding, format: serialization.PublicFormat
    ) -> bytes:
        return self.real.public_bytes(encoding, format)

    def public_bytes_raw(self) -> bytes:
        return self.real.public_bytes_raw()

    def verify(self, signature: Any, data: Any) -> None:
        self.verified += 1
        self.real.verify(signature, data)

    def __eq__(self, other: object) -> bool:
        return self is other

    def __hash__(self) -> int:
        return id(self)

    def __copy__(self) -> ed25519.Ed25519PublicKey:
        return self

    def __deepcopy__(self, memo: dict[Any, Any]) -> ed25519.Ed25519PublicKey:
        return self


def test_a_signature_with_s_of_l_or_more_is_refused_before_the_primitive() -> None:
    """S and S + L both satisfy the equation (RFC 8032 5.1.7 requires S < L). The OpenSSL of
    this build refuses S >= L itself; jwtauth must not depend on that, so the signature never
    reaches it."""
    private = ed25519.Ed25519PrivateKey.generate()
    recording = RecordingEd25519PublicKey(private.public_key())
    key = EdDSAKey(recording)
    signature = private.sign(b"header.payload")
    s = int.from_bytes(signature[32:], "little")
    assert key.verify(b"header.payload", signature)
    assert recording.verified == 1
    for bad_s in (s + ED_L, ED_L, 2**256 - 1):
        assert not key.verify(b"header.payload", signature[:32] + bad_s.to_bytes(32, "little"))
    for encoded in SMALL_ORDER.values():
        assert not key.verify(b"header.payload", encoded + signature[32:])
    assert recording.verified == 1
