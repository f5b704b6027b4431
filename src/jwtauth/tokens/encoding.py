"""Strict base64url and JSON for the token engine.

Both are canonical-only: a segment that decodes but does not re-encode to itself (padding,
foreign characters, non-zero trailing bits) is refused, so one token has exactly one spelling and
a re-encoded token is never a second valid token. JSON objects with duplicate member names are
refused (RFC 7515 section 5.2 allows a parser to refuse them; RFC 8725 section 3.10 recommends
strictness) because two parsers may pick different duplicates.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

import orjson

__all__ = ["b64url_decode", "b64url_encode", "json_dumps", "json_loads_object"]


def b64url_encode(data: bytes) -> str:
    """Encode ``data`` as unpadded base64url (RFC 7515 section 2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


# To the standard alphabet, with every character that canonical base64url never contains ("+",
# "/", "=") mapped to "!", which the strict decoder then refuses.
_FROM_URLSAFE = bytes.maketrans(b"-_+/=", b"+/!!!")
_PADDING = (b"", b"", b"==", b"=")
# Unused low bits of the last character, by length modulo 4; canonical encodings leave them 0.
_UNUSED_BITS = (0, 0, 0x0F, 0x03)
_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_VALUE = {c: i for i, c in enumerate(_ALPHABET)}


def b64url_decode(segment: str) -> bytes:
    """Decode canonical unpadded base64url; raise ``ValueError`` for anything else.

    Refused: padding, characters outside the base64url alphabet (which the stdlib's lenient
    decoder silently drops), a length of 1 modulo 4, and non-zero unused bits in the last
    character, so every byte string has exactly one accepted encoding.
    """
    try:
        raw = segment.encode("ascii")
        rest = len(raw) % 4
        data = binascii.a2b_base64(raw.translate(_FROM_URLSAFE) + _PADDING[rest], strict_mode=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not base64url") from exc
    if rest and _VALUE[raw[-1]] & _UNUSED_BITS[rest]:
        raise ValueError("not canonical base64url")
    return data


def json_dumps(value: Any) -> bytes:
    """Serialize compactly (no whitespace), preserving key order."""
    return orjson.dumps(value)


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("duplicate member name")
    return result


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def json_loads_object(data: bytes) -> dict[str, Any]:
    """Parse a JSON object strictly: UTF-8, no duplicate names, no NaN/Infinity."""
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise ValueError("not JSON") from exc
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")  # noqa: TRY004 - one error type for bad input
    # orjson keeps the last of duplicate names silently. If re-serializing reproduces the input
    # byte for byte there were none (the common case: compact JSON from us or PyJWT); otherwise
    # the stdlib parser, which can see every pair, decides.
    try:
        canonical = orjson.dumps(value) == data
        if not canonical:
            json.loads(data, object_pairs_hook=_refuse_duplicates, parse_constant=_refuse_constant)
    except (orjson.JSONEncodeError, RecursionError) as exc:
        # orjson serializes at most 254 levels; nothing legitimate nests that deep.
        raise ValueError("JSON nested too deeply") from exc
    return value
