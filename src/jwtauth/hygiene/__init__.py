"""Keeping secrets out of code and logs: ``jwtauth scan`` (``scan``, on detect-secrets'
engine through ``scan_plugins``, its only importer) finds hardcoded JWT secrets and keys, and
``redaction`` replaces tokens and secrets in log records with ``[REDACTED]``.
"""

__all__: list[str] = []  # the modules are the public faces: import from them
