"""JWS compact serialization (RFC 7515): strict, bounded parsing; signing; verification.

Verification order matters: size and shape first, then the header (refusing `none`, key
locations, `crit` and `b64`), then the key by `kid` from our keyring alone, then the header's
`alg` must equal that key's algorithm, then the signature, and only then is the payload
decoded. Attacker-controlled JSON in the payload is never parsed before the signature holds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, NamedTuple

from jwtauth.errors import (
    AlgorithmError,
    BadSignatureError,
    ForbiddenHeaderError,
    MalformedTokenError,
)
from jwtauth.keys.key import Key
from jwtauth.keys.keyring import KeyRing
from jwtauth.tokens.encoding import b64url_decode, b64url_encode, json_dumps, json_loads_object

__all__ = ["JWS", "Header", "Verified"]

# Header parameters that would tell a verifier where to find a key, or embed one. We find keys
# only in our own keyring, so their mere presence marks a token as hostile or foreign.
KEY_LOCATION_PARAMS = frozenset({"jku", "jwk", "x5u", "x5c"})
# JWE parameters have no meaning in a JWS; `zip` in particular must never inflate anything.
JWE_PARAMS = frozenset({"enc", "zip", "epk", "apu", "apv", "iv", "tag", "p2s", "p2c"})


@dataclass(frozen=True, slots=True)
class Header:
    """The validated protected header of a token."""

    alg: str
    kid: str | None
    typ: str | None
    params: Mapping[str, Any]


class Verified(NamedTuple):
    """A token whose signature held: its header, raw payload bytes and the key that verified it."""

    header: Header
    payload: bytes
    key: Key


def parse_header(segment: str) -> Header:
    """Decode and check a protected header; raise a :class:`TokenError` subclass if refused."""
    try:
        params = json_loads_object(b64url_decode(segment))
    except ValueError:
        raise MalformedTokenError("The token's header is not valid base64url JSON.") from None
    alg = params.get("alg")
    if not isinstance(alg, str):
        raise MalformedTokenError("The token's header has no algorithm.")
    if alg.strip().lower() == "none":
        raise AlgorithmError("Unsecured tokens (alg none) are never accepted.")
    if KEY_LOCATION_PARAMS & params.keys():
        raise ForbiddenHeaderError("Tokens that embed or point to their own key are refused.")
    if "crit" in params:
        # RFC 7515 section 4.1.11: extensions we do not understand must be refused; we
        # understand none, and an empty `crit` list is itself invalid.
        raise ForbiddenHeaderError("Tokens with critical header extensions are refused.")
    if "b64" in params and params["b64"] is not True:
        raise ForbiddenHeaderError("Unencoded payloads (RFC 7797) are refused.")
    if JWE_PARAMS & params.keys():
        raise ForbiddenHeaderError("The token's header carries encryption parameters.")
    kid, typ = params.get("kid"), params.get("typ")
    if not isinstance(kid, str | None) or not isinstance(typ, str | None):
        raise MalformedTokenError("The token's header has a non-string kid or typ.")
    return Header(alg=alg, kid=kid, typ=typ, params=MappingProxyType(params))


class JWS:
    """Signs and verifies JWS compact tokens under size limits.

    Args:
        max_token_length: the longest token accepted, in characters (default 8 KiB).
        max_header_length: the longest encoded header accepted (default 1 KiB).
        header_cache_size: how many distinct validated headers to remember. A header segment
            is a pure function of its text, so remembering the outcome changes nothing but speed;
            tokens signed by one key share one header.
    """

    __slots__ = ("_header_cache", "_header_cache_size", "_signing_headers", "max_header_length",
                 "max_token_length")  # fmt: skip

    def __init__(
        self,
        *,
        max_token_length: int = 8192,
        max_header_length: int = 1024,
        header_cache_size: int = 64,
    ) -> None:
        self.max_token_length = max_token_length
        self.max_header_length = max_header_length
        self._header_cache: dict[str, Header] = {}
        self._header_cache_size = header_cache_size
        self._signing_headers: dict[tuple[str, str, str | None], bytes] = {}

    def sign(self, payload: bytes, key: Key, *, typ: str | None = None) -> str:
        """Sign ``payload`` with ``key``; the header is `{"alg", "typ", "kid"}`."""
        cache_key = (key.kid, key.alg.value, typ)
        header = self._signing_headers.get(cache_key)
        if header is None:
            params = {"alg": key.alg.value, **({"typ": typ} if typ else {}), "kid": key.kid}
            header = b64url_encode(json_dumps(params)).encode("ascii")
            if len(self._signing_headers) < self._header_cache_size:
                self._signing_headers[cache_key] = header
        signing_input = header + b"." + b64url_encode(payload).encode("ascii")
        return (signing_input + b"." + b64url_encode(key.sign(signing_input)).encode()).decode()

    def header(self, token: str) -> Header:
        """Parse and check the header of ``token`` without verifying anything else."""
        return self._header(self._split(token)[0])

    def verify(self, token: str, keyring: KeyRing) -> Verified:
        """Verify ``token`` against ``keyring``; return its header and payload bytes."""
        header_segment, payload_segment, signature_segment = self._split(token)
        header = self._header(header_segment)
        key = keyring.get(header.kid)
        if header.alg != key.alg:  # Algorithm is a StrEnum: a plain string comparison
            raise AlgorithmError("The token's algorithm does not match its key.")
        try:
            signature = b64url_decode(signature_segment)
        except ValueError:
            raise MalformedTokenError("The token's signature is not valid base64url.") from None
        signing_input = token[: len(header_segment) + 1 + len(payload_segment)].encode("ascii")
        if not key.verify(signing_input, signature):  # every Key.verify checks the length
            raise BadSignatureError()
        try:
            payload = b64url_decode(payload_segment)
        except ValueError:
            raise MalformedTokenError("The token's payload is not valid base64url.") from None
        return Verified(header, payload, key)

    def _split(self, token: str) -> tuple[str, str, str]:
        if not isinstance(token, str):
            raise MalformedTokenError("The token must be a string.")
        if len(token) > self.max_token_length:
            raise MalformedTokenError("The token is too large.")
        parts = token.split(".")
        if len(parts) != 3:
            raise MalformedTokenError("The token is not a JWS compact serialization.")
        if len(parts[0]) > self.max_header_length:
            raise MalformedTokenError("The token's header is too large.")
        if not token.isascii():
            raise MalformedTokenError("The token contains non-ASCII characters.")
        return parts[0], parts[1], parts[2]

    def _header(self, segment: str) -> Header:
        header = self._header_cache.get(segment)
        if header is None:
            header = parse_header(segment)
            if len(self._header_cache) >= self._header_cache_size:
                self._header_cache.clear()
            self._header_cache[segment] = header
        return header
