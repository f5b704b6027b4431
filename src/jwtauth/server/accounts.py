"""Account changes an operator makes from the CLI (`jwtauth users disable|enable|delete`), with
the revocation each needs: a disabled or deleted user loses every session and every token
issued so far, as logout-all does (issue 13, item 17).

The change runs through a started :class:`~jwtauth.server.embedded.EmbeddedAuth` on the same
settings as the server, so it reaches the server's stores as they are configured: the database
it shares with every server process, and the revocation store (Redis, or the database record
the servers poll) rather than a copy of the wiring that could drift from it.
"""

from __future__ import annotations

from typing import Literal

from jwtauth.auth.identity import normalise_email
from jwtauth.config import Settings
from jwtauth.errors import ConfigurationError
from jwtauth.server.embedded import EmbeddedAuth
from jwtauth.stores.sql import SQLStore

__all__ = ["AccountChange", "change_account"]

AccountChange = Literal["disable", "enable", "delete"]


async def change_account(settings: Settings, email: str, change: AccountChange) -> str | None:
    """Apply ``change`` to the account ``email`` names; its user id, or ``None`` if there is
    no such account. ``disable`` and ``delete`` end every session of the user and revoke every
    token issued to it so far; ``enable`` lets it log in again (old tokens stay revoked).

    Raises:
        ConfigurationError: the server's users do not live in its database (a host
            application's users are changed by the host, which calls
            ``AuthService.end_user``).
    """
    auth = EmbeddedAuth(settings)
    await auth.start()
    try:
        service = auth.service
        users = service.users
        if not isinstance(users, SQLStore):  # pragma: no cover - the server's own users
            raise ConfigurationError("these users are not kept in jwtauth's database")
        user = await users.by_email(normalise_email(email))
        if user is None:
            return None
        if change == "enable":
            await users.set_active(user.id, True)
            return user.id
        if change == "disable":
            await users.set_active(user.id, False)
        else:
            await users.delete_user(user.id)
        # After the change: a login racing it can no longer open a session the cut-off misses.
        await service.end_user(user.id)
        return user.id
    finally:
        await auth.close()
