"""Settings: defaults, sources and their priority, validation messages, secrecy, immutability."""

from __future__ import annotations

import traceback
from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import ValidationError

from jwtauth.config import Environment, Settings
from jwtauth.errors import ConfigurationError, InsecureKeyFileError, SecurityWarning
from jwtauth.keys.algorithms import Algorithm

pytestmark = pytest.mark.usefixtures("clean_env")


def write_toml(path: Path, text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    path.write_text(text, encoding="utf-8")
    monkeypatch.setenv("JWTAUTH_CONFIG", str(path))


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("env", Environment.DEVELOPMENT),
        ("algorithm", Algorithm.ES256),
        ("access_ttl", 300),
        ("refresh_ttl", 1_209_600),
        ("audience", "jwtauth"),
        ("issuer", None),
        ("secret", None),
        ("secret_file", None),
        ("private_key_file", None),
        ("leeway", 0.0),
        ("database_url", None),
        ("redis_url", None),
        ("state_dir", Path(".jwtauth")),
    ],
)
def test_defaults(field: str, expected: object) -> None:
    settings = Settings.load()
    assert getattr(settings, field) == expected


def test_default_environment_is_not_production() -> None:
    assert Settings.load().is_production is False


@pytest.mark.parametrize(
    ("variable", "value", "field", "expected"),
    [
        ("JWTAUTH_ENV", "production", "env", Environment.PRODUCTION),
        ("JWTAUTH_ALGORITHM", "HS512", "algorithm", Algorithm.HS512),
        ("JWTAUTH_ALGORITHM", "EdDSA", "algorithm", Algorithm.EdDSA),
        ("JWTAUTH_ACCESS_TTL", "60", "access_ttl", 60),
        ("JWTAUTH_REFRESH_TTL", "3600", "refresh_ttl", 3600),
        ("JWTAUTH_ISSUER", "https://auth.example.com", "issuer", "https://auth.example.com"),
        ("JWTAUTH_AUDIENCE", "api", "audience", "api"),
        ("JWTAUTH_LEEWAY", "2.5", "leeway", 2.5),
        ("JWTAUTH_STATE_DIR", "/var/lib/jwtauth", "state_dir", Path("/var/lib/jwtauth")),
        ("JWTAUTH_SECRET_FILE", "/run/secrets/jwt", "secret_file", Path("/run/secrets/jwt")),
        ("JWTAUTH_PRIVATE_KEY_FILE", "/run/key.pem", "private_key_file", Path("/run/key.pem")),
    ],
)
def test_environment_variable_overrides_default(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, field: str, expected: object
) -> None:
    monkeypatch.setenv(variable, value)
    assert getattr(Settings.load(), field) == expected


def test_environment_secret_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JWTAUTH_SECRET", "zq7-env-secret")
    settings = Settings.load()
    assert settings.secret is not None
    assert settings.secret.get_secret_value() == "zq7-env-secret"


def test_explicit_override_beats_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JWTAUTH_ACCESS_TTL", "60")
    assert Settings.load(access_ttl=90).access_ttl == 90


def test_toml_file_named_by_jwtauth_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_toml(
        tmp_path / "jwtauth.toml",
        'access_ttl = 600\naudience = "from-toml"\nissuer = "https://toml.example"\n'
        'algorithm = "EdDSA"\n',
        monkeypatch,
    )
    settings = Settings.load()
    assert settings.access_ttl == 600
    assert settings.audience == "from-toml"
    assert settings.issuer == "https://toml.example"
    assert settings.algorithm is Algorithm.EdDSA
    assert settings.refresh_ttl == 1_209_600  # not in the file: still the default


def test_toml_file_is_not_read_without_jwtauth_config(tmp_path: Path) -> None:
    (tmp_path / "jwtauth.toml").write_text("access_ttl = 600\n", encoding="utf-8")
    assert Settings.load().access_ttl == 300


def test_environment_beats_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_toml(tmp_path / "c.toml", 'access_ttl = 600\naudience = "from-toml"\n', monkeypatch)
    monkeypatch.setenv("JWTAUTH_ACCESS_TTL", "30")
    settings = Settings.load()
    assert settings.access_ttl == 30
    assert settings.audience == "from-toml"


def test_dotenv_beats_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_toml(tmp_path / "c.toml", 'audience = "from-toml"\n', monkeypatch)
    (tmp_path / ".env").write_text("JWTAUTH_AUDIENCE=from-dotenv\n", encoding="utf-8")
    assert Settings.load().audience == "from-dotenv"


@pytest.mark.parametrize("kind", ["missing", "directory"])
def test_jwtauth_config_naming_no_file_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    target = tmp_path / "nowhere.toml"
    if kind == "directory":
        target.mkdir()
    monkeypatch.setenv("JWTAUTH_CONFIG", str(target))
    with pytest.raises(ConfigurationError, match="JWTAUTH_CONFIG"):
        Settings.load()


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("JWTAUTH_ACCESS_TTL", "-1"),
        ("JWTAUTH_ACCESS_TTL", "-7319"),
        ("JWTAUTH_ACCESS_TTL", "zq7-not-a-number"),
        ("JWTAUTH_REFRESH_TTL", "-86400"),
        ("JWTAUTH_ALGORITHM", "none"),
        ("JWTAUTH_ALGORITHM", "HS1"),
        ("JWTAUTH_ALGORITHM", "none-zq7x"),
        ("JWTAUTH_ALGORITHM", "hs256"),
        ("JWTAUTH_ENV", "prod-zq7x"),
        ("JWTAUTH_LEEWAY", "301"),
        ("JWTAUTH_LEEWAY", "-0.5"),
    ],
)
def test_invalid_value_is_refused_without_echoing_it(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError) as info:
        Settings.load()
    message = str(info.value)
    assert message.startswith(f"{variable}:")
    assert "\n" not in message
    assert value not in message
    # The pydantic error (which carries the input) must not travel with it into tracebacks.
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__ is True
    rendered = "".join(traceback.format_exception(info.value))
    assert value not in rendered


def test_invalid_empty_audience_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JWTAUTH_AUDIENCE", "")
    with pytest.raises(ConfigurationError, match=r"^JWTAUTH_AUDIENCE:"):
        Settings.load()


def test_invalid_toml_value_names_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_toml(tmp_path / "c.toml", "access_ttl = -7319\n", monkeypatch)
    with pytest.raises(ConfigurationError) as info:
        Settings.load()
    assert str(info.value).startswith("JWTAUTH_ACCESS_TTL:")
    assert "-7319" not in str(info.value)


SECRET = "zq7-very-secret-hmac-value-0123456789abcdef"
DB_PASSWORD = "dbpw-zq7x-hunter2"
REDIS_PASSWORD = "rpw-zq7x-correcthorse"


@pytest.mark.parametrize("render", [repr, str])
@pytest.mark.parametrize("via", ["arguments", "environment"])
def test_rendering_hides_secret_and_url_passwords(
    monkeypatch: pytest.MonkeyPatch, render: Callable[[object], str], via: str
) -> None:
    values = {
        "secret": SECRET,
        "database_url": f"postgresql://app:{DB_PASSWORD}@db.internal:5432/app",
        "redis_url": f"redis://:{REDIS_PASSWORD}@redis.internal:6379/0",
    }
    if via == "arguments":
        settings = Settings.load(**values)
    else:
        for name, value in values.items():
            monkeypatch.setenv(f"JWTAUTH_{name.upper()}", value)
        settings = Settings.load()
    text = render(settings)
    for hidden in (SECRET, DB_PASSWORD, REDIS_PASSWORD):
        assert hidden not in text
    # The values are still there for the code that needs them.
    assert settings.database_url is not None
    assert DB_PASSWORD in settings.database_url.get_secret_value()


def test_settings_are_frozen() -> None:
    settings = Settings.load()
    with pytest.raises(ValidationError):
        settings.access_ttl = 1
    assert settings.access_ttl == 300


def test_dotenv_supplies_values_in_development(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "JWTAUTH_AUDIENCE=from-dotenv\nJWTAUTH_ACCESS_TTL=42\nUNRELATED=1\n", encoding="utf-8"
    )
    settings = Settings.load()
    assert settings.audience == "from-dotenv"
    assert settings.access_ttl == 42
    keys = settings.dotenv_keys()
    assert {"audience", "access_ttl"} <= keys
    assert "secret" not in keys


def test_environment_beats_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("JWTAUTH_AUDIENCE=from-dotenv\n", encoding="utf-8")
    monkeypatch.setenv("JWTAUTH_AUDIENCE", "from-env")
    assert Settings.load().audience == "from-env"


def test_dotenv_outside_working_directory_is_not_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".env").write_text("JWTAUTH_AUDIENCE=from-dotenv\n", encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert Settings.load().audience == "jwtauth"


def test_no_dotenv_means_no_dotenv_keys() -> None:
    assert Settings.load().dotenv_keys() == frozenset()


@pytest.mark.parametrize(
    "content",
    [
        "JWTAUTH_AUDIENCE=harmless\n",
        f"JWTAUTH_SECRET={SECRET}\n",
        f"UNRELATED_SETTING=1\nJWTAUTH_SECRET={SECRET}\n",
    ],
)
def test_dotenv_file_is_refused_in_production(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: str
) -> None:
    (tmp_path / ".env").write_text(content, encoding="utf-8")
    monkeypatch.setenv("JWTAUTH_ENV", "production")
    with pytest.raises(ConfigurationError, match=r"\.env") as info:
        Settings.load()
    assert SECRET not in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("content", ["UNRELATED_SETTING=1\n", "JWTAUTH_NOT_A_SETTING=1\n", ""])
def test_dotenv_without_jwtauth_settings_is_tolerated_in_production(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: str
) -> None:
    """Another tool's .env beside the process is not ours to refuse; it sets nothing of ours."""
    (tmp_path / ".env").write_text(content, encoding="utf-8")
    monkeypatch.setenv("JWTAUTH_ENV", "production")
    assert Settings.load().dotenv_keys() == frozenset()


def test_dotenv_that_selects_production_is_refused(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("JWTAUTH_ENV=production\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"\.env"):
        Settings.load()


def test_production_without_dotenv_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JWTAUTH_ENV", "production")
    settings = Settings.load()
    assert settings.is_production is True


def test_issuer_for_in_production_without_issuer_is_refused() -> None:
    settings = Settings.load(env="production")
    with pytest.raises(ConfigurationError, match="JWTAUTH_ISSUER"):
        settings.issuer_for("auth.example.com", 443)


@pytest.mark.parametrize(("host", "port"), [("localhost", 8000), ("127.0.0.1", 9999)])
def test_issuer_for_in_development_falls_back_to_host_and_port(host: str, port: int) -> None:
    assert Settings.load().issuer_for(host, port) == f"http://{host}:{port}"


@pytest.mark.parametrize("env", ["development", "production"])
def test_issuer_for_returns_configured_issuer(env: str) -> None:
    settings = Settings.load(env=env, issuer="https://auth.example.com")
    assert settings.issuer_for("localhost", 8000) == "https://auth.example.com"


# A TOML file that carries credentials is a secret file -------------------------------------

STRONG = "rhLxsd3g7K-9KVWsNJh_MtbJorFz53o2YRZxJ46_8LiRyReUXCe007RbOLGh_Cqf"


@pytest.mark.parametrize("field", ["secret", "database_url", "redis_url"])
def test_world_readable_toml_with_a_credential_is_refused_in_production(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, field: str
) -> None:
    path = tmp_path / "jwtauth.toml"
    write_toml(
        path,
        f'env = "production"\nissuer = "https://auth.test"\n{field} = "{STRONG}"\n',
        monkeypatch,
    )
    path.chmod(0o644)
    with pytest.raises(InsecureKeyFileError, match="chmod 600") as info:
        Settings.load()
    assert STRONG not in str(info.value)


def test_world_readable_toml_with_a_credential_is_a_warning_in_development(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "jwtauth.toml"
    write_toml(path, f'secret = "{STRONG}"\n', monkeypatch)
    path.chmod(0o644)
    with pytest.warns(SecurityWarning, match="JWTAUTH_CONFIG holds secrets"):
        settings = Settings.load()
    assert settings.source_of("secret") == "toml"


def test_private_toml_with_a_credential_is_accepted_in_production(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "jwtauth.toml"
    write_toml(
        path,
        f'env = "production"\nissuer = "https://auth.test"\nsecret = "{STRONG}"\n',
        monkeypatch,
    )
    path.chmod(0o600)
    settings = Settings.load()
    assert settings.source_of("secret") == "toml"
    assert settings.source_of("audience") == "default"


def test_world_readable_toml_without_credentials_is_fine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "jwtauth.toml"
    write_toml(path, 'env = "production"\nissuer = "https://auth.test"\n', monkeypatch)
    path.chmod(0o644)
    assert Settings.load().issuer == "https://auth.test"


def test_malformed_toml_is_reported_by_line_without_its_content(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_toml(tmp_path / "bad.toml", f'audience = "api"\nsecret = "{STRONG}\n', monkeypatch)
    with pytest.raises(ConfigurationError, match=r"not valid TOML \(line 2\)") as info:
        Settings.load()
    assert STRONG[:8] not in str(info.value)
    assert info.value.__cause__ is None


def test_source_of_reports_each_layer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_toml(tmp_path / "c.toml", 'audience = "from-toml"\nleeway = 1\n', monkeypatch)
    (tmp_path / ".env").write_text("JWTAUTH_LEEWAY=2\nJWTAUTH_ACCESS_TTL=60\n", encoding="utf-8")
    monkeypatch.setenv("JWTAUTH_ACCESS_TTL", "90")
    settings = Settings.load(refresh_ttl=100)
    assert settings.source_of("audience") == "toml"
    assert settings.source_of("leeway") == ".env"
    assert settings.source_of("access_ttl") == "env"
    assert settings.source_of("refresh_ttl") == "argument"
    assert settings.source_of("issuer") == "default"


# Trusted proxies and the IPv6 rate-limit prefix (issue 13 item 16) -----------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("10.0.0.0/8", ["10.0.0.0/8"]),
        ("127.0.0.1, 10.0.0.0/8,::1", ["127.0.0.1", "10.0.0.0/8", "::1"]),
        ('["127.0.0.1", "2001:DB8::/32"]', ["127.0.0.1", "2001:db8::/32"]),
        ("0.0.0.0/0", ["0.0.0.0/0"]),
        ("192.0.2.7/32", ["192.0.2.7"]),
        ("", []),  # set but empty: no proxy is trusted
    ],
)
def test_trusted_proxies_take_addresses_and_cidr_ranges(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: list[str]
) -> None:
    monkeypatch.setenv("JWTAUTH_TRUSTED_PROXIES", value)
    assert Settings.load().trusted_proxies == expected


def test_trusted_proxies_from_toml_and_arguments(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert Settings.load(trusted_proxies=["10.0.0.0/8"]).trusted_proxies == ["10.0.0.0/8"]
    write_toml(tmp_path / "c.toml", 'trusted_proxies = ["172.16.0.0/12", "::1"]\n', monkeypatch)
    assert Settings.load().trusted_proxies == ["172.16.0.0/12", "::1"]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("10.0.0.1,proxy-zq7x", "entry 2 is not an IP address or CIDR range"),
        ("10.9.8.7/8", "entry 1 is a CIDR range with bits set"),
        ("10.0.0.0/33", "entry 1 is not an IP address"),
        ('["10.0.0.1"', "not a JSON list"),
        ('{"a": "10.0.0.1"}', "entry 1 is not an IP address"),  # a string, not a list
        ("[1, 2]", "expected addresses and CIDR ranges"),
    ],
)
def test_malformed_trusted_proxies_are_one_line_without_a_traceback(
    monkeypatch: pytest.MonkeyPatch, value: str, reason: str
) -> None:
    # pydantic-settings decoded the variable as JSON itself and raised a SettingsError from
    # deep inside, which `jwtauth serve` printed as a 72-line traceback.
    monkeypatch.setenv("JWTAUTH_TRUSTED_PROXIES", value)
    with pytest.raises(ConfigurationError) as info:
        Settings.load()
    message = str(info.value)
    assert message.startswith("JWTAUTH_TRUSTED_PROXIES:")
    assert reason in message
    assert "\n" not in message
    assert "zq7x" not in message
    assert info.value.__cause__ is None


def test_the_ipv6_rate_limit_prefix_defaults_to_64_and_is_bounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert Settings.load().ipv6_rate_limit_prefix == 64
    monkeypatch.setenv("JWTAUTH_IPV6_RATE_LIMIT_PREFIX", "56")
    assert Settings.load().ipv6_rate_limit_prefix == 56
    for bad in ("31", "129", "x"):
        monkeypatch.setenv("JWTAUTH_IPV6_RATE_LIMIT_PREFIX", bad)
        with pytest.raises(ConfigurationError, match=r"^JWTAUTH_IPV6_RATE_LIMIT_PREFIX:"):
            Settings.load()
