"""The auth server: a FastAPI application over the auth service (``jwtauth serve``), and the
same API embedded in a host application (:class:`EmbeddedAuth`)."""

from jwtauth.server.app import create_app
from jwtauth.server.embedded import EmbeddedAuth

__all__ = ["EmbeddedAuth", "create_app"]
