"""The token engine: JWS compact signing and verification, claims, token types."""

__all__: list[str] = []
