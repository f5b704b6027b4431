"""The namespace that keeps one deployment's Redis channels and keys apart from another's.

Redis Pub/Sub ignores the database number, and two deployments may share one database: every
channel and key jwtauth uses therefore carries a namespace (``jwtauth:<namespace>:...``). By
default it is derived from the issuer, so two deployments with different issuers never share
one, and every process of one deployment (same issuer) always does; ``JWTAUTH_REDIS_NAMESPACE``
sets it outright.
"""

from __future__ import annotations

import hashlib
import re
from typing import Final

__all__ = ["NAMESPACE_PATTERN", "check_namespace", "namespace_for_issuer", "redis_namespace"]

NAMESPACE_PATTERN: Final = r"^[A-Za-z0-9_.-]{1,64}$"
"""What a namespace may be: no ``:`` (it would blur the key layout) and no glob characters
(the revocation store SCANs its prefix)."""

_VALID = re.compile(NAMESPACE_PATTERN)
# 16 hex digits (64 bits): two issuers colliding by chance is out of reach, and the key stays
# short; this is a name, not a secret, so a truncated hash is enough.
_DIGEST_HEX = 16


def check_namespace(namespace: str) -> str:
    """``namespace`` if it is a valid namespace.

    Raises:
        ValueError: it is empty, longer than 64 characters, or holds anything but letters,
            digits, ``_``, ``.`` and ``-``.
    """
    if _VALID.fullmatch(namespace) is None:
        raise ValueError(
            "a Redis namespace is 1 to 64 letters, digits, '_', '.' or '-' (no ':' or globs)"
        )
    return namespace


def namespace_for_issuer(issuer: str) -> str:
    """The default namespace of the deployment whose tokens carry ``iss`` = ``issuer``."""
    return "iss-" + hashlib.sha256(issuer.encode("utf-8")).hexdigest()[:_DIGEST_HEX]


def redis_namespace(configured: str | None, issuer: str) -> str:
    """The configured namespace (``JWTAUTH_REDIS_NAMESPACE``), else the issuer's."""
    if configured is not None:
        return check_namespace(configured)
    return namespace_for_issuer(issuer)
