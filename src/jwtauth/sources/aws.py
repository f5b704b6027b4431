"""AWS Secrets Manager as the source of the HMAC secret or PEM key (boto3).

Settings: ``JWTAUTH_AWS_SECRET_ID`` (name or ARN), ``JWTAUTH_AWS_REGION``, and
``JWTAUTH_AWS_ENDPOINT_URL`` (a VPC endpoint, or moto in tests). AWS credentials come from
boto3's own chain (instance role, ``AWS_*`` variables, shared config), never from jwtauth
settings. The only module that imports boto3.
"""

from __future__ import annotations

from typing import Any

import boto3  # type: ignore[import-untyped]
from botocore.config import Config  # type: ignore[import-untyped]
from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped]

from jwtauth.environment import ENV_PREFIX
from jwtauth.errors import ConfigurationError, SecretsManagerError
from jwtauth.sources.managers import AWSConfig
from jwtauth.sources.transport import check_transport

__all__ = ["AWSSecret", "secretsmanager_client"]

# Short timeouts and one retry: a refresh that cannot reach AWS should fail fast and let the
# cached value be served, not hold the caller for boto3's default minute.
_CONFIG = Config(
    connect_timeout=5, read_timeout=5, retries={"mode": "standard", "total_max_attempts": 2}
)


def secretsmanager_client(config: AWSConfig) -> Any:
    """A Secrets Manager client for ``config``'s region and endpoint."""
    if config.endpoint_url is not None:
        check_transport(config.strictness, f"{ENV_PREFIX}AWS_ENDPOINT_URL", config.endpoint_url)
    try:
        return boto3.session.Session().client(
            "secretsmanager",
            region_name=config.region,
            endpoint_url=config.endpoint_url,
            config=_CONFIG,
        )
    except BotoCoreError as exc:  # NoRegionError and the like
        raise ConfigurationError(
            f"AWS Secrets Manager cannot be used: {type(exc).__name__} "
            f"(set {ENV_PREFIX}AWS_REGION?)"
        ) from None


class AWSSecret:
    """One Secrets Manager secret (its ``AWSCURRENT`` version); string or binary."""

    __slots__ = ("_client", "secret_id")
    source = "aws"

    def __init__(self, client: Any, secret_id: str) -> None:
        self._client = client
        self.secret_id = secret_id

    @classmethod
    def from_config(cls, config: AWSConfig) -> AWSSecret:
        """The secret ``config`` names (``JWTAUTH_AWS_SECRET_ID``)."""
        if not config.secret_id:
            raise ConfigurationError(
                f"{ENV_PREFIX}AWS_SECRET_ID must be set to use AWS Secrets Manager"
            )
        return cls(secretsmanager_client(config), config.secret_id)

    def fetch(self) -> bytes:
        """The secret's current value: ``SecretString`` as UTF-8, or ``SecretBinary``."""
        where = f"AWS Secrets Manager secret {self.secret_id!r}"
        try:
            response = self._client.get_secret_value(SecretId=self.secret_id)
        except ClientError as exc:
            # The error code (ResourceNotFoundException, AccessDeniedException, ...) says what
            # happened; the message is AWS's text and is not repeated.
            code = exc.response.get("Error", {}).get("Code", "unknown")
            raise SecretsManagerError(f"{where}: refused ({code})") from None
        except BotoCoreError as exc:
            raise SecretsManagerError(
                f"{where}: unreachable or no credentials ({type(exc).__name__})"
            ) from None
        value = response.get("SecretString")
        if isinstance(value, str) and value:
            return value.encode("utf-8")
        binary = response.get("SecretBinary")
        if isinstance(binary, bytes) and binary:
            return binary
        raise SecretsManagerError(f"{where} holds no value")

    def __repr__(self) -> str:
        return f"AWSSecret(secret_id={self.secret_id!r})"
