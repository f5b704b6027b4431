"""TokenType: `typ` compared as a media type, stored in canonical form."""

from __future__ import annotations

from collections.abc import Callable
from types import MappingProxyType
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from joserfc import jwk as jose_jwk
from joserfc import jwt as jose_jwt

from jwtauth.errors import TokenTypeError
from jwtauth.keys.key import ECKey
from jwtauth.keys.keyring import KeyRing
from jwtauth.manager import TokenManager
from jwtauth.testing import FrozenClock
from jwtauth.tokens.cache import CachedToken, VerifiedTokenCache
from jwtauth.tokens.token_type import ACCESS, TokenType, canonical_typ
from tests.forge import registered_claims


@pytest.mark.parametrize("typ", ["RT+JWT", "application/rt+jwt", "Application/RT+JWT"])
def test_declared_typ_is_normalised(typ: str) -> None:
    refresh = TokenType("refresh", typ)
    assert refresh.typ == "rt+jwt"
    assert refresh.matches("rt+jwt")
    assert refresh.matches("application/RT+JWT")
    assert not refresh.matches(ACCESS.typ)


def test_empty_typ_is_refused() -> None:
    with pytest.raises(ValueError, match="typ"):
        TokenType("nothing", "application/")


def test_missing_header_typ_matches_no_type() -> None:
    assert not ACCESS.matches(None)


# --- a peer's `typ` spelling, verified twice (cache miss, then hit) ------------------------------
#
# Issue 13 item 21: PyJWT and joserfc write `typ: JWT`; a TokenType("jwt", "JWT") accepted such a
# token once, then its cache hit compared the header's "JWT" with the canonical "jwt" and raised.

NOW = 1_700_000_000
ISSUER = "https://auth.typ.test"
AUDIENCE = "api"
_EC_PRIVATE = ec.derive_private_key(0x7E57, ec.SECP256R1())
EC_KEY = ECKey(_EC_PRIVATE, "ES256", kid="es-typ")
JWT = TokenType("jwt", "JWT")


def _claims() -> dict[str, Any]:
    return registered_claims(ISSUER, AUDIENCE, NOW)


def _pyjwt(typ: str | None) -> str:
    # PyJWT puts `typ: JWT` in every header unless told otherwise.
    headers = {"kid": EC_KEY.kid} if typ is None else {"kid": EC_KEY.kid, "typ": typ}
    return jwt.encode(_claims(), _EC_PRIVATE, algorithm="ES256", headers=headers)


def _joserfc(typ: str | None) -> str:
    # joserfc's default_type="JWT" likewise.
    header = {"alg": "ES256", "kid": EC_KEY.kid, **({} if typ is None else {"typ": typ})}
    return jose_jwt.encode(header, _claims(), jose_jwk.ECKey.import_key(_EC_PRIVATE))


def _manager(cache_size: int = 4096) -> TokenManager:
    return TokenManager(
        KeyRing(EC_KEY), issuer=ISSUER, audience=AUDIENCE, clock=FrozenClock(NOW),
        cache_size=cache_size,
    )  # fmt: skip


TYPS = [None, "JWT", "jwt", "Jwt", "application/JWT", "APPLICATION/jwt"]


@pytest.mark.parametrize("make", [_pyjwt, _joserfc], ids=["pyjwt", "joserfc"])
@pytest.mark.parametrize("typ", TYPS, ids=repr)
def test_a_peer_token_of_any_typ_spelling_verifies_on_every_call(
    make: Callable[[str | None], str], typ: str | None
) -> None:
    token = make(typ)
    header = jwt.get_unverified_header(token)
    assert header["typ"] == (typ or "JWT")
    manager = _manager()
    for _ in range(3):  # a miss, then hits
        assert manager.verify(token, token_type=JWT)["sub"] == "alice"
    assert len(manager._cache) == 1


@pytest.mark.parametrize("make", [_pyjwt, _joserfc], ids=["pyjwt", "joserfc"])
@pytest.mark.parametrize("cache_size", [4096, 0])
def test_a_peer_token_is_still_refused_as_another_type_on_cache_hits(
    make: Callable[[str | None], str], cache_size: int
) -> None:
    token = make("JWT")
    manager = _manager(cache_size)
    assert manager.verify(token, token_type=JWT)["sub"] == "alice"
    for other in (ACCESS, TokenType("jwt-ish", "jwt+at")):
        with pytest.raises(TokenTypeError):
            manager.verify(token, token_type=other)
    assert manager.verify(token, token_type=TokenType("also-jwt", "application/jwt"))["sub"]


def test_the_cache_keeps_typ_in_canonical_form() -> None:
    cache = VerifiedTokenCache(4)
    entry = CachedToken(MappingProxyType({}), "Application/AT+JWT", "kid", EC_KEY, 0.0, 1.0)
    cache.put("token", entry)
    cached = cache.get("token")
    assert cached is not None
    assert cached.typ == canonical_typ("Application/AT+JWT") == "at+jwt" == ACCESS.typ
