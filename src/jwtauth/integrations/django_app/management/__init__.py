"""Management commands of the jwtauth Django app."""

__all__: list[str] = []
