"""Differential tests against two independent JOSE implementations, PyJWT and joserfc.

Our tokens must verify in both, theirs (with our header and claims) in ours, and tampered
tokens must be refused by ours and by PyJWT alike. The JWKS we publish must be usable by an
off-the-shelf client.
"""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from joserfc import jwk as jose_jwk
from joserfc import jwt as jose_jwt

from jwtauth.errors import TokenError
from jwtauth.keys.algorithms import Algorithm
from jwtauth.keys.key import ECKey, EdDSAKey, HMACKey, Key, RSAKey
from jwtauth.keys.keyring import KeyRing
from jwtauth.manager import TokenManager
from jwtauth.testing import FrozenClock
from jwtauth.tokens.encoding import b64url_encode, json_dumps

# joserfc follows RFC 9864, which deprecates the polymorphic "EdDSA" name in favour of
# "Ed25519"; jwtauth issues "EdDSA" (RFC 8037), so joserfc's deprecation warning is expected.
pytestmark = pytest.mark.filterwarnings("ignore:EdDSA is deprecated:joserfc.errors.SecurityWarning")

ISS = "https://auth.test"
AUD = "api"
ALGS = list(Algorithm)
ASYMMETRIC = [a for a in Algorithm if a.family != "HS"]
PRIVATE_JWK_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}

JoseKey = jose_jwk.OctKey | jose_jwk.RSAKey | jose_jwk.ECKey | jose_jwk.OKPKey

# Peers read the real clock, so ours is frozen at the real time of this run.
CLOCK = FrozenClock(float(int(time.time())))
_RSA = rsa.generate_private_key(65537, 2048)  # one RSA key per module, for speed
_CURVES: dict[str, ec.EllipticCurve] = {
    "ES256": ec.SECP256R1(),
    "ES384": ec.SECP384R1(),
    "ES512": ec.SECP521R1(),
}


@dataclass(frozen=True)
class Case:
    """One algorithm's key as jwtauth, PyJWT and joserfc each see it."""

    alg: str
    key: Key
    signer: Any  # the secret or cryptography private key, for PyJWT
    verifier: Any  # the secret or cryptography public key, for PyJWT
    jose_signer: JoseKey
    jose_verifier: JoseKey

    def manager(self, **options: Any) -> TokenManager:
        settings: dict[str, Any] = {"issuer": ISS, "audience": AUD, "clock": CLOCK, "ttl": 3600}
        settings.update(options)
        return TokenManager(KeyRing(self.key), **settings)


def _pem(private: Any) -> tuple[bytes, bytes]:
    private_pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private_pem, public_pem


def _case(alg: Algorithm) -> Case:
    if alg.family == "HS":
        # A fixed first byte keeps random secrets away from 0x30 (DER); see tests/keys/test_key.py.
        secret = b"k" + secrets.token_bytes(63)
        jose = jose_jwk.OctKey.import_key(secret)
        return Case(alg.value, HMACKey(secret, alg), secret, secret, jose, jose)
    private: Any
    key: Key
    jose_cls: type[jose_jwk.RSAKey] | type[jose_jwk.ECKey] | type[jose_jwk.OKPKey]
    if alg.family in ("RS", "PS"):
        private, key, jose_cls = _RSA, RSAKey(_RSA, alg), jose_jwk.RSAKey
    elif alg.family == "ES":
        private = ec.generate_private_key(_CURVES[alg.value])
        key, jose_cls = ECKey(private, alg), jose_jwk.ECKey
    else:
        private = ed25519.Ed25519PrivateKey.generate()
        key, jose_cls = EdDSAKey(private, alg), jose_jwk.OKPKey
    private_pem, public_pem = _pem(private)
    return Case(
        alg.value,
        key,
        private,
        private.public_key(),
        jose_cls.import_key(private_pem),
        jose_cls.import_key(public_pem),
    )


CASES = {alg.value: _case(alg) for alg in ALGS}


def pyjwt_decode(case: Case, token: str, key: Any = None) -> dict[str, Any]:
    return jwt.decode(
        token,
        key=case.verifier if key is None else key,
        algorithms=[case.alg],
        audience=AUD,
        issuer=ISS,
        options={"require": ["exp", "iat", "iss", "sub", "jti"]},
    )


def peer_claims(sub: str = "peer-user", **extra: Any) -> dict[str, Any]:
    now = int(CLOCK())
    return {
        "iss": ISS,
        "aud": AUD,
        "sub": sub,
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "jti": secrets.token_urlsafe(12),
        **extra,
    }


# (a) our tokens verify in PyJWT and joserfc ---------------------------------------------------


@pytest.mark.parametrize("alg", [a.value for a in ALGS])
def test_our_tokens_verify_in_pyjwt(alg: str) -> None:
    case = CASES[alg]
    tm = case.manager()
    token = tm.issue("alice", claims={"role": "admin", "n": 3, "tags": ["a", "b"]})
    decoded = pyjwt_decode(case, token)
    assert decoded == dict(tm.verify(token))
    assert decoded["sub"] == "alice"
    assert decoded["role"] == "admin"
    header = jwt.get_unverified_header(token)
    assert header == {"alg": alg, "typ": "at+jwt", "kid": case.key.kid}


@pytest.mark.parametrize("alg", [a.value for a in ALGS])
def test_our_tokens_verify_in_joserfc(alg: str) -> None:
    case = CASES[alg]
    tm = case.manager()
    token = tm.issue("alice", claims={"role": "admin", "n": 3, "tags": ["a", "b"]})
    decoded = jose_jwt.decode(token, case.jose_verifier, algorithms=[alg])
    assert decoded.claims == dict(tm.verify(token))
    assert decoded.header == {"alg": alg, "typ": "at+jwt", "kid": case.key.kid}
    # joserfc's claims registry agrees that the registered claims are valid now.
    registry = jose_jwt.JWTClaimsRegistry(
        now=lambda: int(CLOCK()),
        iss={"essential": True, "value": ISS},
        aud={"essential": True, "value": AUD},
        sub={"essential": True},
        exp={"essential": True},
        jti={"essential": True},
    )
    registry.validate(decoded.claims)


# (b) peer tokens verify in ours ---------------------------------------------------------------


@pytest.mark.parametrize("alg", [a.value for a in ALGS])
def test_pyjwt_tokens_verify_in_ours(alg: str) -> None:
    case = CASES[alg]
    claims = peer_claims(scope="read write")
    token = jwt.encode(
        claims, case.signer, algorithm=alg, headers={"typ": "at+jwt", "kid": case.key.kid}
    )
    tm = case.manager()
    assert dict(tm.verify(token)) == claims
    assert dict(tm.verify(token)) == claims  # and from the cache


@pytest.mark.parametrize("alg", [a.value for a in ALGS])
def test_joserfc_tokens_verify_in_ours(alg: str) -> None:
    case = CASES[alg]
    claims = peer_claims(scope="read write")
    token = jose_jwt.encode(
        {"alg": alg, "typ": "at+jwt", "kid": case.key.kid},
        claims,
        case.jose_signer,
        algorithms=[alg],
    )
    tm = case.manager()
    assert dict(tm.verify(token)) == claims


@pytest.mark.parametrize("alg", [a.value for a in ALGS])
def test_peer_tokens_without_our_header_or_claims_are_refused(alg: str) -> None:
    case = CASES[alg]
    tm = case.manager()
    good_header = {"typ": "at+jwt", "kid": case.key.kid}
    cases: list[tuple[dict[str, Any], dict[str, Any]]] = [
        ({"kid": case.key.kid}, peer_claims()),  # typ: JWT (PyJWT's default), not at+jwt
        ({"typ": "at+jwt"}, peer_claims()),  # no kid
        (good_header, {k: v for k, v in peer_claims().items() if k != "exp"}),
        (good_header, peer_claims(iss="https://evil.test")),
        (good_header, peer_claims(aud="other")),
        (good_header, {**peer_claims(), "exp": int(CLOCK()) - 1}),
    ]
    for header, claims in cases:
        token = jwt.encode(claims, case.signer, algorithm=alg, headers=header)
        with pytest.raises(TokenError):
            tm.verify(token)


# (c) tampering is refused by ours and by PyJWT ------------------------------------------------


def _flip_middle(segment: str) -> str:
    # A middle character carries six full bits, so any change alters the decoded bytes.
    i = len(segment) // 2
    replacement = "A" if segment[i] != "A" else "B"
    return segment[:i] + replacement + segment[i + 1 :]


def _mutations(token: str, other: str) -> dict[str, str]:
    header, payload, signature = token.split(".")
    _, other_payload, other_signature = other.split(".")
    return {
        "flip-header": f"{_flip_middle(header)}.{payload}.{signature}",
        "flip-payload": f"{header}.{_flip_middle(payload)}.{signature}",
        "flip-signature": f"{header}.{payload}.{_flip_middle(signature)}",
        "flip-first-signature-char": f"{header}.{payload}.{_flip_middle(signature[:2])}"
        f"{signature[2:]}",
        "swap-payload": f"{header}.{other_payload}.{signature}",
        "swap-signature": f"{header}.{payload}.{other_signature}",
        "strip-signature": f"{header}.{payload}.",
        "drop-signature-segment": f"{header}.{payload}",
        "truncate-signature": f"{header}.{payload}.{signature[:-4]}",
    }


MUTATION_NAMES = list(_mutations("a.b.c", "d.e.f"))


@pytest.mark.parametrize("name", MUTATION_NAMES)
@pytest.mark.parametrize("alg", [a.value for a in ALGS])
def test_tampered_tokens_are_refused_by_ours_and_pyjwt(alg: str, name: str) -> None:
    case = CASES[alg]
    tm = case.manager()
    token = tm.issue("alice", claims={"role": "user"})
    other = tm.issue("mallory", claims={"role": "admin"})
    # Both peers accept the originals ...
    assert tm.verify(token)["sub"] == "alice"
    assert pyjwt_decode(case, other)["sub"] == "mallory"
    mutated = _mutations(token, other)[name]
    assert mutated != token
    # ... and both refuse the tampered one.
    with pytest.raises(TokenError):
        tm.verify(mutated)
    with pytest.raises(jwt.InvalidTokenError):
        pyjwt_decode(case, mutated)


@pytest.mark.parametrize("alg", [a.value for a in ALGS])
def test_alg_none_and_algorithm_swaps_are_refused_by_ours(alg: str) -> None:
    case = CASES[alg]
    tm = case.manager()
    claims = peer_claims()
    unsecured = jwt.encode(
        claims, "", algorithm="none", headers={"typ": "at+jwt", "kid": case.key.kid}
    )
    with pytest.raises(TokenError):
        tm.verify(unsecured)
    # The classic confusion: HS256 keyed with the public key's PEM.
    if case.alg[:2] != "HS":
        public_pem = case.verifier.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        header = b64url_encode(json_dumps({"alg": "HS256", "typ": "at+jwt", "kid": case.key.kid}))
        body = b64url_encode(json_dumps(claims))
        mac = hmac.digest(public_pem, f"{header}.{body}".encode(), "sha256")
        with pytest.raises(TokenError):
            tm.verify(f"{header}.{body}.{b64url_encode(mac)}")


# (d) the JWKS works for off-the-shelf clients --------------------------------------------------


@pytest.mark.parametrize("alg", [a.value for a in ASYMMETRIC])
def test_jwks_loads_in_pyjwt_and_verifies_our_tokens(alg: str) -> None:
    case = CASES[alg]
    tm = case.manager()
    token = tm.issue("alice")
    jwks = tm.keyring.jwks()
    for jwk in jwks["keys"]:
        assert not PRIVATE_JWK_MEMBERS & jwk.keys()
    key_set = jwt.PyJWKSet.from_dict(jwks)
    assert len(key_set.keys) == 1
    published = key_set[case.key.kid]
    assert published.algorithm_name == alg
    assert published.key_id == case.key.kid
    decoded = pyjwt_decode(case, token, key=published)
    assert decoded == dict(tm.verify(token))


@pytest.mark.parametrize("alg", [a.value for a in ASYMMETRIC])
def test_jwks_loads_in_joserfc_and_verifies_our_tokens(alg: str) -> None:
    case = CASES[alg]
    tm = case.manager()
    token = tm.issue("alice")
    key_set = jose_jwk.KeySet.import_key_set(tm.keyring.jwks())  # type: ignore[arg-type]
    decoded = jose_jwt.decode(token, key_set, algorithms=[alg])
    assert decoded.claims == dict(tm.verify(token))


def test_jwks_of_a_rotating_keyring_serves_every_key() -> None:
    old, new = CASES["ES256"], CASES["EdDSA"]
    tm = old.manager()
    old_token = tm.issue("alice")
    tm.keyring = tm.keyring.with_key(new.key).with_signing(new.key.kid)
    new_token = tm.issue("bob")
    jwks = tm.keyring.jwks()
    assert {k["kid"] for k in jwks["keys"]} == {old.key.kid, new.key.kid}
    key_set = jwt.PyJWKSet.from_dict(jwks)
    for token, case in ((old_token, old), (new_token, new)):
        kid = jwt.get_unverified_header(token)["kid"]
        decoded = pyjwt_decode(case, token, key=key_set[kid])
        assert decoded == dict(tm.verify(token))


def test_jwks_of_a_mixed_keyring_never_publishes_the_hmac_secret() -> None:
    secret_case, public_case = CASES["HS512"], CASES["ES384"]
    ring = KeyRing(secret_case.key, [public_case.key])
    jwks = ring.jwks()
    assert [k["kid"] for k in jwks["keys"]] == [public_case.key.kid]
    for jwk in jwks["keys"]:
        assert not PRIVATE_JWK_MEMBERS & jwk.keys()
    assert KeyRing(secret_case.key).jwks() == {"keys": []}


def test_peer_jwk_export_matches_ours() -> None:
    # joserfc's export of the same public keys has the same members and the same thumbprint.
    for alg in ASYMMETRIC:
        case = CASES[alg.value]
        ours = case.key.public_jwk()
        theirs = case.jose_verifier.as_dict(private=False)
        for member in ("kty", "n", "e", "crv", "x", "y"):
            assert ours.get(member) == theirs.get(member), (alg, member)
        assert case.key.kid == case.jose_verifier.thumbprint()
