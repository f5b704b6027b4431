"""`jwtauth keys list`, `keys rotate` and `revoke-all` on the embedded development defaults, and
how the managed keyring is selected and its key-encryption key found."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from jwtauth.cli import app
from jwtauth.config import Settings
from jwtauth.errors import ConfigurationError, KeyConfigurationError
from jwtauth.keys.keyring import KeyRing
from jwtauth.lifecycle.envelope import KeyEncryptionKey
from jwtauth.lifecycle.managed import ManagedKeyring, keyring_source, load_kek, uses_managed_keyring

pytestmark = pytest.mark.usefixtures("clean_env")


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def listed(result: Result) -> dict[str, str]:
    assert result.exit_code == 0, result.output
    return {line.split()[0]: line.split()[2] for line in result.stdout.splitlines()[1:]}


def test_keys_list_creates_the_keyring_on_the_embedded_defaults() -> None:
    states = listed(run("keys", "list"))
    assert sorted(states.values()) == ["active", "next"]
    kek = Path(".jwtauth/keyring-kek")
    assert stat.S_IMODE(kek.stat().st_mode) == 0o600
    # The development key of the state directory is the first active key: switching a
    # development install to the managed keyring keeps its kid and its outstanding tokens.
    assert Path(".jwtauth/signing-key-ES256.pem").exists()
    assert listed(run("keys", "list")) == states  # created once


def test_keys_rotate_waits_for_jwks_caches_unless_forced() -> None:
    before = listed(run("keys", "list"))
    refused = run("keys", "rotate")
    assert refused.exit_code == 1
    assert "JWKS caches may not know it" in refused.stderr
    assert listed(run("keys", "list")) == before
    after = listed(run("keys", "rotate", "--force"))
    active = next(kid for kid, state in before.items() if state == "active")
    waiting = next(kid for kid, state in before.items() if state == "next")
    assert after[active] == "retiring"
    assert after[waiting] == "active"
    assert sorted(after.values()) == ["active", "next", "retiring"]


def test_keys_rotate_compromised_retires_every_key() -> None:
    before = listed(run("keys", "list"))
    after = listed(run("keys", "rotate", "--compromised"))
    assert all(after[kid] == "retired" for kid in before)
    assert sorted(v for k, v in after.items() if k not in before) == ["active", "next"]


def test_key_material_is_never_printed_nor_stored_in_plaintext() -> None:
    result = run("keys", "rotate", "--force")
    assert "PRIVATE" not in result.output
    pem = Path(".jwtauth/signing-key-ES256.pem").read_bytes()
    with sqlite3.connect(".jwtauth/jwtauth.db") as db:
        blobs = [row[0] for row in db.execute("select material from signing_keys")]
    assert blobs
    assert all(b"PRIVATE KEY" not in blob and pem not in blob for blob in blobs)


def test_revoke_all_on_the_embedded_defaults() -> None:
    asked = run("revoke-all")  # no --yes and no answer: nothing happens
    assert asked.exit_code == 1
    done = run("revoke-all", "--yes")
    assert done.exit_code == 0, done.output
    assert "0 sessions ended" in done.stdout
    with sqlite3.connect(".jwtauth/jwtauth.db") as db:
        (cutoff,) = db.execute("select revoked_before from keyring_state").fetchone()
    assert cutoff is not None


def test_a_configured_key_keeps_the_static_keyring(tmp_path: Path) -> None:
    secret = "x7Qp2Lr9Vw4Zk8Ns3Jd6Hf1Tb5Gm0Yc2Ua7Re4Wi9Oq"
    settings = Settings.load(algorithm="HS256", secret=secret)
    assert not uses_managed_keyring(settings)
    assert isinstance(keyring_source(settings), KeyRing)
    result = CliRunner().invoke(
        app, ["keys", "rotate"], env={"JWTAUTH_ALGORITHM": "HS256", "JWTAUTH_SECRET": secret}
    )
    assert result.exit_code == 1
    assert "static" in result.stderr
    assert secret not in result.output


def test_production_chooses_the_managed_keyring_deliberately_and_needs_a_kek(
    tmp_path: Path,
) -> None:
    production = {"env": "production", "issuer": "https://auth.example.com"}
    assert not uses_managed_keyring(Settings.load(**production))
    with pytest.raises(ConfigurationError, match="JWTAUTH_KEYRING_KEK_FILE must be set"):
        keyring_source(Settings.load(keyring="managed", **production))
    kek_file = tmp_path / "kek"
    kek_file.write_bytes(KeyEncryptionKey.encode(bytes(32)) + b"\n")
    kek_file.chmod(0o600)
    source = keyring_source(
        Settings.load(keyring="managed", keyring_kek_file=kek_file, **production)
    )
    assert isinstance(source, ManagedKeyring)
    assert source.seed is None  # production generates its first key
    assert source.kek.kek_id == KeyEncryptionKey(bytes(32)).kek_id
    assert "KeyEncryptionKey(**********)" in repr(source)
    assert KeyEncryptionKey.encode(bytes(32)).decode() not in repr(source)


def test_a_kek_file_readable_by_others_is_refused_in_production(tmp_path: Path) -> None:
    kek_file = tmp_path / "kek"
    kek_file.write_bytes(KeyEncryptionKey.encode(bytes(32)))
    kek_file.chmod(0o644)
    settings = Settings.load(env="production", keyring="managed", keyring_kek_file=kek_file)
    with pytest.raises(KeyConfigurationError, match="accessible by group or others"):
        load_kek(settings)


def test_only_one_kek_source(tmp_path: Path) -> None:
    settings = Settings.load(keyring_kek="a" * 43, keyring_kek_file=tmp_path / "kek")
    with pytest.raises(ConfigurationError, match="only one of"):
        load_kek(settings)


def test_config_check_reports_the_managed_keyring() -> None:
    result = run("config", "check")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("ok: development mode, ES256 signing key in the managed")


def test_a_process_losing_the_race_to_create_the_dev_kek_uses_the_winners(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings.load(state_dir=tmp_path / "state")
    first = load_kek(settings)
    # The second process checked before the first one wrote: its exclusive create then fails.
    monkeypatch.setattr("jwtauth.lifecycle.managed.os.path.lexists", lambda _: False)
    assert load_kek(settings).kek_id == first.kek_id
