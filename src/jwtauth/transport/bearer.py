"""The RFC 6750 bearer credential: the one way every adapter reads a token from a request."""

from __future__ import annotations

from jwtauth.errors import MalformedTokenError, MissingTokenError

__all__ = ["bearer_token"]


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer <token>`` header value.

    The scheme is case-insensitive (RFC 7235 section 2.1); anything after it is the token, and
    the token itself (stray
    whitespace included) is left for verification to judge.

    Raises:
        MissingTokenError: no header, or an empty one (answered without ``error=``).
        MalformedTokenError: a header of another scheme, or a bearer header with no token.
    """
    if not authorization:
        raise MissingTokenError()
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise MalformedTokenError("The Authorization header is not a Bearer token.")
    return token
