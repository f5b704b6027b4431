"""Start-up loading of secrets and signing keys: strength, file modes, sources, development keys."""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from jwtauth.config import Settings
from jwtauth.environment import Strictness
from jwtauth.errors import (
    ConfigurationError,
    InsecureKeyFileError,
    KeyConfigurationError,
    SecurityWarning,
    WeakSecretError,
)
from jwtauth.keys.algorithms import Algorithm
from jwtauth.keys.key import HMACKey, Key, generate_key
from jwtauth.sources.loading import (
    KeyConfig,
    LoadedSecret,
    load_keyring,
    load_secret,
    load_signing_key,
    private_pem,
    read_key_file,
    write_private_file,
)

pytestmark = pytest.mark.usefixtures("clean_env")


def strong_secret() -> str:
    return secrets.token_urlsafe(48)  # 64 base64url characters, 384 bits


def write_file(path: Path, data: bytes, mode: int) -> Path:
    path.write_bytes(data)
    path.chmod(mode)
    return path


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def public_pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def sign_both(a: Key, b: Key) -> tuple[bytes, bytes]:
    return a.sign(b"header.payload"), b.sign(b"header.payload")


# --- HMAC secrets ---------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["HS256", "HS384", "HS512"])
@pytest.mark.parametrize("env", ["development", "production"])
def test_strong_environment_secret_gives_hmac_key(
    monkeypatch: pytest.MonkeyPatch, alg: str, env: str
) -> None:
    secret = strong_secret()
    monkeypatch.setenv("JWTAUTH_ENV", env)
    monkeypatch.setenv("JWTAUTH_ALGORITHM", alg)
    monkeypatch.setenv("JWTAUTH_SECRET", secret)
    key = load_signing_key(Settings.load().key_config())  # filterwarnings=error: no warning either
    assert isinstance(key, HMACKey)
    assert key.alg is Algorithm(alg)
    expected, got = sign_both(HMACKey(secret.encode(), alg), key)
    assert got == expected


def test_load_keyring_uses_the_signing_key(monkeypatch: pytest.MonkeyPatch) -> None:
    secret = strong_secret()
    monkeypatch.setenv("JWTAUTH_ALGORITHM", "HS256")
    monkeypatch.setenv("JWTAUTH_SECRET", secret)
    keyring = load_keyring(Settings.load().key_config())
    assert keyring.signing_key.kid == HMACKey(secret.encode()).kid


def test_no_secret_configured() -> None:
    settings = Settings.load(algorithm="HS256")
    assert load_secret(settings.key_config()) is None
    with pytest.raises(ConfigurationError, match="jwtauth secret generate"):
        load_signing_key(settings.key_config())


def test_loaded_secret_repr_hides_value() -> None:
    secret = strong_secret()
    loaded = load_secret(Settings.load(algorithm="HS256", secret=secret).key_config())
    assert loaded is not None
    assert loaded.value == secret.encode()
    assert loaded.source == "argument"
    assert secret not in repr(loaded)
    assert repr(loaded) == f"LoadedSecret(source='argument', length={len(secret)})"


WEAK_SECRETS = {
    "placeholder": "changeme",
    "tutorial": "your-256-bit-secret",
    "repeated": "a" * 64,
    "short": "xK7#pQ",
    "two-chars": "ab" * 32,
    "long-placeholder": "changeme" * 8,
    "public-key": public_pem(),
}


@pytest.mark.parametrize("secret", WEAK_SECRETS.values(), ids=WEAK_SECRETS.keys())
def test_weak_secret_is_refused_in_production(monkeypatch: pytest.MonkeyPatch, secret: str) -> None:
    monkeypatch.setenv("JWTAUTH_ENV", "production")
    monkeypatch.setenv("JWTAUTH_ALGORITHM", "HS256")
    monkeypatch.setenv("JWTAUTH_SECRET", secret)
    with pytest.raises(WeakSecretError) as info:
        load_signing_key(Settings.load().key_config())
    message = str(info.value)
    assert message.startswith("JWTAUTH_SECRET:")
    assert secret not in message
    assert secret.strip() not in message
    assert "\n" not in message


USABLE_WEAK = ("repeated", "two-chars", "long-placeholder")


@pytest.mark.parametrize("name", USABLE_WEAK)
def test_weak_but_long_secret_is_warned_and_usable_in_development(
    monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    secret = WEAK_SECRETS[name]
    monkeypatch.setenv("JWTAUTH_ALGORITHM", "HS256")
    monkeypatch.setenv("JWTAUTH_SECRET", secret)
    with pytest.warns(SecurityWarning, match="refused in production") as record:
        key = load_signing_key(Settings.load().key_config())
    assert isinstance(key, HMACKey)
    expected, got = sign_both(HMACKey(secret.encode()), key)
    assert got == expected
    assert all(secret not in str(w.message) for w in record)


@pytest.mark.parametrize("name", sorted(set(WEAK_SECRETS) - set(USABLE_WEAK)))
def test_unusable_secret_is_warned_then_refused_in_development(
    monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    secret = WEAK_SECRETS[name]
    monkeypatch.setenv("JWTAUTH_ALGORITHM", "HS256")
    monkeypatch.setenv("JWTAUTH_SECRET", secret)
    with pytest.warns(SecurityWarning) as record, pytest.raises(WeakSecretError) as info:
        load_signing_key(Settings.load().key_config())
    assert secret.strip() not in str(info.value)
    assert all(secret.strip() not in str(w.message) for w in record)


@pytest.mark.parametrize("env", ["development", "production"])
def test_secret_and_secret_file_together_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env: str
) -> None:
    path = write_file(tmp_path / "secret", strong_secret().encode(), 0o600)
    monkeypatch.setenv("JWTAUTH_ENV", env)
    monkeypatch.setenv("JWTAUTH_ALGORITHM", "HS256")
    monkeypatch.setenv("JWTAUTH_SECRET", strong_secret())
    monkeypatch.setenv("JWTAUTH_SECRET_FILE", str(path))
    settings = Settings.load()
    with pytest.raises(ConfigurationError, match="only one of"):
        load_secret(settings.key_config())
    with pytest.raises(ConfigurationError, match="only one of"):
        load_signing_key(settings.key_config())


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_accessible_secret_file_is_refused_in_production(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: int
) -> None:
    secret = strong_secret()
    path = write_file(tmp_path / "secret", secret.encode(), mode)
    monkeypatch.setenv("JWTAUTH_ENV", "production")
    monkeypatch.setenv("JWTAUTH_ALGORITHM", "HS256")
    monkeypatch.setenv("JWTAUTH_SECRET_FILE", str(path))
    with pytest.raises(InsecureKeyFileError) as info:
        load_signing_key(Settings.load().key_config())
    message = str(info.value)
    assert f"chmod 600 {path}" in message
    assert f"{mode:04o}" in message
    assert secret not in message


def test_accessible_secret_file_is_warned_in_development(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = strong_secret()
    path = write_file(tmp_path / "secret", secret.encode(), 0o644)
    monkeypatch.setenv("JWTAUTH_ALGORITHM", "HS256")
    monkeypatch.setenv("JWTAUTH_SECRET_FILE", str(path))
    with pytest.warns(SecurityWarning, match="chmod 600"):
        key = load_signing_key(Settings.load().key_config())
    expected, got = sign_both(HMACKey(secret.encode()), key)
    assert got == expected


@pytest.mark.parametrize("suffix", [b"", b"\n", b"\r\n", b"\n\n"])
def test_private_secret_file_is_accepted_and_newline_stripped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix: bytes
) -> None:
    secret = strong_secret().encode()
    path = write_file(tmp_path / "secret", secret + suffix, 0o600)
    monkeypatch.setenv("JWTAUTH_ENV", "production")
    monkeypatch.setenv("JWTAUTH_ALGORITHM", "HS256")
    monkeypatch.setenv("JWTAUTH_SECRET_FILE", str(path))
    settings = Settings.load()
    assert load_secret(settings.key_config()) == LoadedSecret(secret, "file")
    expected, got = sign_both(HMACKey(secret), load_signing_key(settings.key_config()))
    assert got == expected


def test_missing_secret_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JWTAUTH_ALGORITHM", "HS256")
    monkeypatch.setenv("JWTAUTH_SECRET_FILE", str(tmp_path / "absent"))
    with pytest.raises(ConfigurationError, match=r"cannot read .*absent"):
        load_signing_key(Settings.load().key_config())


def test_dotenv_secret_reports_dotenv_source(tmp_path: Path) -> None:
    secret = strong_secret()
    (tmp_path / ".env").write_text(
        f"JWTAUTH_ALGORITHM=HS256\nJWTAUTH_SECRET={secret}\n", encoding="utf-8"
    )
    settings = Settings.load()
    loaded = load_secret(settings.key_config())
    assert loaded == LoadedSecret(secret.encode(), ".env")
    assert isinstance(load_signing_key(settings.key_config()), HMACKey)


def test_environment_secret_beats_dotenv_and_reports_env_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from_env = strong_secret()
    (tmp_path / ".env").write_text(f"JWTAUTH_SECRET={strong_secret()}\n", encoding="utf-8")
    monkeypatch.setenv("JWTAUTH_SECRET", from_env)
    loaded = load_secret(Settings.load(algorithm="HS256").key_config())
    assert loaded is not None
    assert loaded.value == from_env.encode()
    assert loaded.source == "env"


def test_dotenv_secret_is_refused_in_production(tmp_path: Path) -> None:
    secret = strong_secret()
    (tmp_path / ".env").write_text(
        f"JWTAUTH_ENV=production\nJWTAUTH_ALGORITHM=HS256\nJWTAUTH_SECRET={secret}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigurationError) as info:
        Settings.load()
    assert secret not in str(info.value)


# --- asymmetric keys ------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["ES256", "EdDSA"])
def test_production_without_private_key_file_is_refused(
    monkeypatch: pytest.MonkeyPatch, alg: str
) -> None:
    monkeypatch.setenv("JWTAUTH_ENV", "production")
    monkeypatch.setenv("JWTAUTH_ALGORITHM", alg)
    monkeypatch.setenv("JWTAUTH_STATE_DIR", "state")
    with pytest.raises(ConfigurationError, match="JWTAUTH_PRIVATE_KEY_FILE must be set"):
        load_signing_key(Settings.load().key_config())
    assert not Path("state").exists()  # production never falls back to a generated key


@pytest.mark.parametrize("alg", ["ES256", "ES384", "EdDSA"])
def test_development_generates_and_reuses_a_private_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, alg: str
) -> None:
    state = tmp_path / "state" / "nested"
    monkeypatch.setenv("JWTAUTH_ALGORITHM", alg)
    monkeypatch.setenv("JWTAUTH_STATE_DIR", str(state))
    first = load_signing_key(Settings.load().key_config())
    files = list(state.iterdir())
    assert len(files) == 1
    assert files[0].name == f"signing-key-{alg}.pem"
    assert mode_of(files[0]) == 0o600
    assert mode_of(state) & 0o077 == 0
    assert b"PRIVATE KEY" in files[0].read_bytes()
    assert first.can_sign
    assert first.alg is Algorithm(alg)

    second = load_signing_key(Settings.load().key_config())
    assert second.kid == first.kid
    assert first.verify(b"x", second.sign(b"x"))
    assert list(state.iterdir()) == files


def test_development_key_defaults_to_state_dir_in_working_directory(tmp_path: Path) -> None:
    key = load_signing_key(Settings.load().key_config())
    path = tmp_path / ".jwtauth" / "signing-key-ES256.pem"
    assert mode_of(path) == 0o600
    assert load_signing_key(Settings.load().key_config()).kid == key.kid


def test_development_key_file_made_accessible_is_warned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JWTAUTH_STATE_DIR", str(tmp_path / "state"))
    first = load_signing_key(Settings.load().key_config())
    (tmp_path / "state" / "signing-key-ES256.pem").chmod(0o644)
    with pytest.warns(SecurityWarning, match="chmod 600"):
        again = load_signing_key(Settings.load().key_config())
    assert again.kid == first.kid


@pytest.mark.parametrize("env", ["development", "production"])
def test_private_key_file_holding_a_public_key_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env: str
) -> None:
    path = write_file(tmp_path / "key.pem", public_pem().encode(), 0o600)
    monkeypatch.setenv("JWTAUTH_ENV", env)
    monkeypatch.setenv("JWTAUTH_ALGORITHM", "ES256")
    monkeypatch.setenv("JWTAUTH_PRIVATE_KEY_FILE", str(path))
    with pytest.raises(KeyConfigurationError, match="public key"):
        load_signing_key(Settings.load().key_config())


def make_private_key_file(path: Path, alg: str, mode: int) -> Key:
    key = generate_key(alg)
    write_file(path, private_pem(key), mode)
    return key


def test_private_key_file_is_loaded_in_production(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    written = make_private_key_file(tmp_path / "key.pem", "ES256", 0o600)
    monkeypatch.setenv("JWTAUTH_ENV", "production")
    monkeypatch.setenv("JWTAUTH_ALGORITHM", "ES256")
    monkeypatch.setenv("JWTAUTH_PRIVATE_KEY_FILE", str(tmp_path / "key.pem"))
    key = load_signing_key(Settings.load().key_config())
    assert key.kid == written.kid
    assert key.can_sign
    assert written.verify(b"x", key.sign(b"x"))


@pytest.mark.parametrize("mode", [0o640, 0o644, 0o604])
def test_accessible_private_key_file_is_refused_in_production(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: int
) -> None:
    path = tmp_path / "key.pem"
    make_private_key_file(path, "ES256", mode)
    monkeypatch.setenv("JWTAUTH_ENV", "production")
    monkeypatch.setenv("JWTAUTH_ALGORITHM", "ES256")
    monkeypatch.setenv("JWTAUTH_PRIVATE_KEY_FILE", str(path))
    with pytest.raises(InsecureKeyFileError, match="chmod 600") as info:
        load_signing_key(Settings.load().key_config())
    assert "PRIVATE KEY" not in str(info.value)


def test_accessible_private_key_file_is_warned_in_development(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "key.pem"
    written = make_private_key_file(path, "ES256", 0o640)
    monkeypatch.setenv("JWTAUTH_ALGORITHM", "ES256")
    monkeypatch.setenv("JWTAUTH_PRIVATE_KEY_FILE", str(path))
    with pytest.warns(SecurityWarning, match="chmod 600"):
        key = load_signing_key(Settings.load().key_config())
    assert key.kid == written.kid


def test_private_key_for_another_algorithm_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "key.pem"
    make_private_key_file(path, "ES256", 0o600)
    monkeypatch.setenv("JWTAUTH_ALGORITHM", "ES384")
    monkeypatch.setenv("JWTAUTH_PRIVATE_KEY_FILE", str(path))
    with pytest.raises(KeyConfigurationError):
        load_signing_key(Settings.load().key_config())


@pytest.mark.parametrize("variable", ["JWTAUTH_SECRET", "JWTAUTH_SECRET_FILE"])
@pytest.mark.parametrize("env", ["development", "production"])
def test_secret_with_asymmetric_algorithm_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str, env: str
) -> None:
    secret = strong_secret()
    value = secret if variable == "JWTAUTH_SECRET" else str(tmp_path / "secret")
    write_file(tmp_path / "secret", secret.encode(), 0o600)
    monkeypatch.setenv("JWTAUTH_ENV", env)
    monkeypatch.setenv("JWTAUTH_ALGORITHM", "ES256")
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError, match="HS\\* algorithms") as info:
        load_signing_key(Settings.load().key_config())
    assert secret not in str(info.value)
    assert not (tmp_path / ".jwtauth").exists()


@pytest.mark.parametrize("alg", ["HS256", "HS512"])
def test_private_key_file_with_hmac_algorithm_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, alg: str
) -> None:
    path = tmp_path / "key.pem"
    make_private_key_file(path, "ES256", 0o600)
    monkeypatch.setenv("JWTAUTH_ALGORITHM", alg)
    monkeypatch.setenv("JWTAUTH_SECRET", strong_secret())
    monkeypatch.setenv("JWTAUTH_PRIVATE_KEY_FILE", str(path))
    with pytest.raises(ConfigurationError, match="JWTAUTH_PRIVATE_KEY_FILE"):
        load_signing_key(Settings.load().key_config())


# --- files ----------------------------------------------------------------------------------


def test_read_key_file_refuses_a_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="not a regular file"):
        read_key_file(tmp_path, Settings.load(env="production").strictness)


def test_read_key_file_accepts_owner_only_modes(tmp_path: Path) -> None:
    settings = Settings.load(env="production")
    for mode in (0o600, 0o400):
        path = write_file(tmp_path / f"k{mode:o}", b"x", mode)
        assert read_key_file(path, settings.strictness) == b"x"


def test_write_private_file_creates_mode_0600_despite_permissive_umask(tmp_path: Path) -> None:
    path = tmp_path / "private"
    previous = os.umask(0)
    try:
        write_private_file(path, b"top secret bytes")
    finally:
        os.umask(previous)
    assert mode_of(path) == 0o600
    assert path.read_bytes() == b"top secret bytes"


def test_write_private_file_refuses_to_overwrite(tmp_path: Path) -> None:
    path = write_file(tmp_path / "existing", b"original", 0o600)
    with pytest.raises(FileExistsError):
        write_private_file(path, b"replacement")
    assert path.read_bytes() == b"original"


def test_write_private_file_does_not_follow_a_symlink(tmp_path: Path) -> None:
    target = tmp_path / "target"
    link = tmp_path / "link"
    link.symlink_to(target)  # dangling: O_EXCL must still refuse it
    with pytest.raises(FileExistsError):
        write_private_file(link, b"data")
    assert not target.exists()


# Files: binary secrets, owners, directories, planted development keys ----------------------


def test_binary_secret_file_ending_in_a_newline_byte_is_kept_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = b"\xff\x00" + bytes(range(200, 229)) + b"\n"  # not UTF-8; last byte is 0x0a
    path = write_file(tmp_path / "secret.bin", secret, 0o600)
    monkeypatch.setenv("JWTAUTH_ALGORITHM", "HS256")
    monkeypatch.setenv("JWTAUTH_SECRET_FILE", str(path))
    loaded = load_secret(Settings.load().key_config())
    assert loaded is not None
    assert loaded.value == secret


def test_secret_file_owned_by_another_user_is_refused_in_production(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if os.geteuid() != 0:
        pytest.skip("changing a file's owner needs root")
    path = write_file(tmp_path / "secret", strong_secret().encode(), 0o600)
    os.chown(path, 65534, 65534)
    monkeypatch.setenv("JWTAUTH_ENV", "production")
    monkeypatch.setenv("JWTAUTH_ISSUER", "https://auth.test")
    monkeypatch.setenv("JWTAUTH_ALGORITHM", "HS256")
    monkeypatch.setenv("JWTAUTH_SECRET_FILE", str(path))
    with pytest.raises(InsecureKeyFileError, match="owned by another user"):
        load_signing_key(Settings.load().key_config())


def test_secret_file_that_is_a_directory_is_a_configuration_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JWTAUTH_ALGORITHM", "HS256")
    monkeypatch.setenv("JWTAUTH_SECRET_FILE", str(tmp_path))
    with pytest.raises(ConfigurationError, match="not a regular file"):
        load_signing_key(Settings.load().key_config())


def test_weak_secret_file_error_names_the_file_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_file(tmp_path / "secret", b"changeme-changeme-changeme-changeme", 0o600)
    monkeypatch.setenv("JWTAUTH_ENV", "production")
    monkeypatch.setenv("JWTAUTH_ALGORITHM", "HS256")
    monkeypatch.setenv("JWTAUTH_SECRET_FILE", str(path))
    with pytest.raises(WeakSecretError, match=r"^JWTAUTH_SECRET_FILE: "):
        load_signing_key(Settings.load().key_config())


def test_state_dir_writable_by_others_is_refused_even_in_development(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    state.chmod(0o777)  # anyone could plant the signing key here
    with pytest.raises(ConfigurationError, match="writable by other users"):
        load_signing_key(Settings.load(state_dir=state).key_config())


def test_planted_key_in_a_shared_state_dir_is_never_loaded(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    first = load_signing_key(Settings.load(state_dir=state).key_config())
    state.chmod(0o777)
    with pytest.raises(ConfigurationError, match="writable by other users"):
        load_signing_key(Settings.load(state_dir=state).key_config())
    state.chmod(0o700)
    assert load_signing_key(Settings.load(state_dir=state).key_config()).kid == first.kid


def test_dangling_symlink_at_the_development_key_path_is_a_configuration_error(
    tmp_path: Path,
) -> None:
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    (state / "signing-key-ES256.pem").symlink_to(tmp_path / "nowhere.pem")
    with pytest.raises(ConfigurationError, match="cannot read"):
        load_signing_key(Settings.load(state_dir=state).key_config())
    assert not (tmp_path / "nowhere.pem").exists()


# The loaders take values (issue 18) -------------------------------------------------------------


def test_the_loaders_take_values_without_any_settings(tmp_path: Path) -> None:
    secret = strong_secret()
    key = load_signing_key(KeyConfig(Algorithm.HS256, secret=secret))
    assert isinstance(key, HMACKey)
    loaded = load_secret(KeyConfig(Algorithm.HS256, secret=secret, origin="argument"))
    assert loaded is not None
    assert loaded.source == "argument"
    # Production's strictness is the default: a weak secret is refused, not warned about.
    weak = "changeme" * 8  # a placeholder  # pragma: allowlist secret
    with pytest.raises(WeakSecretError):
        load_signing_key(KeyConfig(Algorithm.HS256, secret=weak))
    development = Strictness(production=False)
    with pytest.raises(ConfigurationError, match="PRIVATE_KEY_FILE must be set in production"):
        load_signing_key(KeyConfig(Algorithm.ES256, state_dir=tmp_path / "state"))
    generated = load_signing_key(
        KeyConfig(Algorithm.ES256, state_dir=tmp_path / "state", strictness=development)
    )
    assert generated.can_sign  # development's generated key, when asked by value


def test_the_settings_build_the_values_and_their_repr_hides_the_secrets() -> None:
    secret = strong_secret()
    settings = Settings.load(
        algorithm="HS256", secret=secret, env="production", vault_token="hvs." + secret
    )
    config = settings.key_config()
    assert config.secret == secret
    assert config.strictness.production
    assert config.origin == settings.source_of("secret")
    assert secret not in repr(config)
    assert secret not in repr(settings.vault_config())
