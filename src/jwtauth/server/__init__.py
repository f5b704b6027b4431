"""The auth server: a FastAPI application over the auth service (``jwtauth serve``)."""

from jwtauth.server.app import create_app

__all__ = ["create_app"]
