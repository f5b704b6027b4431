"""TokenType: `typ` compared as a media type, stored in canonical form."""

from __future__ import annotations

import pytest

from jwtauth.tokens.token_type import ACCESS, TokenType


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
