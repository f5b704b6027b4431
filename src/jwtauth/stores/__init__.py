"""Shared stores for the server: revocation kept current across processes.

Import the store you need from its module (``jwtauth.stores.memory``, ``jwtauth.stores.redis``):
this package imports nothing, so the core never pulls in a store client by accident.
"""

__all__: list[str] = []
