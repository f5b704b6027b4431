"""The authentication service: users, passwords, sessions and refresh rotation.

Framework-free and async (it does I/O through the store Protocols). It needs the `server` extra
for argon2; the token core does not import it.
"""

__all__: list[str] = []
