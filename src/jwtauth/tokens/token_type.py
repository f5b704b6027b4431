"""Token types, kept apart by the signed `typ` header so one can never pass for another."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ACCESS", "TokenType", "canonical_typ"]

_MEDIA_TYPE_PREFIX = "application/"


def canonical_typ(typ: str) -> str:
    """The canonical form of a `typ` value: lower case, without ``application/``.

    RFC 7515 section 4.1.9: media type values are case-insensitive, and ``application/`` may be
    omitted when the value has no other ``/``; ``JWT``, ``application/jwt`` and ``jwt`` are one
    type.
    """
    value = typ.lower()
    return value[len(_MEDIA_TYPE_PREFIX) :] if value.startswith(_MEDIA_TYPE_PREFIX) else value


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
        typ = canonical_typ(self.typ)
        if not typ:
            raise ValueError("a token type needs a typ")
        object.__setattr__(self, "typ", typ)

    def matches(self, typ: str | None) -> bool:
        """True when a header `typ` names this type; media types compare case-insensitively."""
        if typ == self.typ:
            return True
        if typ is None:
            return False
        return canonical_typ(typ) == self.typ


ACCESS = TokenType("access", "at+jwt")
"""OAuth 2.0 access tokens in JWT format (RFC 9068)."""
