"""One typed settings object, read from `JWTAUTH_*` environment variables and optional files.

Sources, highest priority first: explicit arguments, environment variables, a `.env` file in the
working directory (development only), the TOML file named by ``JWTAUTH_CONFIG``, defaults.
Settings are frozen; build them once in ``main()`` or an app factory, never at import time.
"""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import Field, PrivateAttr, SecretStr, ValidationError
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from jwtauth.errors import ConfigurationError
from jwtauth.keys.algorithms import Algorithm

__all__ = ["ENV_PREFIX", "Environment", "Settings"]

ENV_PREFIX = "JWTAUTH_"
DOTENV_FILE = ".env"


class Environment(StrEnum):
    """Where the process runs; production turns every warning about secrets into a refusal."""

    DEVELOPMENT = "development"
    PRODUCTION = "production"


class Settings(BaseSettings):
    """The whole configuration of jwtauth. Field names map to `JWTAUTH_<NAME>` variables."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=DOTENV_FILE,
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
        case_sensitive=False,
    )

    env: Environment = Environment.DEVELOPMENT
    algorithm: Algorithm = Algorithm.ES256
    secret: SecretStr | None = Field(default=None, description="HMAC secret for HS* algorithms")
    secret_file: Path | None = Field(default=None, description="file holding the HMAC secret")
    private_key_file: Path | None = Field(default=None, description="PEM private signing key")
    access_ttl: int = Field(default=300, gt=0, description="access-token lifetime, seconds")
    refresh_ttl: int = Field(default=1_209_600, gt=0, description="refresh-token lifetime, seconds")
    issuer: str | None = Field(default=None, description="`iss` of issued tokens")
    audience: str = Field(default="jwtauth", min_length=1, description="`aud` of issued tokens")
    leeway: float = Field(default=0.0, ge=0, le=300, description="tolerated clock skew, seconds")
    database_url: SecretStr | None = Field(default=None, description="SQLAlchemy database URL")
    redis_url: SecretStr | None = Field(default=None, description="Redis URL")
    state_dir: Path = Field(default=Path(".jwtauth"), description="development state (keys, db)")

    # Settings whose value came from the `.env` file (no higher-priority source set them).
    _from_dotenv: frozenset[str] = PrivateAttr(default=frozenset())

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources = [init_settings, env_settings, dotenv_settings]
        # The config file's own location is the one setting that cannot come from the file.
        config_file = os.environ.get(f"{ENV_PREFIX}CONFIG")
        if config_file:
            if not Path(config_file).is_file():
                raise ConfigurationError(f"{ENV_PREFIX}CONFIG names no readable file")
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(config_file)))
        return tuple(sources)

    @classmethod
    def load(cls, **overrides: Any) -> Settings:
        """Build settings from every source and refuse what can never work.

        Raises:
            ConfigurationError: with a one-line reason that never contains a secret.
        """
        try:
            settings = cls(**overrides)
        except ValidationError as exc:
            first = exc.errors()[0]
            name = ENV_PREFIX + "_".join(str(p) for p in first["loc"]).upper()
            # pydantic keeps the offending input in a separate field, which may be a secret and is
            # never shown; its message only describes the expectation.
            raise ConfigurationError(f"{name}: {first['msg']}") from None
        dotenv = settings.dotenv_keys()  # refuses a .env file in production
        environment = {
            name[len(ENV_PREFIX) :].lower()
            for name in os.environ
            if name.upper().startswith(ENV_PREFIX)
        }
        settings._from_dotenv = dotenv - environment - set(overrides)
        return settings

    def dotenv_keys(self) -> frozenset[str]:
        """The settings a `.env` file mentions; in production such a file is refused."""
        path = Path(DOTENV_FILE)
        if not path.is_file():
            return frozenset()
        values = DotEnvSettingsSource(type(self), env_file=path)()
        fields = type(self).model_fields
        keys = frozenset(k for k, v in values.items() if v is not None and k in fields)
        if keys and self.is_production:
            raise ConfigurationError(
                ".env files are for development only; in production set real environment "
                "variables, a secret file or a secrets manager"
            )
        return keys

    def came_from_dotenv(self, name: str) -> bool:
        """True when setting ``name`` took its value from the `.env` file."""
        return name in self._from_dotenv

    @property
    def is_production(self) -> bool:
        """True when ``JWTAUTH_ENV=production``."""
        return self.env is Environment.PRODUCTION

    def issuer_for(self, host: str, port: int) -> str:
        """The configured issuer, or ``http://{host}:{port}`` outside production."""
        if self.issuer:
            return self.issuer
        if self.is_production:
            raise ConfigurationError(f"{ENV_PREFIX}ISSUER must be set in production")
        return f"http://{host}:{port}"
