"""The managed keyring's lifecycle: keys generated, rotated with a grace period, retired and
revoked; sealed at rest under a key-encryption key (``envelope``) or held by Vault Transit
(``transit``); stored in SQL (``sql``), followed by every process (``sync``) and administered
by the CLI (``admin``).
"""

__all__: list[str] = []  # the modules are the public faces: import from them
