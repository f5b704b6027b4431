"""One test per published JWT/JOSE advisory: the attack, replayed against jwtauth.

Each test's docstring names the advisory it replays. The attacks are built by hand (raw HMAC,
hand-written headers) so that they do exactly what the published exploit did.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import hashlib
import hmac
import inspect
import json
import socket
import urllib.request
from collections.abc import Callable
from typing import Any, NamedTuple

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID

from jwtauth import (
    JWS,
    AlgorithmError,
    BadSignatureError,
    ClaimError,
    ClaimsPolicy,
    ECKey,
    ForbiddenHeaderError,
    HMACKey,
    IssuerError,
    Key,
    KeyConfigurationError,
    KeyRing,
    MissingClaimError,
    RSAKey,
    TokenError,
    TokenManager,
    UnknownKeyError,
    WeakSecretError,
    generate_key,
)
from jwtauth.keys.key import key_from_jwk, key_from_pem
from jwtauth.keys.material import looks_like_public_key_material
from jwtauth.sources.strength import assess_secret
from jwtauth.testing import FrozenClock
from tests.forge import b64u, jseg, registered_claims

ISSUER = "https://auth.example"
AUDIENCE = "api"
NOW = 1_700_000_000
SECRET = hashlib.sha512(b"jwtauth advisories HS256 secret").digest()
WHITESPACE = b" \t\n\r\x0b\x0c"

ES = ECKey(ec.derive_private_key(0xC0FFEE, ec.SECP256R1()), "ES256", kid="es-1")
HS = HMACKey(SECRET, "HS256", kid="hs-1")


# --- helpers -------------------------------------------------------------------------------------


def claims(**overrides: Any) -> dict[str, Any]:
    return registered_claims(ISSUER, AUDIENCE, NOW, **overrides)


def signed_with(header: dict[str, Any], payload: Any, sign: Callable[[bytes], bytes]) -> str:
    signing_input = f"{jseg(header)}.{jseg(payload)}"
    return f"{signing_input}.{b64u(sign(signing_input.encode('ascii')))}"


def raw_hmac(secret: bytes) -> Callable[[bytes], bytes]:
    """The attacker's HMAC-SHA256, keyed with whatever bytes they like."""
    return lambda data: hmac.new(secret, data, hashlib.sha256).digest()


def manager(keyring: KeyRing, **options: Any) -> TokenManager:
    settings: dict[str, Any] = {"issuer": ISSUER, "audience": AUDIENCE, "clock": FrozenClock(NOW)}
    settings.update(options)
    return TokenManager(keyring, **settings)


# --- key material in every encoding --------------------------------------------------------------


class Keys(NamedTuple):
    rsa: rsa.RSAPrivateKey
    ec: ec.EllipticCurvePrivateKey
    ed: ed25519.Ed25519PrivateKey


@pytest.fixture(scope="module")
def keys() -> Keys:
    return Keys(
        rsa=rsa.generate_private_key(65537, 2048),
        ec=ec.derive_private_key(0xC0FFEE, ec.SECP256R1()),
        ed=ed25519.Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"ed25519").digest()),
    )


def _certificate(private: ed25519.Ed25519PrivateKey) -> x509.Certificate:
    # Ed25519 signatures are deterministic, so this certificate is the same on every run.
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "auth.example")])
    start = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(0x1D)
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=3650))
        .sign(private, None)
    )


def _der_spki_ending_in_whitespace() -> bytes:
    """A real P-256 public key whose DER encoding happens to end in an ASCII whitespace byte.

    About one P-256 key in 43 is like this (the last byte of `y` is 0x09-0x0d or 0x20).
    """
    for scalar in range(1, 10_000):
        public = ec.derive_private_key(scalar, ec.SECP256R1()).public_key()
        der = public.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        if der[-1] in WHITESPACE:
            return der
    raise AssertionError("no such key found")


Enc = serialization.Encoding
Pub = serialization.PublicFormat
Priv = serialization.PrivateFormat
NOENC = serialization.NoEncryption()


def _material(keys: Keys, name: str) -> bytes:
    rsa_pub, ec_pub, ed_pub = keys.rsa.public_key(), keys.ec.public_key(), keys.ed.public_key()
    n_member = RSAKey(rsa_pub).public_jwk()["n"]
    modulus = rsa_pub.public_numbers().n.to_bytes(rsa_pub.key_size // 8, "big")
    makers: dict[str, Callable[[], bytes]] = {
        # PEM
        "pem-spki-rsa": lambda: rsa_pub.public_bytes(Enc.PEM, Pub.SubjectPublicKeyInfo),
        "pem-spki-ec": lambda: ec_pub.public_bytes(Enc.PEM, Pub.SubjectPublicKeyInfo),
        "pem-spki-rsa-whitespace-prefixed": lambda: (
            b"\n \t" + rsa_pub.public_bytes(Enc.PEM, Pub.SubjectPublicKeyInfo)
        ),
        "pem-spki-rsa-crlf": lambda: rsa_pub.public_bytes(
            Enc.PEM, Pub.SubjectPublicKeyInfo
        ).replace(b"\n", b"\r\n"),
        "pem-pkcs1-rsa-public": lambda: rsa_pub.public_bytes(Enc.PEM, Pub.PKCS1),
        # OpenSSH
        "openssh-ssh-ed25519": lambda: ed_pub.public_bytes(Enc.OpenSSH, Pub.OpenSSH),
        "openssh-ecdsa-sha2-nistp256": lambda: ec_pub.public_bytes(Enc.OpenSSH, Pub.OpenSSH),
        "openssh-ssh-rsa": lambda: rsa_pub.public_bytes(Enc.OpenSSH, Pub.OpenSSH),
        "openssh-ssh-ed25519-with-comment": lambda: (
            ed_pub.public_bytes(Enc.OpenSSH, Pub.OpenSSH) + b" deploy@auth.example\n"
        ),
        # DER
        "der-spki-rsa": lambda: rsa_pub.public_bytes(Enc.DER, Pub.SubjectPublicKeyInfo),
        "der-spki-ec": lambda: ec_pub.public_bytes(Enc.DER, Pub.SubjectPublicKeyInfo),
        "der-pkcs1-rsa-public": lambda: rsa_pub.public_bytes(Enc.DER, Pub.PKCS1),
        "der-spki-ec-ending-in-whitespace-byte": _der_spki_ending_in_whitespace,
        # Bare base64 bodies and RFC 4716, with no PEM armour or ssh- prefix to spot
        "base64-der-spki-ec": lambda: base64.b64encode(
            ec_pub.public_bytes(Enc.DER, Pub.SubjectPublicKeyInfo)
        ),
        "base64-openssh-ed25519-body": lambda: ed_pub.public_bytes(
            Enc.OpenSSH, Pub.OpenSSH
        ).split()[1],
        "base64url-der-spki-ec": lambda: base64.urlsafe_b64encode(
            ec_pub.public_bytes(Enc.DER, Pub.SubjectPublicKeyInfo)
        ).rstrip(b"="),
        "hex-der-spki-ec": lambda: (
            ec_pub.public_bytes(Enc.DER, Pub.SubjectPublicKeyInfo).hex().encode()
        ),
        "der-spki-ec-with-trailing-nul": lambda: (
            ec_pub.public_bytes(Enc.DER, Pub.SubjectPublicKeyInfo) + b"\x00"
        ),
        "rfc4716-ssh2-ed25519": lambda: (
            b"---- BEGIN SSH2 PUBLIC KEY ----\n"
            + ed_pub.public_bytes(Enc.OpenSSH, Pub.OpenSSH).split()[1]
            + b"\n---- END SSH2 PUBLIC KEY ----\n"
        ),
        # X.509 certificates
        "x509-pem": lambda: _certificate(keys.ed).public_bytes(Enc.PEM),
        "x509-der": lambda: _certificate(keys.ed).public_bytes(Enc.DER),
        # Private keys
        "pem-private-ec-pkcs8": lambda: keys.ec.private_bytes(Enc.PEM, Priv.PKCS8, NOENC),
        "pem-private-ec-sec1": lambda: keys.ec.private_bytes(
            Enc.PEM, Priv.TraditionalOpenSSL, NOENC
        ),
        "pem-private-rsa-pkcs1": lambda: keys.rsa.private_bytes(
            Enc.PEM, Priv.TraditionalOpenSSL, NOENC
        ),
        "pem-private-rsa-pkcs8": lambda: keys.rsa.private_bytes(Enc.PEM, Priv.PKCS8, NOENC),
        "openssh-private-ed25519": lambda: keys.ed.private_bytes(Enc.PEM, Priv.OpenSSH, NOENC),
        "der-private-ec-pkcs8": lambda: keys.ec.private_bytes(Enc.DER, Priv.PKCS8, NOENC),
        # JWK JSON
        "jwk-json-rsa": lambda: json.dumps(RSAKey(rsa_pub, kid="r").public_jwk()).encode(),
        "jwk-json-ec": lambda: json.dumps(ECKey(ec_pub, kid="e").public_jwk()).encode(),
        "jwk-json-ec-bare-members": lambda: json.dumps(
            {k: v for k, v in ECKey(ec_pub).public_jwk().items() if k in ("kty", "crv", "x", "y")}
        ).encode(),
        "jwk-json-pretty-printed": lambda: json.dumps(
            ECKey(ec_pub, kid="e").public_jwk(), indent=2
        ).encode(),
        "jwks-json": lambda: json.dumps({"keys": [ECKey(ec_pub, kid="e").public_jwk()]}).encode(),
        # Raw public-key forms (issue 13 item 13): what an attacker computes from the JWKS
        "x962-uncompressed-p256": lambda: ec_pub.public_bytes(Enc.X962, Pub.UncompressedPoint),
        "x962-uncompressed-p256-hex": lambda: (
            ec_pub.public_bytes(Enc.X962, Pub.UncompressedPoint).hex().encode()
        ),
        "x962-uncompressed-p256-base64": lambda: base64.b64encode(
            ec_pub.public_bytes(Enc.X962, Pub.UncompressedPoint)
        ),
        "x962-uncompressed-p256-base64url": lambda: b64u(
            ec_pub.public_bytes(Enc.X962, Pub.UncompressedPoint)
        ).encode(),
        "ec-x-and-y-p256": lambda: ec_pub.public_bytes(Enc.X962, Pub.UncompressedPoint)[1:],
        "rsa-modulus-bytes": lambda: modulus,
        "rsa-modulus-der-integer": lambda: b"\x00" + modulus,
        "jwk-n-string": lambda: n_member.encode("ascii"),
        "jwk-n-string-with-newline": lambda: n_member.encode("ascii") + b"\n",
    }
    return makers[name]()


def assert_refused_as_key_material(material: bytes) -> None:
    """The material is refused as an HMAC secret *because* it is key material, not for length."""
    assert len(material) >= 64  # long enough for every HS algorithm's length check
    for alg in ("HS256", "HS384", "HS512"):
        with pytest.raises(WeakSecretError) as info:
            HMACKey(material, alg)
        message = str(info.value)
        assert "key material" in message
        assert "bytes" not in message
        assert material.decode("latin-1") not in message
    assert looks_like_public_key_material(material)
    strength = assess_secret(material)
    assert not strength.ok
    assert any("key material" in problem for problem in strength.problems)


def test_key_material_check_does_not_refuse_real_secrets() -> None:
    """The counterpart of the tests below: random secrets, hex or binary, are not key material."""
    for secret in (SECRET, SECRET.hex().encode(), b64u(SECRET).encode(), b"0" + SECRET[1:]):
        assert not looks_like_public_key_material(secret)
        assert HMACKey(secret, "HS256").can_sign


# --- 2015: alg none and RS256 -> HS256 ----------------------------------------------------------


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE", " none"], ids=repr)
@pytest.mark.parametrize("signature", ["", "forged"], ids=["empty-signature", "with-signature"])
def test_pyjwt_2015_alg_none(alg: str, signature: str) -> None:
    """Tim McLean, "Critical vulnerabilities in JSON Web Token libraries" (March 2015).

    Libraries, PyJWT among them, accepted `alg: none` tokens without any signature. Here the
    token is refused whether or not it carries a `kid`, and even with a kid-less fallback key.
    """
    mgr = manager(KeyRing(ES, kidless=ES.kid))
    for header in ({"alg": alg, "typ": "at+jwt"}, {"alg": alg, "typ": "at+jwt", "kid": ES.kid}):
        unsigned = f"{jseg(header)}.{jseg(claims(sub='admin'))}"
        token = f"{unsigned}.{b64u(b'x' * 64) if signature else ''}"
        with pytest.raises(AlgorithmError):
            mgr.verify(token)


def test_pyjwt_2015_hmac_with_public_key(keys: Keys) -> None:
    """Tim McLean (2015): an RS256 verifier fed an HS256 token HMACs it with the public key.

    The attacker signs HS256 with the RSA public key's PEM bytes (which they know) as the
    secret. Our keyring holds the RSA key bound to RS256: the header's `alg` cannot change that.
    """
    rsa_key = RSAKey(keys.rsa, "RS256", kid="rsa-1")
    pem = rsa_key.public_pem()
    mgr = manager(KeyRing(rsa_key, kidless="rsa-1"))
    genuine = mgr.issue("alice")
    assert mgr.verify(genuine)["sub"] == "alice"

    for secret in (pem, pem.strip(), pem.replace(b"\n", b"\r\n")):
        for header in (
            {"alg": "HS256", "typ": "at+jwt", "kid": "rsa-1"},
            {"alg": "HS256", "typ": "at+jwt"},
        ):
            forged = signed_with(header, claims(sub="admin"), raw_hmac(secret))
            with pytest.raises(AlgorithmError):
                mgr.verify(forged)
            with pytest.raises(AlgorithmError):
                JWS().verify(forged, mgr.keyring)
    # Nor can the public key be configured as an HMAC secret by mistake.
    assert_refused_as_key_material(pem)


# --- public keys refused as HMAC secrets ---------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "pem-pkcs1-rsa-public",
        "pem-spki-rsa",
        "pem-spki-ec",
        "pem-spki-rsa-crlf",
        "pem-spki-rsa-whitespace-prefixed",
    ],
)
def test_cve_2017_11424_pem_public_key_is_not_an_hmac_secret(keys: Keys, name: str) -> None:
    """CVE-2017-11424 (PyJWT <= 1.5.0): the PEM block list missed `-----BEGIN RSA PUBLIC KEY-----`.

    The whitespace-prefixed case is the fast-jwt incomplete fix of CVE-2023-48223
    (GHSA-mvf2-f6gm-w987): a prefix check defeated by leading whitespace.
    """
    assert_refused_as_key_material(_material(keys, name))


@pytest.mark.parametrize(
    "name",
    [
        "openssh-ssh-ed25519",
        "openssh-ecdsa-sha2-nistp256",
        "openssh-ssh-rsa",
        "openssh-ssh-ed25519-with-comment",
    ],
)
def test_cve_2022_29217_openssh_public_key_is_not_an_hmac_secret(keys: Keys, name: str) -> None:
    """CVE-2022-29217 (PyJWT < 2.4.0): OpenSSH public keys (`ssh-ed25519`, `ecdsa-sha2-nistp256`)
    were accepted as HMAC secrets, so anyone with the public key could forge HS256 tokens.
    """
    assert_refused_as_key_material(_material(keys, name))


@pytest.mark.parametrize(
    "name",
    [
        "der-spki-rsa",
        "der-spki-ec",
        "der-pkcs1-rsa-public",
        "der-spki-ec-ending-in-whitespace-byte",
        "x509-pem",
        "x509-der",
        "pem-private-ec-pkcs8",
        "pem-private-ec-sec1",
        "pem-private-rsa-pkcs1",
        "pem-private-rsa-pkcs8",
        "openssh-private-ed25519",
        "der-private-ec-pkcs8",
        "base64-der-spki-ec",
        "base64-openssh-ed25519-body",
        "base64url-der-spki-ec",
        "hex-der-spki-ec",
        "der-spki-ec-with-trailing-nul",
        "rfc4716-ssh2-ed25519",
    ],
)
def test_cve_2024_33663_other_key_formats_are_not_hmac_secrets(keys: Keys, name: str) -> None:
    """CVE-2024-33663 (python-jose <= 3.3.0): algorithm confusion with OpenSSH ECDSA keys and
    "other key formats"; its fix still accepted DER keys (python-jose issue #414, 2026).

    DER public keys, certificates (PEM and DER) and private keys are all key material.
    """
    assert_refused_as_key_material(_material(keys, name))


@pytest.mark.parametrize(
    "name",
    [
        "jwk-json-rsa",
        "jwk-json-ec",
        "jwk-json-ec-bare-members",
        "jwk-json-pretty-printed",
        "jwks-json",
    ],
)
def test_cve_2026_48526_jwk_json_is_not_an_hmac_secret(keys: Keys, name: str) -> None:
    """CVE-2026-48526 / GHSA-xgmm-8j9v-c9wx (PyJWT < 2.13.0): a public JWK's JSON text was
    accepted as an HMAC secret.
    """
    assert_refused_as_key_material(_material(keys, name))


def test_rs256_token_with_hs256_header_signed_with_jwk_json_secret(keys: Keys) -> None:
    """CVE-2026-48526: the attacker HMACs with the JSON of the published JWK (from the JWKS
    endpoint) and labels the token HS256 under the RSA key's `kid`.
    """
    rsa_key = RSAKey(keys.rsa, "RS256", kid="rsa-1")
    ring = KeyRing(rsa_key)
    mgr = manager(ring)
    published = ring.jwks()
    jwk = published["keys"][0]
    secrets = (
        json.dumps(jwk).encode(),
        json.dumps(jwk, separators=(",", ":")).encode(),
        json.dumps(published).encode(),
    )
    for secret in secrets:
        forged = signed_with(
            {"alg": "HS256", "typ": "at+jwt", "kid": "rsa-1"}, claims(sub="admin"), raw_hmac(secret)
        )
        with pytest.raises(AlgorithmError):
            mgr.verify(forged)
        assert_refused_as_key_material(secret)


@pytest.mark.parametrize(
    "name",
    [
        "x962-uncompressed-p256",
        "x962-uncompressed-p256-hex",
        "x962-uncompressed-p256-base64",
        "x962-uncompressed-p256-base64url",
        "ec-x-and-y-p256",
        "rsa-modulus-bytes",
        "rsa-modulus-der-integer",
        "jwk-n-string",
        "jwk-n-string-with-newline",
    ],
)
def test_raw_public_key_forms_are_not_hmac_secrets(keys: Keys, name: str) -> None:
    """Issue 13 item 13 (outside test): `HMACKey` refused PEM, DER and JWK JSON but took a raw
    X9.62 point, RSA modulus bytes or a JWK `n` string, all of which an attacker reads off the
    JWKS, and then signs HS256 with.
    """
    assert_refused_as_key_material(_material(keys, name))


@pytest.mark.parametrize(
    "curve", [ec.SECP256R1(), ec.SECP384R1(), ec.SECP521R1()], ids=lambda curve: curve.name
)
def test_compressed_ec_points_are_not_hmac_secrets(curve: ec.EllipticCurve) -> None:
    """Issue 13 item 13: the compressed X9.62 point (33, 49 or 67 bytes), for each curve."""
    point = (
        ec.derive_private_key(0xC0FFEE, curve)
        .public_key()
        .public_bytes(Enc.X962, Pub.CompressedPoint)
    )
    with pytest.raises(WeakSecretError, match="key material"):
        HMACKey(point, "HS256")
    assert looks_like_public_key_material(point)
    assert any("key material" in problem for problem in assess_secret(point).problems)


def test_hs256_token_signed_with_the_published_modulus_or_point(keys: Keys) -> None:
    """Issue 13 item 13: the forgery itself, under the RSA and EC keys' own `kid`s, HMACed with
    what the JWKS publishes. The keys' algorithm binding refuses it; the secret refusal keeps
    an operator from configuring the same bytes as an HMAC key on another verifier."""
    rsa_key, ec_key = RSAKey(keys.rsa, kid="rsa-1"), ECKey(keys.ec, kid="ec-1")
    mgr = manager(KeyRing(rsa_key, [ec_key]))
    for kid, name in (("rsa-1", "jwk-n-string"), ("ec-1", "x962-uncompressed-p256")):
        secret = _material(keys, name)
        header = {"alg": "HS256", "typ": "at+jwt", "kid": kid}
        with pytest.raises(AlgorithmError):
            mgr.verify(signed_with(header, claims(sub="admin"), raw_hmac(secret)))
        assert_refused_as_key_material(secret)


# --- claims and headers --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "iss",
    [
        "https://auth.example.evil",
        "auth.example",
        "https://auth.exampl",
        "https",
        "",
        "HTTPS://AUTH.EXAMPLE",
        "https://auth.example/",
        " https://auth.example",
        ["https://auth.example"],
        ["https://auth.example", "https://evil.example"],
        {"https://auth.example": True},
        None,
    ],
    ids=repr,
)
def test_cve_2024_53861_issuer_is_not_substring_matched(iss: Any) -> None:
    """CVE-2024-53861 (PyJWT 2.10.0): `iss` was checked with `in`, so a token whose issuer was
    a substring of the expected one (even "") passed. Only the exact string is accepted.
    """
    mgr = manager(KeyRing(ES))
    assert mgr.verify(
        signed_with({"alg": "ES256", "typ": "at+jwt", "kid": ES.kid}, claims(), ES.sign)
    )

    payload = claims(iss=iss)
    if iss is None:
        del payload["iss"]
    token = signed_with({"alg": "ES256", "typ": "at+jwt", "kid": ES.kid}, payload, ES.sign)
    with pytest.raises(ClaimError) as info:
        mgr.verify(token)
    assert info.value.claim == "iss"
    if isinstance(iss, str):
        assert isinstance(info.value, IssuerError)
    if iss is None:
        assert isinstance(info.value, MissingClaimError)


@pytest.mark.parametrize(
    "header",
    [
        {"crit": ["x-unknown"], "x-unknown": "value"},
        {"crit": ["x-unknown"]},
        {"crit": ["exp"], "exp": NOW + 60},
        {"crit": ["b64"], "b64": True},
        {"crit": []},
    ],
    ids=["unknown-present", "unknown-absent", "exp", "b64", "empty"],
)
def test_cve_2026_32597_unknown_crit_refused(header: dict[str, Any]) -> None:
    """CVE-2026-32597 / GHSA-752w-5fwx-jx9f (PyJWT <= 2.11.0): tokens whose `crit` listed
    extensions the library did not understand were accepted (RFC 7515 4.1.11 says MUST reject).
    """
    mgr = manager(KeyRing(ES))
    token = signed_with(
        {"alg": "ES256", "typ": "at+jwt", "kid": ES.kid, **header}, claims(), ES.sign
    )
    with pytest.raises(ForbiddenHeaderError):
        mgr.verify(token)


def test_cve_2016_7036_constant_time_comparison(monkeypatch: pytest.MonkeyPatch) -> None:
    """CVE-2016-7036 (python-jose < 1.3.2): HMAC signatures were compared with `==`, leaking
    through timing how many leading bytes of a forged signature were right.

    Proven structurally, without timing: every HMAC verification goes through
    `hmac.compare_digest`, given the expected and the presented digest.
    """
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def recording(a: bytes, b: bytes) -> bool:
        calls.append((bytes(a), bytes(b)))
        return real(a, b)

    monkeypatch.setattr("jwtauth.keys.key.hmac.compare_digest", recording)
    header, payload = jseg({"alg": "HS256", "typ": "at+jwt", "kid": HS.kid}), jseg(claims())
    signing_input = f"{header}.{payload}".encode()
    expected = hmac.new(SECRET, signing_input, hashlib.sha256).digest()
    ring = KeyRing(None, [HS])

    assert JWS().verify(f"{header}.{payload}.{b64u(expected)}", ring).key is HS
    assert len(calls) == 1
    assert sorted(calls[0]) == sorted((expected, expected))

    forged = expected[:-1] + bytes([expected[-1] ^ 1])  # right length, last byte wrong
    with pytest.raises(BadSignatureError):
        JWS().verify(f"{header}.{payload}.{b64u(forged)}", ring)
    assert len(calls) == 2
    assert sorted(calls[1]) == sorted((expected, forged))

    assert HS.verify(signing_input, b"\x00" * 32) is False
    assert len(calls) == 3
    assert sorted(calls[2]) == sorted((expected, b"\x00" * 32))


# --- verification cannot be turned off -----------------------------------------------------------


@pytest.fixture(scope="module", params=["HS256", "ES256", "EdDSA", "RS256"])
def signing_key(request: pytest.FixtureRequest) -> Key:
    alg: str = request.param
    return generate_key(alg, kid="k-1", rsa_bits=2048)


@pytest.mark.parametrize("cache_size", [0, 4096])
def test_simplejwt_522_verification_cannot_be_disabled(signing_key: Key, cache_size: int) -> None:
    """djangorestframework-simplejwt 5.2.1 (PR #605 for issue #596; reported as #631, fixed in
    5.2.2): leaving VERIFYING_KEY unset turned signature and `exp` verification off.

    jwtauth has no such setting: with every knob at its most permissive, a forged signature is
    still a BadSignatureError, whether or not the genuine token sits in the cache.
    """
    mgr = TokenManager(
        KeyRing(signing_key),
        issuer=ISSUER,
        audience=None,
        ttl=10**9,
        leeway=10**9,
        clock=FrozenClock(NOW),
        revocations=None,
        cache_size=cache_size,
        jws=JWS(max_token_length=10**7, max_header_length=10**6, header_cache_size=10**6),
    )
    mgr.policy = ClaimsPolicy(issuer=None, audience=None, leeway=1e12, required=frozenset())
    genuine = mgr.issue("alice")
    assert mgr.verify(genuine)["sub"] == "alice"

    header, payload, signature = genuine.split(".")
    raw = bytearray(base64.urlsafe_b64decode(signature + "=="))
    raw[len(raw) // 2] ^= 0x80
    claims_ = json.loads(base64.urlsafe_b64decode(payload + "=="))
    impostor = generate_key(signing_key.alg, kid=signing_key.kid, rsa_bits=2048)
    forgeries = {
        "flipped-signature-bit": f"{header}.{payload}.{b64u(bytes(raw))}",
        "altered-payload": f"{header}.{jseg({**claims_, 'sub': 'admin'})}.{signature}",
        "other-key-same-kid": JWS().sign(
            json.dumps({**claims_, "sub": "admin"}).encode(), impostor, typ="at+jwt"
        ),
    }
    for forged in forgeries.values():
        with pytest.raises(BadSignatureError):
            mgr.verify(forged)
        with pytest.raises(BadSignatureError):
            mgr.jws.verify(forged, mgr.keyring)
    assert mgr.verify(genuine)["sub"] == "alice"


def test_simplejwt_522_no_parameter_can_switch_verification_off() -> None:
    """No constructor or verify parameter is named like PyJWT's `options={"verify_signature":
    False}`, `verify=False` or `algorithms=[...]`: there is nothing to turn off or widen.
    """
    callables: list[Callable[..., Any]] = [
        TokenManager.__init__,
        TokenManager.verify,
        JWS.__init__,
        JWS.verify,
        KeyRing.__init__,
    ]
    names = [name for fn in callables for name in inspect.signature(fn).parameters]
    names += [field.name for field in dataclasses.fields(ClaimsPolicy)]
    assert "token" in names  # the inspection does see the parameters
    for name in names:
        for word in ("verify", "options", "algorithms"):
            assert word not in name.lower(), name
    for cls in (TokenManager, JWS):
        for attribute in dir(cls):
            for word in ("unverified", "insecure", "unsafe", "skip", "no_verify"):
                assert word not in attribute.lower(), f"{cls.__name__}.{attribute}"


# --- signatures ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("alg", "curve", "size"),
    [("ES256", ec.SECP256R1(), 32), ("ES384", ec.SECP384R1(), 48), ("ES512", ec.SECP521R1(), 66)],
)
def test_psychic_signature_cve_2022_21449(alg: str, curve: ec.EllipticCurve, size: int) -> None:
    """CVE-2022-21449 "psychic signatures" (Java 15-18): ECDSA accepted r = s = 0 for any
    message and key. The all-zero signature of the right length is refused.
    """
    key = ECKey(ec.derive_private_key(0xB0B, curve), alg, kid="ec-1")
    mgr = manager(KeyRing(key))
    genuine = mgr.issue("alice")
    assert mgr.verify(genuine)["sub"] == "alice"  # and now it is cached

    header, payload, _ = genuine.split(".")
    forged_payload = jseg(claims(sub="admin"))
    for body in (payload, forged_payload):
        forged = f"{header}.{body}.{b64u(bytes(2 * size))}"
        with pytest.raises(BadSignatureError):
            mgr.verify(forged)


ED25519_IDENTITY = b"\x01" + bytes(31)  # y = 1, x = 0: the neutral element


def test_ed25519_identity_public_key_forges_nothing() -> None:
    """Issue 13 item 12 (outside test): Ed25519 small-order public keys, the attack libsodium's
    `ge25519_has_small_order` refuses. Under the identity point as public key, R = identity and
    S = 0 satisfy [S]B = R + [k]A for every message. OpenSSL accepts such a key and signature;
    jwtauth refuses the key, so a JWKS that publishes it (or a configured JWK or PEM) yields no
    key to verify with.
    """
    header = {"alg": "EdDSA", "typ": "at+jwt", "kid": "ed-0"}
    forged = signed_with(header, claims(sub="admin"), lambda _: ED25519_IDENTITY + bytes(32))
    signing_input, signature = forged.rsplit(".", 1)
    # The attack is real on this build: the primitive takes key and signature.
    ed25519.Ed25519PublicKey.from_public_bytes(ED25519_IDENTITY).verify(
        base64.urlsafe_b64decode(signature + "=="), signing_input.encode()
    )
    jwk = {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": b64u(ED25519_IDENTITY),
        "alg": "EdDSA",
        "kid": "ed-0",
    }
    with pytest.raises(KeyConfigurationError, match="small order"):
        key_from_jwk(jwk)
    pem = ed25519.Ed25519PublicKey.from_public_bytes(ED25519_IDENTITY).public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(KeyConfigurationError, match="small order"):
        key_from_pem(pem, "EdDSA")
    # Under a genuine key the same forgery is a bad signature.
    genuine = generate_key("EdDSA", kid="ed-0")
    with pytest.raises(BadSignatureError):
        manager(KeyRing(genuine)).verify(forged)


@pytest.mark.parametrize(
    "kid",
    [
        "../../dev/null",
        "../../../../etc/passwd",
        "/dev/null",
        "' OR 1=1 --",
        "es-1' OR '1'='1",
        "es-1\x00",
        "ES-1",
        "es-1 ",
        "",
        "*",
        "%",
    ],
    ids=repr,
)
def test_kid_path_traversal_is_only_a_lookup(kid: str) -> None:
    """`kid` injection (path traversal to sign with /dev/null's empty key, SQL injection into a
    key store), as in many published JWT attack write-ups: `kid` is only a dictionary key.

    Even a keyring with a kid-less fallback key does not fall back for an unknown `kid`.
    """
    mgr = manager(KeyRing(ES, kidless=ES.kid))
    token = signed_with({"alg": "ES256", "typ": "at+jwt", "kid": kid}, claims(), ES.sign)
    with pytest.raises(UnknownKeyError):
        mgr.verify(token)
    # The same token with the real `kid` verifies: the `kid` is the only thing wrong.
    good = signed_with({"alg": "ES256", "typ": "at+jwt", "kid": ES.kid}, claims(), ES.sign)
    assert mgr.verify(good)["sub"] == "alice"


@pytest.mark.parametrize(
    "header",
    [
        {"jku": "http://127.0.0.1:9/jwks.json"},
        {"x5u": "http://127.0.0.1:9/cert.pem"},
        {"jku": "https://localhost:9/.well-known/jwks.json", "x5u": "http://127.0.0.1:9/c"},
        {"jku": "file:///etc/passwd"},
    ],
    ids=["jku", "x5u", "both", "file-url"],
)
def test_jku_x5u_never_fetched(monkeypatch: pytest.MonkeyPatch, header: dict[str, Any]) -> None:
    """`jku`/`x5u` header injection (RFC 8725 3.10; e.g. CVE-2018-0114 for embedded `jwk`):
    a verifier that fetches keys from URLs in the token lets the attacker pick the key.

    The token is refused before any network access: name resolution and connections fail the
    test if attempted.
    """
    attempts: list[object] = []

    def no_network(*args: object, **kwargs: object) -> Any:
        attempts.append(args)
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket.socket, "connect_ex", no_network)
    monkeypatch.setattr(urllib.request, "urlopen", no_network)

    mgr = manager(KeyRing(ES))
    token = signed_with(
        {"alg": "ES256", "typ": "at+jwt", "kid": ES.kid, **header}, claims(), ES.sign
    )
    with pytest.raises(ForbiddenHeaderError):
        mgr.verify(token)
    with pytest.raises(ForbiddenHeaderError):
        JWS().header(token)
    assert attempts == []


# --- one token, one spelling ---------------------------------------------------------------------

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
RESPELLINGS: dict[str, Callable[[str], str]] = {
    "padding": lambda s: s + "=" * (-len(s) % 4),
    "plus-for-minus": lambda s: s.replace("-", "+", 1),
    "slash-for-underscore": lambda s: s.replace("_", "/", 1),
    "nonzero-unused-bits": lambda s: s[:-1] + _ALPHABET[_ALPHABET.index(s[-1]) | 1],
    "inner-space": lambda s: s[:6] + " " + s[6:],
    "trailing-newline": lambda s: s + "\n",
    "foreign-char": lambda s: s[:6] + "!" + s[6:],
}


def _respellable(segment: str) -> bool:
    return len(segment) % 4 != 0 and "-" in segment and "_" in segment


def _respellable_token() -> tuple[str, KeyRing]:
    kid = next(
        k
        for k in ("k" * n + "??>>~~" for n in range(12))
        if _respellable(jseg({"alg": "HS256", "typ": "at+jwt", "kid": k}))
    )
    key = HMACKey(SECRET, "HS256", kid=kid)
    for n in range(5000):
        payload = claims(pad="x" * (n % 3), note="??>>~~", n=n)
        token = signed_with({"alg": "HS256", "typ": "at+jwt", "kid": kid}, payload, key.sign)
        if all(_respellable(segment) for segment in token.split(".")):
            return token, KeyRing(key)
    raise AssertionError("no suitable token found")


def test_reencoded_token_is_not_a_second_valid_token() -> None:
    """Base64url malleability (RFC 7515 section 2 and appendix C allow only unpadded base64url;
    lenient decoders accept padding, "+/", stray characters and non-zero trailing bits): a token
    re-spelled in any segment, which such a decoder reads as the same bytes, is refused, also
    after the original was cached.
    """
    token, ring = _respellable_token()
    mgr = manager(ring)
    assert mgr.verify(token)["sub"] == "alice"  # cached from here on

    refused = 0
    for index in range(3):
        for respell in RESPELLINGS.values():
            parts = token.split(".")
            parts[index] = respell(parts[index])
            respelled = ".".join(parts)
            assert respelled != token
            with pytest.raises(TokenError):
                mgr.verify(respelled)
            refused += 1
    assert refused == 3 * len(RESPELLINGS)
    assert mgr.verify(token)["sub"] == "alice"
