"""The JWS algorithms jwtauth implements (RFC 7518 section 3, RFC 8037 section 3.1)."""

from __future__ import annotations

from enum import StrEnum

from jwtauth.errors import KeyConfigurationError

__all__ = ["Algorithm"]


class Algorithm(StrEnum):
    """A JWS `alg` value. ``none`` is deliberately absent: it cannot be expressed."""

    HS256 = "HS256"
    HS384 = "HS384"
    HS512 = "HS512"
    RS256 = "RS256"
    RS384 = "RS384"
    RS512 = "RS512"
    PS256 = "PS256"
    PS384 = "PS384"
    PS512 = "PS512"
    ES256 = "ES256"
    ES384 = "ES384"
    ES512 = "ES512"
    EdDSA = "EdDSA"

    @property
    def family(self) -> str:
        """``HS``, ``RS``, ``PS``, ``ES`` or ``Ed``: the key type this algorithm needs."""
        return self.value[:2]

    @property
    def hash_bits(self) -> int:
        """The digest size in bits (512 for EdDSA, whose Ed25519 uses SHA-512 internally)."""
        return 512 if self is Algorithm.EdDSA else int(self.value[2:])

    @classmethod
    def parse(cls, value: object) -> Algorithm:
        """Return the algorithm named exactly ``value`` (case-sensitive, RFC 7515 4.1.1).

        Raises:
            KeyConfigurationError: for anything else, `none` included.
        """
        if isinstance(value, cls):
            return value
        if isinstance(value, str) and value in cls._value2member_map_:
            return cls(value)
        names = ", ".join(a.value for a in cls)
        raise KeyConfigurationError(f"unsupported algorithm; expected one of {names}")
