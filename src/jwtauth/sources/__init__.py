"""Where secrets and keys come from: the environment, files, the state directory and secrets
managers (Vault/OpenBao KV v2, AWS Secrets Manager), and the strength checks a secret must pass.

Built on the key objects of :mod:`jwtauth.keys`, never the reverse: a key object knows no source.
The sources take values (:class:`~jwtauth.sources.loading.KeyConfig`, the managers' configs,
:class:`~jwtauth.environment.Strictness`), not the settings, which build them
(``Settings.key_config()`` and the like).
"""

__all__: list[str] = []  # the modules are the public faces: import from them
