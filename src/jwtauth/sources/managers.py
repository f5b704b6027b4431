"""Where a secret kept in a secrets manager is, and how to reach it: the values the Vault and AWS
sources take (``Settings.vault_config()``, ``Settings.aws_config()``).

Apart from :mod:`jwtauth.sources.vault` and :mod:`jwtauth.sources.aws` because those import the
managers' client libraries, which nothing may load unless a setting asks for them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from jwtauth.environment import STRICT, Strictness

__all__ = ["AWSConfig", "ManagerConfig", "VaultConfig"]


@dataclass(frozen=True, slots=True)
class VaultConfig:
    """A field of a Vault (or OpenBao) KV v2 secret, and the server and token to read it with."""

    source: ClassVar[str] = "vault"

    url: str | None
    token: str | None = field(default=None, repr=False)
    token_file: Path | None = None
    mount: str = "secret"
    path: str | None = None
    field: str = "value"
    strictness: Strictness = STRICT


@dataclass(frozen=True, slots=True)
class AWSConfig:
    """An AWS Secrets Manager secret, and the region and endpoint to read it from."""

    source: ClassVar[str] = "aws"

    secret_id: str | None
    region: str | None = None
    endpoint_url: str | None = None
    strictness: Strictness = STRICT


ManagerConfig = VaultConfig | AWSConfig
"""Either secrets manager."""
