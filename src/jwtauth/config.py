"""One typed settings object, read from `JWTAUTH_*` environment variables and optional files.

Sources, highest priority first: explicit arguments, environment variables, a `.env` file in the
working directory (development only), the TOML file named by ``JWTAUTH_CONFIG``, defaults.
Settings are frozen; build them once in ``main()`` or an app factory, never at import time.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import tomllib
import warnings
from enum import StrEnum
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import parse_qs, unquote, urlsplit

from pydantic import Field, PrivateAttr, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from jwtauth.environment import ENV_PREFIX, Strictness
from jwtauth.errors import (
    ConfigurationError,
    InsecureKeyFileError,
    JWTAuthError,
    SecurityWarning,
    WeakSecretError,
)
from jwtauth.files import read_private_file
from jwtauth.keys.algorithms import Algorithm
from jwtauth.ratelimit.addresses import DEFAULT_IPV6_PREFIX, canonical_network
from jwtauth.sources.loading import KeyConfig
from jwtauth.sources.managers import AWSConfig, ManagerConfig, VaultConfig
from jwtauth.sources.strength import assess_secret

__all__ = ["ENV_PREFIX", "SECRET_FIELDS", "Environment", "Settings", "production_warnings"]

DOTENV_FILE = ".env"


# Settings whose values are credentials: a file that supplies them must be private.
SECRET_FIELDS = frozenset(
    {"secret", "database_url", "redis_url", "vault_token", "keyring_kek", "metrics_token"}
)

# JWTAUTH_* variables that are not settings but are read by name elsewhere, so they are never
# reported as unknown: the config file's location (_config_file), and the test suite's service
# switches (tests/conftest.py, .ci/run), which stay set in CI while tests load production
# settings.
OTHER_VARIABLES = frozenset(
    {
        f"{ENV_PREFIX}CONFIG",
        f"{ENV_PREFIX}REQUIRE_SERVICES",
        f"{ENV_PREFIX}TEST_POSTGRES",
        f"{ENV_PREFIX}TEST_REDIS",
    }
)


def _config_file() -> Path | None:
    # The config file's own location is the one setting that cannot come from the file.
    name = os.environ.get(f"{ENV_PREFIX}CONFIG")
    if not name:
        return None
    if not Path(name).is_file():
        raise ConfigurationError(f"{ENV_PREFIX}CONFIG names no readable file")
    return Path(name)


def _toml_keys() -> set[str]:
    """The names the TOML config file sets; a syntax error is reported by line, never quoted."""
    path = _config_file()
    if path is None:
        return set()
    try:
        with path.open("rb") as handle:
            # Lower case: pydantic reads `SECRET = ...` as `secret`, and so must every check here.
            return {key.lower() for key in tomllib.load(handle)}
    except tomllib.TOMLDecodeError as exc:
        line = re.search(r"line (\d+)", str(exc))
        where = f" (line {line.group(1)})" if line else ""
        raise ConfigurationError(f"{ENV_PREFIX}CONFIG is not valid TOML{where}") from None
    except OSError as exc:
        raise ConfigurationError(f"cannot read {ENV_PREFIX}CONFIG: {exc.strerror}") from None


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
    # What fits a quoted-string of RFC 9110 unescaped: printable ASCII but `"` and `\`.
    realm: str = Field(
        default="jwtauth",
        pattern=r"^[ !#-\[\]-~]{1,128}$",
        description="`realm` of the `WWW-Authenticate` challenge of every 401",
    )
    leeway: float = Field(default=0.0, ge=0, le=300, description="tolerated clock skew, seconds")
    database_url: SecretStr | None = Field(default=None, description="SQLAlchemy database URL")
    database_pool_size: int = Field(
        default=10,
        ge=1,
        le=1000,
        description="database connections each process keeps open (plus as many again in bursts)",
    )
    redis_url: SecretStr | None = Field(
        default=None,
        description="Redis URL (redis://, rediss://; redis+cluster://, redis+sentinel://)",
    )
    # Unset: derived from the issuer (jwtauth.redis_namespace, whose NAMESPACE_PATTERN this is).
    redis_namespace: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_.-]{1,64}$",
        description="prefix of every Redis channel and key; sharing it shares revocations",
    )
    state_dir: Path = Field(default=Path(".jwtauth"), description="development state (keys, db)")
    session_ttl: int = Field(
        default=2_592_000, gt=0, description="absolute session lifetime that rotation cannot extend"
    )
    max_sessions: int | None = Field(
        default=None, gt=0, description="sessions per user; the oldest is revoked beyond it"
    )
    # NoDecode: the variable is read by _trusted_proxies below, so that `10.0.0.0/8,::1` works
    # and a malformed value is a one-line error rather than pydantic-settings' JSON traceback.
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default=["127.0.0.1"],
        description="proxy addresses and CIDR ranges whose X-Forwarded-Proto/-For are believed",
    )
    # Who reads GET /metrics (jwtauth.server.metrics.MetricsAccess): a client of these networks,
    # its address resolved through the trusted proxies, or one presenting the token.
    metrics_allow: Annotated[list[str], NoDecode] = Field(
        default=["127.0.0.0/8", "::1"],
        description="client networks served GET /metrics without the token; empty: token only",
    )
    metrics_token: SecretStr | None = Field(
        default=None, description="bearer token that reads GET /metrics from any address"
    )
    ipv6_rate_limit_prefix: int = Field(
        default=DEFAULT_IPV6_PREFIX,
        ge=32,
        le=128,
        description="IPv6 clients in one network of this prefix length share a rate limit",
    )
    rate_limits: bool = Field(
        default=True, description="per-client and per-account rate limits with penalties"
    )
    rate_limit_login: int = Field(
        default=5, ge=1, le=1000, description="logins a minute per client address and per account"
    )
    rate_limit_register: int = Field(
        default=3, ge=1, le=1000, description="registrations a minute per client address"
    )
    rate_limit_refresh: int = Field(
        default=10, ge=1, le=1000, description="refreshes a minute per user"
    )
    password_min_length: int = Field(
        default=12, ge=8, le=128, description="fewest characters of a new password"
    )
    password_min_score: int = Field(
        default=3, ge=0, le=4, description="lowest zxcvbn score (0-4) of a new password; 0: off"
    )
    keyring: Literal["auto", "static", "managed"] = Field(
        default="auto",
        description="signing keys: static (configured), managed (database, rotated); auto: "
        "managed in development when no key is configured, else static",
    )
    keyring_kek: SecretStr | None = Field(
        default=None, description="base64url key-encryption key of the managed keyring"
    )
    keyring_kek_file: Path | None = Field(
        default=None, description="file holding the managed keyring's key-encryption key"
    )
    key_rotation_days: int = Field(
        default=0, ge=0, le=365, description="rotate the managed keyring every N days; 0: off"
    )
    keyring_poll_interval: float = Field(
        default=5.0, ge=0.1, le=60.0, description="seconds between keyring and revoke-all checks"
    )
    revocation_poll_interval: float = Field(
        default=1.0,
        ge=0.05,
        le=60.0,
        description="seconds within which every process applies a revocation from the database",
    )
    revocation_max_staleness: float = Field(
        default=1.0,
        ge=0.0,
        le=300.0,
        description="seconds past a due database poll that tokens are still checked against "
        "revocations without a live Redis feed; then protected requests answer 503",
    )
    revocation_fail_open: bool = Field(
        default=False,
        description="verify against a stale revocation view instead of answering 503 "
        "(availability over revocation; warned at start)",
    )
    lockout: bool = Field(
        default=True, description="lock an account for a while after repeated failed logins"
    )
    lockout_threshold: int = Field(
        default=10, ge=3, le=1000, description="failed logins on one account that lock it"
    )
    lockout_period: int = Field(
        default=900, ge=60, le=86_400, description="how long a lockout lasts, seconds"
    )
    cookie_transport: bool = Field(
        default=False, description="deliver tokens in HttpOnly cookies with double-submit CSRF"
    )
    token_fingerprint: Literal["auto", "always", "never"] = Field(
        default="auto", description="bind tokens to a sidecar cookie; auto: with cookie transport"
    )
    https: Literal["refuse", "redirect", "off"] = Field(
        default="refuse", description="in production, what a plain-HTTP request gets"
    )
    max_request_body: int = Field(
        default=64 * 1024,
        # The largest valid body (login: a 320-character email, a 1024-character password and
        # a device token, each character JSON-escaped) is under 20 KiB.
        ge=32 * 1024,
        le=1024 * 1024,
        description="largest request body of the auth API, bytes; larger ones are refused (413)",
    )
    # Slow clients (docs/decisions/032-slow-clients.md): uvicorn times neither of these.
    header_timeout: float = Field(
        default=10.0,
        ge=1.0,
        le=300.0,
        description="seconds a connection has to deliver a request head; then it is closed",
    )
    body_timeout: float = Field(
        default=30.0,
        ge=1.0,
        le=600.0,
        description="seconds a request body has to arrive after its head; then a 408",
    )
    mfa: bool = Field(default=True, description="TOTP second factor for users who enrol")
    rate_limit_mfa: int = Field(
        default=5, ge=1, le=1000, description="second-factor attempts a minute per user"
    )
    # Secrets managers and remote signing: docs/decisions/018-secrets-managers-and-transit.md.
    secret_source: Literal["local", "vault", "aws"] = Field(
        default="local", description="HMAC secret or PEM key from SECRET/*_FILE, Vault or AWS"
    )
    vault_url: str | None = Field(default=None, description="Vault/OpenBao address")
    vault_token: SecretStr | None = Field(default=None, description="Vault/OpenBao token")
    vault_token_file: Path | None = Field(default=None, description="file holding the Vault token")
    vault_mount: str = Field(default="secret", min_length=1, description="KV v2 mount point")
    vault_path: str | None = Field(default=None, description="KV v2 path of the secret")
    vault_field: str = Field(default="value", min_length=1, description="field of the KV secret")
    aws_secret_id: str | None = Field(default=None, description="Secrets Manager name or ARN")
    aws_region: str | None = Field(default=None, description="AWS region of the secret")
    aws_endpoint_url: str | None = Field(default=None, description="Secrets Manager endpoint")
    secret_refresh: int = Field(
        default=300, ge=1, le=86_400, description="seconds a fetched secret is served from cache"
    )
    signer: Literal["local", "transit"] = Field(
        default="local", description="sign locally, or with Vault Transit (key stays in Vault)"
    )
    transit_mount: str = Field(default="transit", min_length=1, description="Transit mount point")
    transit_key_name: str | None = Field(default=None, description="Transit signing key name")
    claims_hook: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$",
        description="module:function giving a user's extra token claims (scopes, roles)",
    )

    # Where each explicitly set value came from: "argument", "env", ".env" or "toml".
    _sources: dict[str, str] = PrivateAttr(default_factory=dict)

    @field_validator("trusted_proxies", "metrics_allow", mode="before")
    @classmethod
    def _trusted_proxies(cls, value: object) -> list[str]:
        """Comma-separated or a JSON list (environment, .env), a list (TOML, arguments); each
        entry an address or a CIDR range, kept in canonical form."""
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                try:
                    value = json.loads(text)
                except json.JSONDecodeError:
                    raise ValueError(
                        "not a JSON list; or list addresses and CIDR ranges separated by commas"
                    ) from None
            else:
                value = [part for part in text.split(",") if part.strip()]
        if not isinstance(value, list | tuple) or not all(isinstance(e, str) for e in value):
            raise ValueError("expected addresses and CIDR ranges, as text")
        entries: list[str] = []
        for number, entry in enumerate(value, start=1):
            try:
                entries.append(canonical_network(entry))
            except ValueError as exc:
                raise ValueError(f"entry {number} is {exc}") from None
        return entries

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
        config_file = _config_file()
        if config_file is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=config_file))
        return tuple(sources)

    @classmethod
    def load(cls, **overrides: Any) -> Settings:
        """Build settings from every source and refuse what can never work.

        Raises:
            ConfigurationError: with a one-line reason that never contains a secret.
        """
        toml_keys = _toml_keys()
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
        # Lowest priority first, so that each higher source overwrites what it overrides.
        for source, keys in (("toml", toml_keys), (".env", dotenv), ("env", environment),
                             ("argument", set(overrides))):  # fmt: skip
            settings._sources.update(dict.fromkeys(keys & cls.model_fields.keys(), source))
        if toml_keys & SECRET_FIELDS:
            settings._check_config_file()
        settings._check_unknown_names(toml_keys)
        settings._check_metrics_token()
        return settings

    def _check_unknown_names(self, toml_keys: set[str]) -> None:
        """A mistyped name is refused in production and warned about in development: otherwise
        `JWTAUTH_ACESS_TTL=9` leaves the default in force without a word."""
        fields = list(type(self).model_fields)
        problems = [_unknown_variable(name, fields) for name in sorted(os.environ)]
        problems += [
            f"{ENV_PREFIX}CONFIG sets {key}, which is not a setting{_did_you_mean(key, fields)}"
            for key in sorted(toml_keys.difference(fields))
        ]
        problems = [problem for problem in problems if problem]
        if problems:
            self.refuse_or_warn(ConfigurationError("; ".join(problems)))
        if not self.is_production and Path(DOTENV_FILE).is_file():
            # Development only: production refuses a .env file that sets a setting and
            # ignores the rest, since it reads none of it.
            names = DotEnvSettingsSource(type(self), env_file=DOTENV_FILE).env_vars
            unknown = [_unknown_variable(name.upper(), fields) for name in sorted(names)]
            if any(unknown):
                message = "; ".join(problem for problem in unknown if problem)
                warnings.warn(f"{DOTENV_FILE}: {message}", SecurityWarning, stacklevel=3)

    def _check_metrics_token(self) -> None:
        """The scrape token reads the counters from any address: held to the HMAC secret's
        strength rules, and to the characters a bearer token can carry (RFC 6750 b64token),
        since a scraper could not send any other."""
        if self.metrics_token is None:
            return
        token = self.metrics_token.get_secret_value()
        if not re.fullmatch(r"[A-Za-z0-9._~+/-]+=*", token):
            raise ConfigurationError(
                f"{ENV_PREFIX}METRICS_TOKEN must be letters, digits and -._~+/ (a bearer "
                "token); make one with: jwtauth secret generate"
            )
        strength = assess_secret(token.encode("ascii"))
        if not strength.ok:
            self.refuse_or_warn(WeakSecretError(f"{ENV_PREFIX}METRICS_TOKEN: {strength.reason}"))

    def _check_config_file(self) -> None:
        path = _config_file()
        if path is None:
            return
        _, problem = read_private_file(path)
        if problem is not None:
            self.refuse_or_warn(
                InsecureKeyFileError(f"{ENV_PREFIX}CONFIG holds secrets and {problem.message}")
            )

    def refuse_or_warn(self, error: JWTAuthError) -> None:
        """Raise ``error`` in production; in development warn with a SecurityWarning instead."""
        self.strictness.refuse_or_warn(error, stacklevel=4)

    @property
    def strictness(self) -> Strictness:
        """How the sources treat what production refuses (they take values, not settings)."""
        return Strictness(production=self.is_production)

    def key_config(self) -> KeyConfig:
        """Where the signing key or HMAC secret comes from, as :mod:`jwtauth.sources.loading`
        takes it."""
        manager: ManagerConfig | None
        match self.secret_source:
            case "vault":
                manager = self.vault_config()
            case "aws":
                manager = self.aws_config()
            case _:
                manager = None
        return KeyConfig(
            algorithm=self.algorithm,
            secret=None if self.secret is None else self.secret.get_secret_value(),
            origin=self.source_of("secret"),
            secret_file=self.secret_file,
            private_key_file=self.private_key_file,
            manager=manager,
            secret_refresh=self.secret_refresh,
            state_dir=self.state_dir,
            signer=self.signer,
            strictness=self.strictness,
        )

    def vault_config(self) -> VaultConfig:
        """The ``JWTAUTH_VAULT_*`` settings, as :mod:`jwtauth.sources.vault` takes them."""
        return VaultConfig(
            url=self.vault_url,
            token=None if self.vault_token is None else self.vault_token.get_secret_value(),
            token_file=self.vault_token_file,
            mount=self.vault_mount,
            path=self.vault_path,
            field=self.vault_field,
            strictness=self.strictness,
        )

    def aws_config(self) -> AWSConfig:
        """The ``JWTAUTH_AWS_*`` settings, as :mod:`jwtauth.sources.aws` takes them."""
        return AWSConfig(
            secret_id=self.aws_secret_id,
            region=self.aws_region,
            endpoint_url=self.aws_endpoint_url,
            strictness=self.strictness,
        )

    def source_of(self, name: str) -> str:
        """Where setting ``name`` came from: argument, env, .env, toml, or default."""
        return self._sources.get(name, "default")

    def secret_values(self) -> list[str]:
        """The credentials set in :data:`SECRET_FIELDS`, and the password inside each URL, for
        log redaction (decision 019). Secrets read from files or a manager are not included."""
        values: list[str] = []
        for name in sorted(SECRET_FIELDS):
            field = getattr(self, name, None)
            if not isinstance(field, SecretStr):
                continue
            value = field.get_secret_value()
            values.append(value)
            if "://" in value:
                password = urlsplit(value).password
                values += [password, unquote(password)] if password else []
        return values

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

    @property
    def is_production(self) -> bool:
        """True when ``JWTAUTH_ENV=production``."""
        return self.env is Environment.PRODUCTION

    def database_url_for_state(self) -> str:
        """The configured database URL, or SQLite in the state directory."""
        if self.database_url is not None:
            return self.database_url.get_secret_value()
        return f"sqlite+aiosqlite:///{self.state_dir / 'jwtauth.db'}"

    def https_origin(self, issuer: str) -> str | None:
        """Where production sends a plain-HTTP request: the issuer's origin, on HTTPS; ``None``
        outside production or with ``https=off``.

        Raises:
            ConfigurationError: the requirement is on and the issuer is not an ``https://`` URL.
        """
        if not self.is_production or self.https == "off":
            return None
        parts = urlsplit(issuer)
        if parts.scheme != "https" or not parts.netloc:
            raise ConfigurationError(
                f"{ENV_PREFIX}ISSUER must be an https:// URL in production (or set "
                f"{ENV_PREFIX}HTTPS=off when TLS ends somewhere the server cannot see)"
            )
        return f"https://{parts.netloc}"

    def issuer_for(self, host: str, port: int) -> str:
        """The configured issuer, or ``http://{host}:{port}`` outside production."""
        if self.issuer:
            return self.issuer
        if self.is_production:
            raise ConfigurationError(f"{ENV_PREFIX}ISSUER must be set in production")
        return f"http://{host}:{port}"


def _unknown_variable(name: str, fields: list[str]) -> str:
    """Why ``name`` is not a jwtauth variable, or ``""`` when it is one or is not ours."""
    upper = name.upper()
    if not upper.startswith(ENV_PREFIX) or upper in OTHER_VARIABLES:
        return ""
    field = upper[len(ENV_PREFIX) :].lower()
    if field in fields:
        return ""
    others = [other[len(ENV_PREFIX) :].lower() for other in sorted(OTHER_VARIABLES)]
    return f"{name} is not a setting{_did_you_mean(field, fields + others, ENV_PREFIX)}"


def _did_you_mean(name: str, fields: list[str], prefix: str = "") -> str:
    close = difflib.get_close_matches(name.lower(), fields, n=1, cutoff=0.75)
    if not close:
        return ""
    match = f"{prefix}{close[0].upper()}" if prefix else close[0]
    return f" (did you mean {match}?)"


# Production findings ---------------------------------------------------------------------------
# Settings that are valid, and sometimes right, yet switch a defence off or widen it far beyond
# its default. Production warns about each at start and `jwtauth config check` lists them; one
# function computes them so that the two cannot disagree.

LONG_ACCESS_TTL = 3600
"""Access tokens living longer than this (seconds) are a finding: a stolen one works that long."""

WIDE_LEEWAY = 60.0
"""Clock skew tolerated beyond this (seconds) is a finding; synchronised clocks need about 1 s."""

# Ranges where proxies of one's own network live; a range inside them trusts only that network.
_PRIVATE_NETWORKS = tuple(
    ip_network(n)
    for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",
              "127.0.0.0/8", "169.254.0.0/16", "fc00::/7", "fe80::/10", "::1/128")
)  # fmt: skip
# Outside them, a range wider than this trusts strangers: every client behind it picks its own
# address and scheme. A CDN's published ranges (Cloudflare's widest: /13 and /29) stay below it.
_WIDEST_PUBLIC_PREFIX = {4: 12, 6: 24}
_IPV4_MAPPED = IPv6Network("::ffff:0:0/96")


def production_warnings(settings: Settings) -> tuple[str, ...]:
    """What a production deployment accepts that weakens it, one line each; empty outside
    production. Pure: reads ``settings`` only, connects to nothing, and no line holds a
    secret or a URL."""
    if not settings.is_production:
        return ()
    found: list[str] = []
    if not settings.rate_limits:
        found.append(
            f"{ENV_PREFIX}RATE_LIMITS=false: no per-address or per-account rate limits; "
            "passwords can be guessed at line rate"
        )
    if not settings.lockout:
        found.append(
            f"{ENV_PREFIX}LOCKOUT=false: no account lockout; one account can be guessed from "
            "many addresses"
        )
    if settings.https == "off":
        found.append(
            f"{ENV_PREFIX}HTTPS=off: plain-HTTP requests are served; right only when a proxy "
            "in front refuses plain HTTP"
        )
    if settings.access_ttl > LONG_ACCESS_TTL:
        found.append(
            f"{ENV_PREFIX}ACCESS_TTL={settings.access_ttl}: access tokens live longer than "
            f"{LONG_ACCESS_TTL} s; a stolen one works that long"
        )
    if settings.leeway > WIDE_LEEWAY:
        found.append(
            f"{ENV_PREFIX}LEEWAY={settings.leeway:g}: more than {WIDE_LEEWAY:g} s of clock skew "
            "tolerated; expired tokens stay valid that much longer"
        )
    if settings.revocation_fail_open:
        found.append(
            f"{ENV_PREFIX}REVOCATION_FAIL_OPEN=true: while neither Redis nor the database can "
            "vouch for the revocation view, tokens are accepted from it; a logout may be missed"
        )
    if settings.database_url is not None:
        found += _connection_findings("DATABASE_URL", settings.database_url.get_secret_value())
    if settings.redis_url is not None:
        found += _connection_findings("REDIS_URL", settings.redis_url.get_secret_value())
    wide = [entry for entry in settings.trusted_proxies if _trusts_strangers(entry)]
    if wide:
        found.append(
            f"{ENV_PREFIX}TRUSTED_PROXIES trusts {', '.join(wide)}: any client there chooses its "
            "own address (X-Forwarded-For) and scheme (X-Forwarded-Proto)"
        )
    return tuple(found)


def _connection_findings(name: str, url: str) -> list[str]:
    """A database or Redis URL that reaches its server over the network without TLS or without
    a password; a Unix socket or a SQLite file is neither."""
    try:
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        host = parts.hostname
    except ValueError:
        return []  # unparseable: the store refuses it at start with its own reason
    scheme = parts.scheme.partition("+")[0].lower()
    if scheme in {"sqlite", "unix"}:
        return []
    if scheme in {"postgres", "postgresql"}:
        socket_dir = (query.get("host") or [""])[0].startswith("/")
        if socket_dir or (host is None and not query.get("host")):
            return []  # a Unix socket: nothing crosses the network
        modes = {m.lower() for m in query.get("ssl", []) + query.get("sslmode", [])}
        tls = bool(modes & {"require", "verify-ca", "verify-full"})
        hint = "add ?ssl=verify-full"
        certificate = bool(query.get("sslcert"))
    elif scheme in {"redis", "rediss"}:
        tls, hint = scheme == "rediss", "use rediss://"
        certificate = bool(query.get("ssl_certfile"))
    else:
        return []
    found = []
    if not tls:
        found.append(
            f"{ENV_PREFIX}{name} does not require TLS ({hint}): its traffic crosses the network "
            "in clear"
        )
    if not (parts.password or query.get("password") or certificate):
        found.append(
            f"{ENV_PREFIX}{name} has no password, so anyone who reaches that server can read "
            "and change jwtauth's state"
        )
    return found


def _trusts_strangers(entry: str) -> bool:
    network: IPv4Network | IPv6Network = ip_network(entry)
    if isinstance(network, IPv6Network) and network.subnet_of(_IPV4_MAPPED):
        # ::ffff:0:0/96 is every IPv4 address: judge it as the IPv4 range it spells.
        low = int(network.network_address) & 0xFFFF_FFFF
        network = IPv4Network((low, network.prefixlen - 96))
    if any(
        network.version == private.version and network.subnet_of(private)  # type: ignore[arg-type]
        for private in _PRIVATE_NETWORKS
    ):
        return False
    return network.prefixlen < _WIDEST_PUBLIC_PREFIX[network.version]
