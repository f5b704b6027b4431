"""HashiCorp Vault or OpenBao (same API) KV v2 as the source of the HMAC secret or PEM key.

Settings: ``JWTAUTH_VAULT_URL``, ``JWTAUTH_VAULT_TOKEN`` or ``JWTAUTH_VAULT_TOKEN_FILE``,
``JWTAUTH_VAULT_MOUNT`` (``secret``), ``JWTAUTH_VAULT_PATH``, ``JWTAUTH_VAULT_FIELD``
(``value``). The only module besides :mod:`jwtauth.lifecycle.transit` that imports hvac.
"""

from __future__ import annotations

from typing import Any

import hvac  # type: ignore[import-untyped]
import requests
from hvac import exceptions as hvac_errors

from jwtauth.environment import ENV_PREFIX
from jwtauth.errors import ConfigurationError, SecretsManagerError
from jwtauth.sources.key_file import read_key_file
from jwtauth.sources.managers import VaultConfig
from jwtauth.sources.transport import check_transport

__all__ = [
    "TIMEOUT",
    "VAULT_ERRORS",
    "VaultSecret",
    "describe_vault_error",
    "unexpected_answer",
    "vault_client",
]

#: Seconds one request to Vault may take; a refresh must not hang the caller.
TIMEOUT = 5.0

# What each hvac error means to an operator; hvac's own text is never passed on (it may quote
# the server's answer, which we do not control).
_MEANINGS: tuple[tuple[type[Exception], str], ...] = (
    (hvac_errors.Unauthorized, "the token was refused"),
    (
        hvac_errors.Forbidden,
        "permission denied (is the token valid, and does its policy allow this?)",
    ),
    (hvac_errors.InvalidPath, "nothing at that path"),
    (hvac_errors.VaultDown, "Vault is sealed or in maintenance"),
    (hvac_errors.InvalidRequest, "the request was refused as invalid"),
    (requests.Timeout, f"no answer within {TIMEOUT:g} s"),
    (requests.ConnectionError, "unreachable"),
)


def describe_vault_error(exc: Exception) -> str:
    """A short, secret-free description of an hvac or requests error."""
    for kind, meaning in _MEANINGS:
        if isinstance(exc, kind):
            return meaning
    return f"unexpected error ({type(exc).__name__})"


#: The exceptions a call to Vault can raise.
VAULT_ERRORS = (hvac_errors.VaultError, requests.RequestException)


def unexpected_answer(response: object) -> str:
    """Describe an answer that is not Vault's JSON: a redirect (never followed), say."""
    status = getattr(response, "status_code", None)
    return f"unexpected answer (HTTP {status}; redirects are not followed)"


def _token(config: VaultConfig) -> str:
    if config.token is not None and config.token_file is not None:
        raise ConfigurationError(
            f"set only one of {ENV_PREFIX}VAULT_TOKEN and {ENV_PREFIX}VAULT_TOKEN_FILE"
        )
    if config.token_file is not None:
        data = read_key_file(config.token_file, config.strictness).strip()
        try:
            return data.decode("ascii")
        except UnicodeDecodeError:
            raise ConfigurationError(f"{ENV_PREFIX}VAULT_TOKEN_FILE is not a token") from None
    if config.token is not None:
        return config.token
    # hvac would fall back to VAULT_TOKEN and ~/.vault-token; configuration comes from
    # the settings only, so the absence is an error instead.
    raise ConfigurationError(
        f"{ENV_PREFIX}VAULT_TOKEN or {ENV_PREFIX}VAULT_TOKEN_FILE must be set to use Vault"
    )


def vault_client(config: VaultConfig) -> Any:
    """An hvac client for ``JWTAUTH_VAULT_URL`` with the configured token.

    Redirects are not followed: requests strips ``Authorization`` from a redirect to another
    host but not Vault's ``X-Vault-Token``, so a redirect could hand the token to anyone.
    """
    if not config.url:
        raise ConfigurationError(f"{ENV_PREFIX}VAULT_URL must be set to use Vault")
    check_transport(config.strictness, f"{ENV_PREFIX}VAULT_URL", config.url)
    return hvac.Client(url=config.url, token=_token(config), timeout=TIMEOUT, allow_redirects=False)


class VaultSecret:
    """One field of one KV v2 secret; each :meth:`fetch` reads its latest version."""

    __slots__ = ("_client", "field", "mount", "path")
    source = "vault"

    def __init__(self, client: Any, *, path: str, mount: str = "secret", field: str = "value"):
        self._client = client
        self.path = path
        self.mount = mount
        self.field = field

    @classmethod
    def from_config(cls, config: VaultConfig) -> VaultSecret:
        """The secret ``config`` names (``JWTAUTH_VAULT_MOUNT``/``_PATH``/``_FIELD``)."""
        if not config.path:
            raise ConfigurationError(f"{ENV_PREFIX}VAULT_PATH must be set to use Vault")
        return cls(vault_client(config), path=config.path, mount=config.mount, field=config.field)

    def _where(self) -> str:
        return f"Vault KV {self.mount}/{self.path}"

    def fetch(self) -> bytes:
        """The field's value in the secret's latest version, as UTF-8 bytes."""
        try:
            response = self._client.secrets.kv.v2.read_secret_version(
                path=self.path, mount_point=self.mount, raise_on_deleted_version=True
            )
        except VAULT_ERRORS as exc:
            raise SecretsManagerError(f"{self._where()}: {describe_vault_error(exc)}") from None
        if not isinstance(response, dict):
            raise SecretsManagerError(f"{self._where()}: {unexpected_answer(response)}")
        try:
            value = response["data"]["data"][self.field]
        except (KeyError, TypeError):
            raise SecretsManagerError(f"{self._where()} has no field {self.field!r}") from None
        if not isinstance(value, str) or not value:
            raise SecretsManagerError(f"{self._where()}: field {self.field!r} is not a string")
        return value.encode("utf-8")

    def __repr__(self) -> str:
        return f"VaultSecret(mount={self.mount!r}, path={self.path!r}, field={self.field!r})"
