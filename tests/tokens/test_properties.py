"""Properties: no mutation of a valid token verifies, and failures are always JWTAuthErrors."""

from __future__ import annotations

import base64
import secrets
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from jwtauth.errors import JWTAuthError
from jwtauth.keys.key import HMACKey, Key, generate_key
from jwtauth.keys.keyring import KeyRing
from jwtauth.manager import TokenManager
from jwtauth.testing import FrozenClock
from jwtauth.tokens.encoding import b64url_decode, b64url_encode, json_dumps

B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
# Characters a mutation may introduce: the alphabet, its near misses, separators and a few
# non-ASCII code points.
MUTATION_CHARS = B64URL + '+/=. \t\n\x00%\\"{}:,é\u2028\U0001f600'

PROPERTY_SETTINGS = settings(max_examples=200, deadline=None, database=None)


def _key(alg: str) -> Key:
    if alg == "HS256":
        # A fixed first byte keeps random secrets away from 0x30 (DER); see tests/keys/test_key.py.
        return HMACKey(b"k" + secrets.token_bytes(63), "HS256")
    return generate_key(alg)


CLOCK = FrozenClock()
MANAGERS = {
    alg: TokenManager(KeyRing(_key(alg)), issuer="https://auth.test", audience="api", clock=CLOCK)
    for alg in ("HS256", "ES256", "EdDSA")
}
TOKENS = {alg: tm.issue("alice", claims={"role": "user"}) for alg, tm in MANAGERS.items()}
ALGS = sorted(MANAGERS)


def outcome(tm: TokenManager, token: Any) -> Any:
    """The claims, or the exception raised: verify must never raise anything else."""
    try:
        return tm.verify(token)
    except Exception as exc:
        return exc


def assert_refused(alg: str, mutated: Any) -> None:
    tm = MANAGERS[alg]
    result = outcome(tm, mutated)
    if mutated == TOKENS[alg]:
        assert not isinstance(result, Exception), result
        return
    assert isinstance(result, JWTAuthError), f"{type(result).__name__}: {result!r}"


def test_the_unmutated_tokens_verify() -> None:
    for alg in ALGS:
        assert MANAGERS[alg].verify(TOKENS[alg])["sub"] == "alice"


# Mutations ------------------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(alg=st.sampled_from(ALGS), data=st.data())
def test_character_substitutions_never_verify(alg: str, data: st.DataObject) -> None:
    token = TOKENS[alg]
    chars = list(token)
    for _ in range(data.draw(st.integers(1, 3), label="count")):
        index = data.draw(st.integers(0, len(chars) - 1), label="index")
        chars[index] = data.draw(st.sampled_from(MUTATION_CHARS), label="char")
    assert_refused(alg, "".join(chars))


@PROPERTY_SETTINGS
@given(alg=st.sampled_from(ALGS), data=st.data())
def test_bit_flips_in_the_ascii_never_verify(alg: str, data: st.DataObject) -> None:
    raw = bytearray(TOKENS[alg].encode())
    index = data.draw(st.integers(0, len(raw) - 1), label="index")
    raw[index] ^= 1 << data.draw(st.integers(0, 6), label="bit")
    assert_refused(alg, raw.decode("ascii"))


@PROPERTY_SETTINGS
@given(
    alg=st.sampled_from(ALGS),
    data=st.data(),
    text=st.text(alphabet=MUTATION_CHARS, min_size=1, max_size=12),
)
def test_insertions_never_verify(alg: str, data: st.DataObject, text: str) -> None:
    token = TOKENS[alg]
    index = data.draw(st.integers(0, len(token)), label="index")
    assert_refused(alg, token[:index] + text + token[index:])


@PROPERTY_SETTINGS
@given(alg=st.sampled_from(ALGS), data=st.data())
def test_deletions_never_verify(alg: str, data: st.DataObject) -> None:
    token = TOKENS[alg]
    start = data.draw(st.integers(0, len(token) - 1), label="start")
    length = data.draw(st.integers(1, len(token) - start), label="length")
    assert_refused(alg, token[:start] + token[start + length :])


@PROPERTY_SETTINGS
@given(
    alg=st.sampled_from(ALGS),
    order=st.lists(st.integers(0, 2), min_size=1, max_size=5),
)
@example(alg="HS256", order=[2, 1, 0])
@example(alg="ES256", order=[0, 2, 1])
@example(alg="EdDSA", order=[0, 1, 2, 2])
@example(alg="EdDSA", order=[0, 1])
def test_segment_shuffles_never_verify(alg: str, order: list[int]) -> None:
    segments = TOKENS[alg].split(".")
    assert_refused(alg, ".".join(segments[i] for i in order))


@PROPERTY_SETTINGS
@given(
    alg=st.sampled_from(ALGS),
    which=st.integers(0, 2),
    replacement=st.one_of(
        st.binary(max_size=200).map(b64url_encode),
        st.text(alphabet=B64URL, max_size=200),
        st.text(max_size=50),
    ),
)
def test_random_segments_never_verify(alg: str, which: int, replacement: str) -> None:
    segments = TOKENS[alg].split(".")
    segments[which] = replacement
    assert_refused(alg, ".".join(segments))


@PROPERTY_SETTINGS
@given(alg=st.sampled_from(ALGS), text=st.text(max_size=300))
@example(alg="HS256", text="")
@example(alg="HS256", text="..")
@example(alg="ES256", text="a.b.c")
@example(alg="EdDSA", text="e30.e30.")
def test_arbitrary_text_never_verifies(alg: str, text: str) -> None:
    assert_refused(alg, text)


@PROPERTY_SETTINGS
@given(alg=st.sampled_from(ALGS), other=st.sampled_from(ALGS), data=st.data())
def test_segments_spliced_from_another_token_never_verify(
    alg: str, other: str, data: st.DataObject
) -> None:
    ours = TOKENS[alg].split(".")
    theirs = MANAGERS[other].issue("mallory").split(".")
    which = data.draw(st.integers(0, 2), label="segment")
    ours[which] = theirs[which]
    mutated = ".".join(ours)
    if other == alg and which == 0:
        # The same key's header is identical: this one is the identity.
        assert mutated == TOKENS[alg]
    assert_refused(alg, mutated)


JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**64 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.text(max_size=8), children, max_size=4),
    ),
    max_leaves=20,
)
HEADER_NAMES = st.sampled_from(
    ["alg", "kid", "typ", "crit", "b64", "jwk", "jku", "x5c", "x5u", "zip", "enc", "cty", "x"]
)


@PROPERTY_SETTINGS
@given(
    alg=st.sampled_from(ALGS),
    header=st.dictionaries(HEADER_NAMES, JSON_VALUES, max_size=6),
    keep_alg_and_kid=st.booleans(),
)
def test_forged_headers_never_verify(
    alg: str, header: dict[str, Any], keep_alg_and_kid: bool
) -> None:
    # Attacker-chosen header JSON (parsed before any signature check) with a valid payload and
    # signature of another header.
    _, payload, signature = TOKENS[alg].split(".")
    if keep_alg_and_kid:
        key = MANAGERS[alg].keyring.signing_key
        header = {**header, "alg": alg, "kid": key.kid}
    mutated = f"{b64url_encode(json_dumps(header))}.{payload}.{signature}"
    assert_refused(alg, mutated)


@pytest.mark.parametrize("alg", ALGS)
@pytest.mark.parametrize("depth", [10, 100, 250, 254, 255, 300])
def test_deeply_nested_headers_are_refused_as_token_errors(alg: str, depth: int) -> None:
    # The header decodes before the signature is checked, so any client can send this; it must
    # be refused with a JWTAuthError (a 401), not crash the verifier.
    _, payload, signature = TOKENS[alg].split(".")
    kid = MANAGERS[alg].keyring.signing_key.kid
    inner = b"[" * depth + b"]" * depth
    header = b'{"alg":"' + alg.encode() + b'","kid":"' + kid.encode() + b'","x":' + inner + b"}"
    segment = b64url_encode(header)
    assert len(segment) <= 1024  # within the default header size limit: parsed, not cut off
    assert_refused(alg, f"{segment}.{payload}.{signature}")


@pytest.mark.parametrize("alg", ALGS)
@pytest.mark.parametrize(
    "value",
    [None, b"a.b.c", 5, 1.5, ["a", "b", "c"], {"token": "x"}, ("a", "b")],
    ids=["none", "bytes", "int", "float", "list", "dict", "tuple"],
)
def test_non_string_tokens_are_refused_as_token_errors(alg: str, value: Any) -> None:
    assert_refused(alg, value)


# base64url ------------------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(data=st.binary(max_size=300))
def test_b64url_roundtrip(data: bytes) -> None:
    encoded = b64url_encode(data)
    assert b64url_decode(encoded) == data
    assert "=" not in encoded
    assert set(encoded) <= set(B64URL)


@PROPERTY_SETTINGS
@given(
    text=st.one_of(
        st.text(alphabet=B64URL, max_size=40),
        st.text(alphabet=B64URL + "+/=\n ", max_size=40),
        st.text(max_size=40),
    )
)
def test_whatever_decodes_re_encodes_to_itself(text: str) -> None:
    try:
        decoded = b64url_decode(text)
    except ValueError:
        decoded = None
    # Reference: the lenient stdlib decoder plus a round trip.
    raw = text.encode("utf-8")
    try:
        lenient = base64.urlsafe_b64decode(raw + b"=" * (-len(raw) % 4))
        canonical = text.isascii() and b64url_encode(lenient) == text
    except ValueError:
        canonical = False
    if decoded is None:
        assert not canonical
    else:
        assert b64url_encode(decoded) == text
        assert canonical
