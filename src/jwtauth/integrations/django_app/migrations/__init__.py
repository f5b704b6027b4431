"""Django migrations of the integration: the auth tables in the project's database."""

__all__: list[str] = []
