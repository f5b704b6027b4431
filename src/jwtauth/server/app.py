"""The application factory: settings in, the auth server's FastAPI app out."""

from __future__ import annotations

from fastapi import FastAPI

from jwtauth.auth.passwords import PasswordHasher
from jwtauth.auth.service import ClaimsHook
from jwtauth.config import Settings
from jwtauth.server.embedded import EmbeddedAuth

__all__ = ["create_app"]


def create_app(
    settings: Settings | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    hasher: PasswordHasher | None = None,
    claims_hook: ClaimsHook | None = None,
) -> FastAPI:
    """Build the auth server: the :class:`EmbeddedAuth` app, whose lifespan opens the stores.
    Key and configuration checks run here, so a bad configuration fails before the server
    binds a port.

    Args:
        settings: the configuration (``Settings.load()`` when omitted).
        host, port: where it will listen; the default issuer outside production.
        hasher: the password hasher (tests pass cheaper argon2 parameters).
        claims_hook: extra claims for access tokens; else the function ``JWTAUTH_CLAIMS_HOOK``
            names, imported here so that a wrong name stops the start.
    """
    auth = EmbeddedAuth(settings, host=host, port=port, hasher=hasher, claims_hook=claims_hook)
    return auth.app
