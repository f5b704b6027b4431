"""Strict base64url and JSON: one accepted spelling per value, and nothing ambiguous parsed."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from jwtauth.tokens.encoding import b64url_decode, b64url_encode, json_dumps, json_loads_object

# RFC 4648 section 10 test vectors, in the URL-safe alphabet without padding.
RFC4648_VECTORS = [
    (b"", ""),
    (b"f", "Zg"),
    (b"fo", "Zm8"),
    (b"foo", "Zm9v"),
    (b"foob", "Zm9vYg"),
    (b"fooba", "Zm9vYmE"),
    (b"foobar", "Zm9vYmFy"),
]


@pytest.mark.parametrize(("data", "text"), RFC4648_VECTORS)
def test_rfc4648_vectors_encode_and_decode(data: bytes, text: str) -> None:
    assert b64url_encode(data) == text
    assert b64url_decode(text) == data


def test_encode_uses_the_url_safe_alphabet_without_padding() -> None:
    # 0xfb 0xff is "+/8=" in standard base64.
    assert b64url_encode(b"\xfb\xff") == "-_8"
    assert b64url_decode("-_8") == b"\xfb\xff"
    every_byte = bytes(range(256))
    encoded = b64url_encode(every_byte)
    assert not set(encoded) - set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    )
    assert b64url_decode(encoded) == every_byte


@pytest.mark.parametrize(
    "segment",
    [
        pytest.param("Zg==", id="padding"),
        pytest.param("Zg=", id="partial-padding"),
        pytest.param("Zm9v====", id="padding-after-full-quantum"),
        pytest.param("Z", id="length-1-mod-4"),
        pytest.param("Zm9vY", id="length-5"),
        pytest.param("Zh", id="nonzero-unused-bits-len2"),
        pytest.param("Zm9", id="nonzero-unused-bits-len3"),
        pytest.param("Zm9vYh", id="nonzero-unused-bits-len6"),
        pytest.param("+/8", id="standard-alphabet"),
        pytest.param("Zm9v+A", id="plus-inside"),
        pytest.param("Zm9v/w", id="slash-inside"),
        pytest.param(" Zg", id="leading-space"),
        pytest.param("Zg ", id="trailing-space"),
        pytest.param("Zg\n", id="newline"),
        pytest.param("Zm\r\n9v", id="crlf-inside"),
        pytest.param("Zm9v\t", id="tab"),
        pytest.param("Z\x00g", id="nul"),
        pytest.param("Zé", id="non-ascii"),
        pytest.param("Zm9v.", id="dot"),
        pytest.param("Zm9v!", id="bang"),
        pytest.param("=Zg", id="leading-equals"),
        pytest.param("Zm=9v", id="equals-inside"),
    ],
)
def test_non_canonical_base64url_is_refused(segment: str) -> None:
    with pytest.raises(ValueError, match="base64url"):
        b64url_decode(segment)


@pytest.mark.parametrize(
    "data", [b"\x00", b"\xff", b"\x00\x00", b"\xff\xff", b"ab\xfe", b"\x00" * 5]
)
def test_each_byte_string_has_exactly_one_accepted_spelling(data: bytes) -> None:
    canonical = b64url_encode(data)
    assert b64url_decode(canonical) == data
    # Every other value of the last character decodes to the same bytes under a lenient decoder
    # (or to different ones); the strict decoder accepts only the canonical spelling.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    accepted_same = []
    for char in alphabet:
        candidate = canonical[:-1] + char
        try:
            decoded = b64url_decode(candidate)
        except ValueError:
            continue
        if decoded == data:
            accepted_same.append(candidate)
    assert accepted_same == [canonical]


def test_decode_agrees_with_a_reference_canonical_decoder() -> None:
    # Reference: lenient stdlib decode plus a re-encoding round trip. Checked over every two- and
    # three-character segment whose characters come from a small mixed alphabet.
    chars = "AQgw-_Zz09+/="
    for a in chars:
        for b in chars:
            for c in ("", *chars):
                segment = a + b + c
                try:
                    ours: bytes | None = b64url_decode(segment)
                except ValueError:
                    ours = None
                raw = segment.encode()
                try:
                    decoded = base64.urlsafe_b64decode(raw + b"=" * (-len(raw) % 4))
                    canonical = base64.urlsafe_b64encode(decoded).rstrip(b"=") == raw
                except ValueError:
                    canonical = False
                assert ours == (decoded if canonical else None), segment


# JSON ----------------------------------------------------------------------------------------


def test_json_dumps_is_compact_and_keeps_key_order() -> None:
    assert (
        json_dumps({"b": 1, "a": [1, 2], "c": {"z": None}}) == b'{"b":1,"a":[1,2],"c":{"z":null}}'
    )
    assert json_dumps({"s": "é"}) == '{"s":"é"}'.encode()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"{}", {}),
        (b'{"a":1,"b":"x"}', {"a": 1, "b": "x"}),
        (b'{ "a" : 1 ,\n "b" : [1, 2.5, null, true] }', {"a": 1, "b": [1, 2.5, None, True]}),
        (b'{"a":{"b":{"c":[{"d":1}]}}}', {"a": {"b": {"c": [{"d": 1}]}}}),
        (b'{"\\u00e9":"\\u00e9"}', {"é": "é"}),
        (b'{"a":1.0e2}', {"a": 100.0}),
        # The same name in different objects is not a duplicate.
        (b'{"a":{"x":1},"b":{"x":2}}', {"a": {"x": 1}, "b": {"x": 2}}),
        (b'{"a":[{"x":1},{"x":2}]}', {"a": [{"x": 1}, {"x": 2}]}),
    ],
)
def test_json_objects_parse(data: bytes, expected: dict[str, Any]) -> None:
    assert json_loads_object(data) == expected


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b'{"a":1,"a":2}', id="top-level"),
        pytest.param(b'{"a":1,"a":1}', id="top-level-same-value"),
        pytest.param(b'{"a": 1, "a": 2}', id="top-level-with-whitespace"),
        pytest.param(b'{"alg":"HS256","alg":"none"}', id="alg-twice"),
        pytest.param(b'{"a":"x","\\u0061":"y"}', id="escaped-spelling"),
        pytest.param(b'{"o":{"b":1,"b":2}}', id="nested-object"),
        pytest.param(b'{"o":{"p":{"b":1,"b":1}}}', id="doubly-nested"),
        pytest.param(b'{"l":[{"b":1,"b":2}]}', id="object-in-array"),
        pytest.param(b'{"l":[1,[{"b":1,"c":0,"b":2}]]}', id="object-in-nested-array"),
    ],
)
def test_duplicate_member_names_are_refused(data: bytes) -> None:
    with pytest.raises(ValueError, match="duplicate"):
        json_loads_object(data)


@pytest.mark.parametrize(
    "data",
    [
        b'{"a":NaN}',
        b'{"a":Infinity}',
        b'{"a":-Infinity}',
        b'{"a": NaN}',
        b'{"a":[1,NaN]}',
        b'{"a":{"b":Infinity}}',
    ],
)
def test_nan_and_infinity_are_refused(data: bytes) -> None:
    with pytest.raises(ValueError, match="JSON"):
        json_loads_object(data)


@pytest.mark.parametrize(
    "data",
    [b"[]", b"[{}]", b"1", b"1.5", b'"s"', b"null", b"true", b"false"],
)
def test_non_objects_are_refused(data: bytes) -> None:
    with pytest.raises(ValueError, match="object"):
        json_loads_object(data)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"{", id="truncated"),
        pytest.param(b'{"a":1}x', id="trailing-garbage"),
        pytest.param(b'{"a":1}{}', id="two-values"),
        pytest.param(b"{'a':1}", id="single-quotes"),
        pytest.param(b'{"a":1,}', id="trailing-comma"),
        pytest.param(b'{"a":01}', id="leading-zero"),
        pytest.param(b'{"a":"\xff"}', id="invalid-utf8"),
        pytest.param(b'{"a":"\\ud800"}', id="lone-surrogate"),
        pytest.param(b'\xef\xbb\xbf{"a":1}', id="utf8-bom"),
        pytest.param(b'{"a":1e400}', id="float-overflow"),
        pytest.param(b'{"a":"x\x00"}', id="raw-control-char"),
        pytest.param(b'{"a":1} \x00', id="trailing-nul"),
    ],
)
def test_invalid_json_is_refused_with_value_error(data: bytes) -> None:
    with pytest.raises(ValueError, match="JSON"):
        json_loads_object(data)


def _loads_or_value_error(data: bytes) -> dict[str, Any] | None:
    """The contract of json_loads_object: a dict, or ValueError and nothing else."""
    try:
        return json_loads_object(data)
    except ValueError:
        return None


@pytest.mark.parametrize(
    ("depth", "spacing"),
    [
        pytest.param(depth, spacing, id=f"{depth}-{'spaced' if spacing else 'compact'}")
        for depth, spacing in [
            (10, b""),
            (200, b""),
            (253, b""),
            (254, b""),
            (300, b" "),
            (1000, b""),
            (5000, b""),
        ]
    ],
)
def test_deep_nesting_gives_a_dict_or_value_error(depth: int, spacing: bytes) -> None:
    # An attacker controls the header's JSON before any signature is checked; whatever the depth,
    # the parser must answer with a dict or ValueError (which the JWS layer turns into
    # MalformedTokenError), never another exception type.
    data = b'{"a":' + spacing + b"[" * depth + b"]" * depth + b"}"
    result = _loads_or_value_error(data)
    assert result is None or isinstance(result, dict)


@pytest.mark.parametrize("depth", [10, 300])
def test_deeply_nested_objects_give_a_dict_or_value_error(depth: int) -> None:
    data = b'{"a":' * depth + b"1" + b"}" * depth
    result = _loads_or_value_error(data)
    assert result is None or isinstance(result, dict)


def test_loads_result_matches_the_stdlib_on_non_compact_input() -> None:
    data = (
        b'{\n  "iss": "https://a",\n  "exp": 1300819380,\n  "http://example.com/is_root": true\n}'
    )
    assert json_loads_object(data) == json.loads(data)
