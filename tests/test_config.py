"""Settings: defaults, sources and their priority, validation messages, secrecy, immutability."""

from __future__ import annotations

import re
import traceback
from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import ValidationError

from jwtauth.config import OTHER_VARIABLES, Environment, Settings, production_warnings
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


# Unknown names (issue 13 item 19) ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "hint"),
    [
        ("JWTAUTH_ACESS_TTL", " (did you mean JWTAUTH_ACCESS_TTL?)"),
        ("JWTAUTH_RATELIMITS", " (did you mean JWTAUTH_RATE_LIMITS?)"),
        ("jwtauth_lockout_treshold", " (did you mean JWTAUTH_LOCKOUT_THRESHOLD?)"),
        ("JWTAUTH_CONFIGFILE", " (did you mean JWTAUTH_CONFIG?)"),
        ("JWTAUTH_NOT_A_SETTING", ""),
    ],
)
def test_an_unknown_variable_is_refused_in_production_naming_the_likely_one(
    monkeypatch: pytest.MonkeyPatch, name: str, hint: str
) -> None:
    monkeypatch.setenv("JWTAUTH_ENV", "production")
    monkeypatch.setenv(name, STRONG)  # a value is never repeated: it may be a secret
    with pytest.raises(ConfigurationError) as info:
        Settings.load()
    assert str(info.value) == f"{name} is not a setting{hint}"
    assert info.value.__cause__ is None


def test_an_unknown_variable_is_a_warning_in_development_and_changes_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("JWTAUTH_ACESS_TTL", "9")
    with pytest.warns(SecurityWarning) as caught:
        settings = Settings.load()
    [warning] = [w for w in caught if "JWTAUTH_ACESS_TTL" in str(w.message)]
    assert str(warning.message) == (
        "JWTAUTH_ACESS_TTL is not a setting (did you mean JWTAUTH_ACCESS_TTL?) "
        "(refused in production)"
    )
    assert settings.access_ttl == 300


@pytest.mark.parametrize("env", ["production", "development"])
def test_an_unknown_toml_key_is_refused_in_production_and_warned_in_development(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env: str
) -> None:
    write_toml(
        tmp_path / "c.toml", f'env = "{env}"\nacess_ttl = 9\nAUDIENCE = "api"\n', monkeypatch
    )
    expected = "JWTAUTH_CONFIG sets acess_ttl, which is not a setting (did you mean access_ttl?)"
    if env == "production":
        with pytest.raises(ConfigurationError) as info:
            Settings.load()
        assert str(info.value) == expected
        return
    with pytest.warns(SecurityWarning, match=re.escape(expected)):
        settings = Settings.load()
    assert (settings.access_ttl, settings.audience) == (300, "api")


def test_all_unknown_names_are_reported_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_toml(tmp_path / "c.toml", 'env = "production"\nlee_way = 1\n', monkeypatch)
    monkeypatch.setenv("JWTAUTH_ACESS_TTL", "9")
    monkeypatch.setenv("JWTAUTH_LOCKOUT_PERIODS", "9")
    with pytest.raises(ConfigurationError) as info:
        Settings.load()
    assert str(info.value) == (
        "JWTAUTH_ACESS_TTL is not a setting (did you mean JWTAUTH_ACCESS_TTL?); "
        "JWTAUTH_LOCKOUT_PERIODS is not a setting (did you mean JWTAUTH_LOCKOUT_PERIOD?); "
        "JWTAUTH_CONFIG sets lee_way, which is not a setting (did you mean leeway?)"
    )


def test_an_unknown_name_in_a_development_dotenv_is_a_warning(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("JWTAUTH_ACESS_TTL=9\nOTHER_TOOL=1\n", encoding="utf-8")
    with pytest.warns(SecurityWarning, match=r"^\.env: JWTAUTH_ACESS_TTL is not a setting \(did"):
        Settings.load()


def test_variables_read_elsewhere_are_accepted_in_production(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("JWTAUTH_ENV", "production")
    for name in OTHER_VARIABLES - {"JWTAUTH_CONFIG"}:
        monkeypatch.setenv(name, "1")
    assert Settings.load().is_production


ROOT = Path(__file__).resolve().parents[1]
# A variable read by name: os.environ["X"], os.environ.get("X"), os.getenv("X"), shell $X/export X.
ENV_READ = re.compile(
    r"""(?:environ\[|environ\.get\(|getenv\()\s*["'](JWTAUTH_\w+)|(?:\$\{?|export\s+)(JWTAUTH_\w+)"""
)


def test_every_jwtauth_variable_the_project_reads_is_a_setting_or_allow_listed() -> None:
    """A JWTAUTH_ name newly read through os.environ anywhere must join OTHER_VARIABLES (or
    become a setting), or production would refuse the variable it reads."""
    sources = [*(ROOT / "src").rglob("*.py"), *(ROOT / "tests").rglob("*.py"),
               *(ROOT / ".ci").iterdir(), ROOT / "Makefile"]  # fmt: skip
    read = {
        first or second
        for path in sources
        if path.is_file()
        for first, second in ENV_READ.findall(path.read_text(encoding="utf-8", errors="ignore"))
    }
    assert {"JWTAUTH_TEST_REDIS", "JWTAUTH_REQUIRE_SERVICES"} <= read  # the scan sees them
    fields = {f"JWTAUTH_{name.upper()}" for name in Settings.model_fields}
    assert read - fields <= OTHER_VARIABLES


def test_an_upper_case_toml_credential_is_held_to_the_secret_file_rule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # pydantic reads `SECRET = ...` as the secret; the file check once looked for `secret` only.
    path = tmp_path / "jwtauth.toml"
    write_toml(path, f'ENV = "production"\nISSUER = "https://a.test"\nSECRET = "{STRONG}"\n',
               monkeypatch)  # fmt: skip
    path.chmod(0o644)
    with pytest.raises(InsecureKeyFileError, match="chmod 600"):
        Settings.load()


# Production findings (issue 13 item 18) ------------------------------------------------------


def production(**values: object) -> Settings:
    return Settings(env="production", issuer="https://auth.test", **values)  # type: ignore[arg-type]


def test_the_defaults_and_development_have_no_findings() -> None:
    assert production_warnings(production()) == ()
    risky = {"rate_limits": False, "lockout": False, "https": "off", "access_ttl": 31_536_000}
    assert production_warnings(Settings(**risky)) == ()  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("values", "line"),
    [
        ({"rate_limits": False}, "JWTAUTH_RATE_LIMITS=false: no per-address or per-account"),
        ({"lockout": False}, "JWTAUTH_LOCKOUT=false: no account lockout"),
        ({"https": "off"}, "JWTAUTH_HTTPS=off: plain-HTTP requests are served"),
        ({"access_ttl": 31_536_000}, "JWTAUTH_ACCESS_TTL=31536000: access tokens live longer"),
        ({"access_ttl": 3601}, "JWTAUTH_ACCESS_TTL=3601:"),
        ({"leeway": 300}, "JWTAUTH_LEEWAY=300: more than 60 s of clock skew"),
        ({"leeway": 60.5}, "JWTAUTH_LEEWAY=60.5:"),
        ({"trusted_proxies": ["0.0.0.0/0"]}, "JWTAUTH_TRUSTED_PROXIES trusts 0.0.0.0/0:"),
        ({"trusted_proxies": ["::/0"]}, "JWTAUTH_TRUSTED_PROXIES trusts ::/0:"),
        ({"trusted_proxies": "10.0.0.7,0.0.0.0/1,128.0.0.0/1"},
         "JWTAUTH_TRUSTED_PROXIES trusts 0.0.0.0/1, 128.0.0.0/1:"),
        ({"trusted_proxies": ["::ffff:0:0/96"]}, "JWTAUTH_TRUSTED_PROXIES trusts ::ffff:0:0/96:"),
        ({"trusted_proxies": ["1.0.0.0/8"]}, "JWTAUTH_TRUSTED_PROXIES trusts 1.0.0.0/8:"),
        ({"trusted_proxies": ["2000::/3"]}, "JWTAUTH_TRUSTED_PROXIES trusts 2000::/3:"),
    ],
)  # fmt: skip
def test_each_weakening_setting_is_one_finding(values: dict[str, object], line: str) -> None:
    [finding] = production_warnings(production(**values))
    assert finding.startswith(line)
    assert "\n" not in finding


@pytest.mark.parametrize(
    "proxies",
    [["127.0.0.1", "::1"], ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"],
     ["100.64.0.0/10"], ["104.16.0.0/13", "2400:cb00::/32", "2a06:98c0::/29"], []],
)  # fmt: skip
def test_own_networks_and_a_cdns_ranges_are_not_too_wide(proxies: list[str]) -> None:
    assert production_warnings(production(trusted_proxies=proxies)) == ()


PASSWORD = "pw-" + STRONG[:20]  # pragma: allowlist secret


@pytest.mark.parametrize(
    ("field", "url", "tls", "password"),
    [
        ("database_url", "postgresql+asyncpg://jwtauth@db.internal/jwtauth", False, False),
        ("database_url", f"postgresql+asyncpg://jwtauth:{PASSWORD}@127.0.0.1/j", False, True),
        ("database_url", "postgresql+asyncpg://jwtauth@db/j?ssl=verify-full", True, False),
        ("database_url", f"postgresql://jwtauth:{PASSWORD}@db/j?ssl=prefer", False, True),
        ("database_url", f"postgresql://jwtauth:{PASSWORD}@db/j?sslmode=require", True, True),
        ("database_url", "postgresql://jwtauth@db/j?ssl=require&sslcert=/c.pem", True, True),
        ("database_url", "postgresql+asyncpg://jwtauth@/j?host=/run/postgresql", True, True),
        ("database_url", "sqlite+aiosqlite:////var/lib/jwtauth/jwtauth.db", True, True),
        ("redis_url", "redis://127.0.0.1:6379/0", False, False),
        ("redis_url", f"redis://:{PASSWORD}@redis.internal:6379/0", False, True),
        ("redis_url", f"redis://jwtauth:{PASSWORD}@redis.internal:6379/0", False, True),
        ("redis_url", "rediss://redis.internal:6380/0", True, False),
        ("redis_url", f"rediss://:{PASSWORD}@redis.internal:6380/0", True, True),
        ("redis_url", f"rediss://redis.internal:6380/0?password={PASSWORD}", True, True),
        ("redis_url", "unix:///run/redis/redis.sock", True, True),
    ],
)  # fmt: skip
def test_a_connection_without_tls_or_password_is_a_finding(
    field: str, url: str, tls: bool, password: bool
) -> None:
    findings = production_warnings(production(**{field: url}))
    name = f"JWTAUTH_{field.upper()}"
    assert any(f.startswith(f"{name} does not require TLS") for f in findings) is not tls
    assert any(f.startswith(f"{name} has no password") for f in findings) is not password
    assert len(findings) == (not tls) + (not password)
    for finding in findings:
        assert PASSWORD not in finding
        assert "internal" not in finding  # nor any part of the URL


def test_every_finding_at_once_names_no_secret() -> None:
    findings = production_warnings(
        production(
            rate_limits=False, lockout=False, https="off", access_ttl=31_536_000, leeway=300,
            database_url="postgresql+asyncpg://postgres@127.0.0.1:5432/jwtauth",
            redis_url="redis://127.0.0.1:6379/0", trusted_proxies=["0.0.0.0/0", "::/0"],
            secret=STRONG, algorithm="HS256",
        )
    )  # fmt: skip
    assert len(findings) == 10
    assert len({f.split()[0].split("=")[0] for f in findings}) == 8
    assert not any(STRONG in f or "postgres@" in f for f in findings)
