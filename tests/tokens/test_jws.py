"""Every rejection of the JWS layer, one hostile token per test, each built by hand.

Each hostile token is signed with a real key so that exactly one property is wrong: the one the
test is named after. Every refusal also checks that the error's text carries neither the token,
nor any segment of it, nor the HMAC secret (errors are shown to clients and logged).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from typing import Any, NamedTuple

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from jwtauth import (
    ACCESS,
    JWS,
    AlgorithmError,
    BadSignatureError,
    ECKey,
    EdDSAKey,
    ForbiddenHeaderError,
    HMACKey,
    Key,
    KeyConfigurationError,
    KeyRing,
    MalformedTokenError,
    RSAKey,
    TokenError,
    TokenManager,
    TokenType,
    TokenTypeError,
    UnknownKeyError,
    WeakSecretError,
    key_from_pem,
)
from jwtauth.testing import FrozenClock
from tests.forge import b64u, jseg, registered_claims

SECRET = hashlib.sha512(b"jwtauth test-suite HS256 secret").digest()
ISSUER = "https://auth.test"
AUDIENCE = "api"
NOW = 1_700_000_000
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551

HS = HMACKey(SECRET, "HS256", kid="hs-1")
ES = ECKey(ec.derive_private_key(0x5EC2E7, ec.SECP256R1()), "ES256", kid="es-1")
ED = EdDSAKey(ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(32))), kid="ed-1")
RING = KeyRing(None, [HS, ES, ED])
REFRESH = TokenType("refresh", "rt+jwt")


# --- building tokens by hand ------------------------------------------------------------------


def lenient_b64decode(segment: str) -> bytes:
    """What a permissive decoder makes of a segment: foreign characters and padding ignored."""
    return base64.b64decode(segment.replace("-", "+").replace("_", "/") + "==", validate=False)


def signed(header: str, payload: str, key: Key) -> str:
    signing_input = f"{header}.{payload}"
    return f"{signing_input}.{b64u(key.sign(signing_input.encode('ascii')))}"


def claims(**overrides: Any) -> dict[str, Any]:
    return registered_claims(ISSUER, AUDIENCE, NOW, **overrides)


def token_for(key: Key, *, header: dict[str, Any] | None = None, payload: Any = None) -> str:
    """A token signed by ``key`` whose header is the usual one updated with ``header``."""
    params: dict[str, Any] = {"alg": key.alg.value, "typ": "at+jwt", "kid": key.kid}
    params.update(header or {})
    return signed(jseg(params), jseg(claims() if payload is None else payload), key)


def manager() -> TokenManager:
    return TokenManager(
        KeyRing(ES, [HS, ED]), issuer=ISSUER, audience=AUDIENCE, clock=FrozenClock(NOW)
    )


# --- refusing, and checking the refusal leaks nothing -----------------------------------------


def assert_leaks_nothing(exc: BaseException, token: object) -> None:
    texts = [str(exc), repr(exc), *(str(a) for a in exc.args)]
    pieces = [SECRET.hex(), b64u(SECRET), SECRET.decode("latin-1")]
    if isinstance(token, str):
        pieces += [token, *(segment for segment in token.split(".") if len(segment) >= 8)]
    else:
        pieces.append(repr(token))
    for text in texts:
        for piece in pieces:
            assert piece not in text


def refused(
    expected: type[TokenError], token: Any, ring: KeyRing = RING, *, jws: JWS | None = None
) -> TokenError:
    with pytest.raises(expected) as info:
        (jws or JWS()).verify(token, ring)
    assert_leaks_nothing(info.value, token)
    return info.value


def refused_by_manager(
    expected: type[TokenError],
    token: str,
    mgr: TokenManager | None = None,
    *,
    token_type: TokenType = ACCESS,
) -> TokenError:
    with pytest.raises(expected) as info:
        (mgr or manager()).verify(token, token_type=token_type)
    assert_leaks_nothing(info.value, token)
    return info.value


# --- the baseline: hand-built tokens do verify -------------------------------------------------


@pytest.mark.parametrize("key", [HS, ES, ED], ids=lambda k: k.alg.value)
def test_hand_built_token_verifies(key: Key) -> None:
    """The construction used below is sound: unaltered, its tokens verify at both layers."""
    token = token_for(key)

    verified = JWS().verify(token, RING)
    assert verified.key is key
    assert json.loads(verified.payload) == claims()
    assert dict(manager().verify(token)) == claims()


# --- alg -----------------------------------------------------------------------------------------

NONE_SPELLINGS = ["none", "None", "NONE", "nOnE", " none", "none ", "\tnone\n"]


@pytest.mark.parametrize("alg", NONE_SPELLINGS, ids=repr)
@pytest.mark.parametrize("signature", ["empty", "junk", "real-hmac"])
@pytest.mark.parametrize("with_kid", [True, False], ids=["kid", "no-kid"])
def test_alg_none_is_refused(alg: str, signature: str, with_kid: bool) -> None:
    header = jseg({"alg": alg, **({"kid": HS.kid} if with_kid else {})})
    payload = jseg(claims())
    signing_input = f"{header}.{payload}"
    sig = {
        "empty": "",
        "junk": b64u(b"\x01" * 32),
        "real-hmac": b64u(HS.sign(signing_input.encode())),
    }[signature]
    # Kid-less tokens would otherwise resolve to the HMAC key: only `alg` is wrong.
    ring = KeyRing(None, [HS, ES], kidless=HS.kid)

    refused(AlgorithmError, f"{signing_input}.{sig}", ring)


@pytest.mark.parametrize("alg", [None, 256, ["HS256"], {"name": "HS256"}], ids=repr)
def test_alg_missing_or_not_a_string_is_malformed(alg: Any) -> None:
    header = {"typ": "at+jwt", "kid": HS.kid, **({} if alg is None else {"alg": alg})}
    refused(MalformedTokenError, signed(jseg(header), jseg(claims()), HS))


def test_alg_hs256_header_with_es256_key_is_refused() -> None:
    """Header says HS256, `kid` names the ES256 key; the HMAC is real (keyed with our secret)."""
    token = signed(jseg({"alg": "HS256", "typ": "at+jwt", "kid": ES.kid}), jseg(claims()), HS)
    refused(AlgorithmError, token)


def test_alg_es256_header_with_hs256_key_is_refused() -> None:
    """Header says ES256, `kid` names the HMAC key; the ECDSA signature is real."""
    token = signed(jseg({"alg": "ES256", "typ": "at+jwt", "kid": HS.kid}), jseg(claims()), ES)
    refused(AlgorithmError, token)


def test_alg_ps256_header_with_rs256_key_is_refused() -> None:
    """Same RSA key, other padding: a key is bound to one algorithm, not to one key type."""
    private = rsa.generate_private_key(65537, 2048)
    pkcs1 = RSAKey(private, "RS256", kid="rsa-1")
    pss = RSAKey(private, "PS256", kid="rsa-1")
    ring = KeyRing(None, [pkcs1])
    token = signed(jseg({"alg": "PS256", "typ": "at+jwt", "kid": "rsa-1"}), jseg(claims()), pss)

    assert JWS().verify(token, KeyRing(None, [pss])).key is pss
    refused(AlgorithmError, token, ring)


@pytest.mark.parametrize("alg", ["es256", "ES384", "Ed25519", "ES256 "], ids=repr)
def test_alg_other_spelling_of_the_key_algorithm_is_refused(alg: str) -> None:
    token = signed(jseg({"alg": alg, "typ": "at+jwt", "kid": ES.kid}), jseg(claims()), ES)
    refused(AlgorithmError, token)


# --- kid -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("kidless", [None, HS.kid], ids=["no-kidless", "kidless"])
def test_unknown_kid_is_refused(kidless: str | None) -> None:
    token = token_for(HS, header={"kid": "hs-2"})
    refused(UnknownKeyError, token, KeyRing(None, [HS, ES], kidless=kidless))


def test_missing_kid_without_kidless_key_is_refused() -> None:
    header = jseg({"alg": "HS256", "typ": "at+jwt"})
    token = signed(header, jseg(claims()), HS)

    refused(UnknownKeyError, token, KeyRing(None, [HS]))
    assert JWS().verify(token, KeyRing(None, [HS], kidless=HS.kid)).key is HS


@pytest.mark.parametrize("kid", [1, ["hs-1"], {"kid": "hs-1"}, True], ids=repr)
def test_kid_not_a_string_is_malformed(kid: Any) -> None:
    refused(MalformedTokenError, token_for(HS, header={"kid": kid}))


# --- forbidden header parameters ---------------------------------------------------------------

KEY_LOCATIONS: list[tuple[str, Any]] = [
    ("jwk", ES.public_jwk()),
    ("jwk", {}),
    ("jku", "https://attacker.example/jwks.json"),
    ("jku", None),
    ("x5u", "https://attacker.example/cert.pem"),
    ("x5c", [base64.b64encode(b"\x30\x82\x01\x00" + bytes(256)).decode()]),
]


@pytest.mark.parametrize(("param", "value"), KEY_LOCATIONS, ids=lambda v: repr(v)[:20])
def test_key_location_header_is_refused(param: str, value: Any) -> None:
    """An embedded key (`jwk`, `x5c`) or a key URL (`jku`, `x5u`) is refused, whatever its value."""
    refused(ForbiddenHeaderError, token_for(ES, header={param: value}))


@pytest.mark.parametrize("crit", [["exp"], ["x-ext"], "exp"], ids=repr)
def test_crit_non_empty_is_refused(crit: Any) -> None:
    refused(ForbiddenHeaderError, token_for(ES, header={"crit": crit, "exp": NOW + 60}))


def test_crit_empty_list_is_refused() -> None:
    refused(ForbiddenHeaderError, token_for(ES, header={"crit": []}))


@pytest.mark.parametrize("b64", [False, True], ids=["b64-false", "b64-true"])
def test_crit_with_b64_is_refused(b64: bool) -> None:
    refused(ForbiddenHeaderError, token_for(ES, header={"b64": b64, "crit": ["b64"]}))


@pytest.mark.parametrize("b64", [False, "false", 0, None], ids=repr)
def test_b64_false_is_refused(b64: Any) -> None:
    """RFC 7797 unencoded payloads are refused, even without `crit`."""
    refused(ForbiddenHeaderError, token_for(ES, header={"b64": b64}))


@pytest.mark.parametrize(
    ("param", "value"),
    [("zip", "DEF"), ("enc", "A256GCM"), ("epk", {"kty": "EC"}), ("iv", "AAAA"), ("p2c", 1000)],
    ids=lambda v: repr(v)[:12],
)
def test_jwe_header_parameter_is_refused(param: str, value: Any) -> None:
    refused(ForbiddenHeaderError, token_for(ES, header={param: value}))


# --- canonical base64url -----------------------------------------------------------------------


class Canonical(NamedTuple):
    token: str
    ring: KeyRing
    key: HMACKey


def _reencodable(segment: str) -> bool:
    # Room for padding and unused bits, and characters that have a standard-alphabet twin.
    return len(segment) % 4 != 0 and "-" in segment and "_" in segment


@pytest.fixture(scope="module")
def canonical() -> Canonical:
    """A valid HS256 token in which every segment can be re-encoded in every way tested."""
    kid = next(
        k
        for k in ("x" * n + "??>>~~" for n in range(12))
        if _reencodable(jseg({"alg": "HS256", "typ": "at+jwt", "kid": k}))
    )
    key = HMACKey(SECRET, "HS256", kid=kid)
    for n in range(5000):
        token = token_for(key, payload=claims(pad="x" * (n % 3), note="??>>~~", n=n))
        if all(_reencodable(segment) for segment in token.split(".")):
            return Canonical(token, KeyRing(None, [key]), key)
    raise AssertionError("no suitable token found")


VARIANTS: dict[str, Callable[[str], str]] = {
    "padding": lambda s: s + "=" * (-len(s) % 4),
    "plus-for-minus": lambda s: s.replace("-", "+", 1),
    "slash-for-underscore": lambda s: s.replace("_", "/", 1),
    "nonzero-unused-bits": lambda s: s[:-1] + ALPHABET[ALPHABET.index(s[-1]) | 1],
    "inner-space": lambda s: s[:5] + " " + s[5:],
    "leading-space": lambda s: " " + s,
    "trailing-newline": lambda s: s + "\n",
    "inner-tab": lambda s: s[:5] + "\t" + s[5:],
    "foreign-char-!": lambda s: s[:7] + "!" + s[7:],
    "foreign-char-*": lambda s: s[:7] + "*" + s[7:],
}
SEGMENTS = ["header", "payload", "signature"]


def _reencode(token: str, segment: str, variant: str) -> list[str]:
    parts = token.split(".")
    index = SEGMENTS.index(segment)
    parts[index] = VARIANTS[variant](parts[index])
    return parts


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("segment", SEGMENTS)
def test_noncanonical_base64url_segment_is_malformed(
    canonical: Canonical, segment: str, variant: str
) -> None:
    """A segment that decodes leniently to the right bytes, but is not canonical, is refused.

    Header and payload variants are re-signed over their new text, so the signature is valid
    and the spelling is the only thing wrong.
    """
    original = canonical.token.split(".")
    parts = _reencode(canonical.token, segment, variant)
    index = SEGMENTS.index(segment)
    assert parts[index] != original[index]
    assert lenient_b64decode(parts[index]) == lenient_b64decode(original[index])
    resigned = segment != "signature"
    token = signed(parts[0], parts[1], canonical.key) if resigned else ".".join(parts)

    refused(MalformedTokenError, token, canonical.ring)


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("segment", SEGMENTS)
def test_reencoded_token_is_refused_although_the_original_verifies(
    canonical: Canonical, segment: str, variant: str
) -> None:
    """Re-spelling a segment of a valid token (signature untouched) never yields a valid token."""
    jws = JWS()
    verified = jws.verify(canonical.token, canonical.ring)  # also warms the header cache
    reencoded = ".".join(_reencode(canonical.token, segment, variant))

    refused(TokenError, reencoded, canonical.ring, jws=jws)
    assert jws.verify(canonical.token, canonical.ring).payload == verified.payload


# --- size ----------------------------------------------------------------------------------------


def test_token_over_the_size_cap_is_refused() -> None:
    token = token_for(ES, payload=claims(filler="a" * 6200))
    assert len(token) > 8192

    refused(MalformedTokenError, token)
    assert JWS(max_token_length=len(token)).verify(token, RING).key is ES


def test_token_size_cap_is_inclusive() -> None:
    token = token_for(ES)

    assert JWS(max_token_length=len(token)).verify(token, RING).key is ES
    refused(MalformedTokenError, token, jws=JWS(max_token_length=len(token) - 1))


def test_header_over_the_size_cap_is_refused() -> None:
    token = token_for(ES, header={"x-filler": "a" * 800})
    header = token.split(".")[0]
    assert len(header) > 1024
    assert len(token) < 8192

    refused(MalformedTokenError, token)
    assert JWS(max_header_length=len(header)).verify(token, RING).key is ES


def test_header_size_cap_is_inclusive() -> None:
    token = token_for(ES)
    header = token.split(".")[0]

    assert JWS(max_header_length=len(header)).verify(token, RING).key is ES
    refused(MalformedTokenError, token, jws=JWS(max_header_length=len(header) - 1))


# --- shape ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "shape",
    ["h.p", "h.p.s.s", "h.p.s.s.s", "h.p.s.", "h", ".h.p.s"],
)
def test_wrong_number_of_segments_is_malformed(shape: str) -> None:
    header, payload, signature = token_for(ES).split(".")
    parts = {"h": header, "p": payload, "s": signature, "": ""}
    token = ".".join(parts[name] for name in shape.split("."))
    refused(MalformedTokenError, token)


@pytest.mark.parametrize(
    ("where", "text"),
    [("payload", "é"), ("signature", "é"), ("header", "\uff45"), ("signature", "\u200b")],
    ids=["payload-e-acute", "signature-e-acute", "header-fullwidth", "signature-zero-width"],
)
def test_non_ascii_token_is_malformed(where: str, text: str) -> None:
    parts = token_for(ES).split(".")
    index = SEGMENTS.index(where)
    parts[index] = parts[index][:4] + text + parts[index][4:]
    refused(MalformedTokenError, ".".join(parts))


@pytest.mark.parametrize(
    "make",
    [
        lambda t: t.encode(),
        lambda t: bytearray(t.encode()),
        lambda t: None,
        lambda t: 12345,
        lambda t: t.split("."),
    ],
    ids=["bytes", "bytearray", "None", "int", "list"],
)
def test_non_string_token_is_malformed(make: Callable[[str], object]) -> None:
    refused(MalformedTokenError, make(token_for(ES)))


# --- JSON ----------------------------------------------------------------------------------------

DUPLICATE_HEADERS = [
    '{"alg":"ES256","alg":"ES256","typ":"at+jwt","kid":"es-1"}',
    '{"alg":"ES256","typ":"at+jwt","kid":"es-1","kid":"hs-1"}',
    '{"alg":"ES256","typ":"at+jwt","typ":"at+jwt","kid":"es-1"}',
    '{"alg":"ES256","\\u0061lg":"ES256","typ":"at+jwt","kid":"es-1"}',
]


@pytest.mark.parametrize("header", DUPLICATE_HEADERS)
def test_duplicate_member_names_in_header_are_malformed(header: str) -> None:
    token = signed(b64u(header.encode()), jseg(claims()), ES)
    refused(MalformedTokenError, token)


DUPLICATE_PAYLOADS = [
    '{"iss":"https://auth.test","aud":"api","sub":"alice","sub":"admin",'
    '"iat":1700000000,"nbf":1700000000,"exp":1700000300,"jti":"j"}',
    '{"iss":"https://auth.test","aud":"api","sub":"alice","sub":"alice",'
    '"iat":1700000000,"nbf":1700000000,"exp":1700000300,"jti":"j"}',
    '{"iss":"https://auth.test","aud":"api","sub":"alice","iat":1700000000,'
    '"nbf":1700000000,"exp":1700000300,"exp":9999999999,"jti":"j"}',
    '{"iss":"https://auth.test","aud":"api","sub":"alice","s\\u0075b":"admin",'
    '"iat":1700000000,"nbf":1700000000,"exp":1700000300,"jti":"j"}',
    '{"iss":"https://auth.test","aud":"api","sub":"alice","iat":1700000000,'
    '"nbf":1700000000,"exp":1700000300,"jti":"j","roles":{"admin":false,"admin":true}}',
]


@pytest.mark.parametrize("payload", DUPLICATE_PAYLOADS)
def test_duplicate_member_names_in_payload_are_malformed(payload: str) -> None:
    header = jseg({"alg": "ES256", "typ": "at+jwt", "kid": ES.kid})
    token = signed(header, b64u(payload.encode()), ES)

    # The signature holds: the duplicate is the only fault, and the claims layer finds it.
    assert JWS().verify(token, RING).payload == payload.encode()
    refused_by_manager(MalformedTokenError, token)


@pytest.mark.parametrize(
    "payload",
    [
        b"[]",
        b'"alice"',
        b"1",
        b"null",
        b"true",
        b"",
        b"{",
        b'{"sub":"a"} x',
        b"\xff\xfe",
        b'{"exp":NaN}',
        b'{"exp":Infinity}',
    ],
    ids=repr,
)
def test_payload_not_a_json_object_is_malformed(payload: bytes) -> None:
    header = jseg({"alg": "ES256", "typ": "at+jwt", "kid": ES.kid})
    token = signed(header, b64u(payload), ES)

    assert JWS().verify(token, RING).payload == payload
    refused_by_manager(MalformedTokenError, token)


# --- signatures ----------------------------------------------------------------------------------


@pytest.mark.parametrize("key", [HS, ES, ED], ids=lambda k: k.alg.value)
@pytest.mark.parametrize(
    "alter",
    [
        lambda s: s[:-1],
        lambda s: s[1:],
        lambda s: s + b"\x00",
        lambda s: b"\x00" + s,
        lambda s: s + s,
        lambda s: b"",
    ],
    ids=["truncated-end", "truncated-start", "extended-end", "extended-start", "doubled", "empty"],
)
def test_signature_of_wrong_length_is_refused(key: Key, alter: Callable[[bytes], bytes]) -> None:
    header, payload, signature = token_for(key).split(".")
    raw = base64.urlsafe_b64decode(signature + "==")
    refused(BadSignatureError, f"{header}.{payload}.{b64u(alter(raw))}")


def _ecdsa_variants() -> dict[str, Callable[[int, int], tuple[int, int]]]:
    n = P256_ORDER
    return {
        "all-zero": lambda r, s: (0, 0),
        "r-zero": lambda r, s: (0, s),
        "s-zero": lambda r, s: (r, 0),
        "r-and-s-order": lambda r, s: (n, n),
        "r-order": lambda r, s: (n, s),
        "s-order": lambda r, s: (r, n),
        "all-ones": lambda r, s: (2**256 - 1, 2**256 - 1),
    }


@pytest.mark.parametrize("variant", list(_ecdsa_variants()))
def test_ecdsa_degenerate_signature_is_refused(variant: str) -> None:
    header, payload, signature = token_for(ES).split(".")
    raw = base64.urlsafe_b64decode(signature + "==")
    r, s = int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")
    r2, s2 = _ecdsa_variants()[variant](r, s)
    forged = r2.to_bytes(32, "big") + s2.to_bytes(32, "big")
    assert forged != raw

    refused(BadSignatureError, f"{header}.{payload}.{b64u(forged)}")


# --- keys refused at construction ----------------------------------------------------------------


@pytest.mark.parametrize(("alg", "size"), [("HS256", 32), ("HS384", 48), ("HS512", 64)])
def test_hmac_key_shorter_than_the_hash_is_refused(alg: str, size: int) -> None:
    secret = hashlib.sha512(b"short secret").digest()[: size - 1]
    with pytest.raises(WeakSecretError) as info:
        HMACKey(secret, alg)
    message = str(info.value)
    assert f"at least {size} bytes" in message
    assert secret.hex() not in message
    assert b64u(secret) not in message

    full = hashlib.sha512(b"short secret").digest()[:size]
    assert HMACKey(full, alg).alg.value == alg


def test_empty_hmac_key_is_refused() -> None:
    with pytest.raises(WeakSecretError):
        HMACKey(b"", "HS256")


@pytest.mark.parametrize(
    "secret",
    [
        b"0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0",
        b"\x30" + hashlib.sha512(b"binary secret").digest()[1:],
    ],
    ids=["hex-starting-with-0", "binary-starting-with-0x30"],
)
def test_hmac_secret_starting_with_the_der_sequence_byte_is_accepted(secret: bytes) -> None:
    """0x30 is ASCII '0' and the DER SEQUENCE tag: such a secret is not key material.

    One hex secret in 16 starts with '0', and one 64-byte `generate_key("HS256")` secret in 256
    starts with 0x30; both must work.
    """
    key = HMACKey(secret, "HS256", kid="zero")
    token = token_for(key)
    assert JWS().verify(token, KeyRing(None, [key])).key is key


def test_key_from_pem_refuses_garbage_with_a_configuration_error() -> None:
    with pytest.raises(KeyConfigurationError):
        key_from_pem(b"this is not a PEM key at all, just some text")


# --- token types ---------------------------------------------------------------------------------


@pytest.mark.parametrize("typ", ["JWT", "jwt", "rt+jwt", "at+jwt+x", "", None], ids=repr)
def test_header_typ_other_than_access_is_refused(typ: str | None) -> None:
    header: dict[str, Any] = {"alg": "ES256", "kid": ES.kid}
    if typ is not None:
        header["typ"] = typ
    token = signed(jseg(header), jseg(claims()), ES)

    assert JWS().verify(token, RING).key is ES
    refused_by_manager(TokenTypeError, token)


@pytest.mark.parametrize("typ", ["at+jwt", "AT+JWT", "application/at+jwt"])
def test_header_typ_access_spellings_are_accepted(typ: str) -> None:
    """RFC 9068 section 2.1: `at+jwt`, compared as a media type (case-insensitive, prefix)."""
    token = token_for(ES, header={"typ": typ})
    assert manager().verify(token)["sub"] == "alice"


def test_refresh_token_is_refused_as_access() -> None:
    mgr = manager()
    token = mgr.issue("alice", token_type=REFRESH)

    refused_by_manager(TokenTypeError, token, mgr)
    assert mgr.verify(token, token_type=REFRESH)["sub"] == "alice"


def test_access_token_is_refused_as_refresh() -> None:
    mgr = manager()
    token = mgr.issue("alice")

    refused_by_manager(TokenTypeError, token, mgr, token_type=REFRESH)
    assert mgr.verify(token)["sub"] == "alice"


def test_cached_token_is_still_refused_as_the_other_type() -> None:
    """A verification remembered by the cache does not let a token pass for another type."""
    mgr = manager()
    access, refresh = mgr.issue("alice"), mgr.issue("alice", token_type=REFRESH)
    mgr.verify(access)
    mgr.verify(refresh, token_type=REFRESH)

    refused_by_manager(TokenTypeError, access, mgr, token_type=REFRESH)
    refused_by_manager(TokenTypeError, refresh, mgr)
