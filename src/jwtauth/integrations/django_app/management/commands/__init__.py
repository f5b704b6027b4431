"""``manage.py jwtauth_audit``."""

__all__: list[str] = []
