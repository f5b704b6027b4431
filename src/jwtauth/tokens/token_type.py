"""Token types, kept apart by the signed `typ` header so one can never pass for another."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ACCESS", "TokenType"]


@dataclass(frozen=True, slots=True)
class TokenType:
    """A kind of JWT, identified by its `typ` header value (RFC 7515 section 4.1.9).

    Args:
        name: a short name for messages and logs, e.g. ``"access"``.
        typ: the media type without ``application/``, e.g. ``"at+jwt"`` (RFC 9068).
    """

    name: str
    typ: str

    def __post_init__(self) -> None:
        # Stored in its canonical form so that comparisons need no normalising.
        typ = self.typ.lower()
        if typ.startswith("application/"):
            typ = typ[len("application/") :]
        if not typ:
            raise ValueError("a token type needs a typ")
        object.__setattr__(self, "typ", typ)

    def matches(self, typ: str | None) -> bool:
        """True when a header `typ` names this type; media types compare case-insensitively."""
        if typ == self.typ:
            return True
        if typ is None:
            return False
        value = typ.lower()
        if value.startswith("application/"):
            value = value[len("application/") :]
        return value == self.typ


ACCESS = TokenType("access", "at+jwt")
"""OAuth 2.0 access tokens in JWT format (RFC 9068)."""
