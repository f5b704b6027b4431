"""Reading the bearer credential from an Authorization header value."""

from __future__ import annotations

import pytest

from jwtauth.errors import MalformedTokenError, MissingTokenError
from jwtauth.transport.bearer import bearer_token


@pytest.mark.parametrize("header", ["Bearer a.b.c", "bearer a.b.c", "BEARER a.b.c"])
def test_the_scheme_is_case_insensitive(header: str) -> None:
    assert bearer_token(header) == "a.b.c"


@pytest.mark.parametrize("header", [None, ""])
def test_no_header_is_a_missing_token(header: str | None) -> None:
    with pytest.raises(MissingTokenError):
        bearer_token(header)


@pytest.mark.parametrize(
    "header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "Bearera.b.c", "Token a.b.c"]
)
def test_another_scheme_or_no_token_is_malformed(header: str) -> None:
    with pytest.raises(MalformedTokenError):
        bearer_token(header)


def test_the_token_is_passed_on_untrimmed_for_verification_to_refuse() -> None:
    assert bearer_token("Bearer  a.b.c") == " a.b.c"
