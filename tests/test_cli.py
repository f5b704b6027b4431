"""The `jwtauth` command line, through typer's runner and once as the installed console script."""

from __future__ import annotations

import json
import os
import re
import secrets
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from jwtauth.cli import app
from jwtauth.keys.algorithms import Algorithm
from jwtauth.keys.key import generate_key, key_from_jwk, key_from_pem
from jwtauth.sources.loading import private_pem
from jwtauth.sources.strength import assess_secret
from jwtauth.stores.sql_database import upgrade

BASE64URL_LINE = re.compile(r"[A-Za-z0-9_-]{64,}")


pytestmark = pytest.mark.usefixtures("clean_env")


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def one_line_error(result: Result) -> str:
    """The single `jwtauth: ...` line a failing command writes to stderr."""
    assert result.exit_code == 1, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("jwtauth: ")
    return lines[0]


# --- secret generate ------------------------------------------------------------------------


def test_secret_generate_prints_one_strong_base64url_line() -> None:
    result = run("secret", "generate")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    assert BASE64URL_LINE.fullmatch(lines[0])
    assert assess_secret(lines[0].encode()).ok


def test_secret_generate_differs_between_runs() -> None:
    first, second = run("secret", "generate"), run("secret", "generate")
    assert first.exit_code == second.exit_code == 0
    assert first.stdout != second.stdout


@pytest.mark.parametrize(("nbytes", "length"), [(32, 43), (64, 86)])
def test_secret_generate_bytes_sets_the_length(nbytes: int, length: int) -> None:
    result = run("secret", "generate", "--bytes", str(nbytes))
    assert result.exit_code == 0, result.output
    assert len(result.stdout.strip()) == length
    assert assess_secret(result.stdout.strip().encode()).ok


def test_secret_generate_never_prints_a_secret_the_key_checks_refuse() -> None:
    # 256 random bytes are 342 base64url characters, the length of a 2048-bit JWK `n`: about
    # 1 in 50 draws has a modulus's shape, so 240 runs without the redraw fail 99 times in 100.
    for _ in range(240):
        result = run("secret", "generate", "--bytes", "256")
        assert result.exit_code == 0, result.output
        assert assess_secret(result.stdout.strip().encode()).ok


@pytest.mark.parametrize("nbytes", ["16", "31", "0", "-48"])
def test_secret_generate_refuses_short_secrets(nbytes: str) -> None:
    result = run("secret", "generate", "--bytes", nbytes)
    assert "--bytes must be at least 32" in one_line_error(result)
    assert result.stdout == ""


def test_secret_generate_out_writes_private_file_without_printing(tmp_path: Path) -> None:
    out = tmp_path / "jwt.secret"
    result = run("secret", "generate", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert mode_of(out) == 0o600
    value = out.read_text(encoding="ascii").strip()
    assert BASE64URL_LINE.fullmatch(value)
    assert assess_secret(value.encode()).ok
    assert value not in result.output
    assert f"JWTAUTH_SECRET_FILE={out}" in result.stdout


def test_secret_generate_out_refuses_to_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "jwt.secret"
    out.write_text("keep me\n", encoding="ascii")
    result = run("secret", "generate", "--out", str(out))
    assert "refusing to overwrite" in one_line_error(result)
    assert out.read_text(encoding="ascii") == "keep me\n"


def test_generated_secret_file_passes_secret_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "jwt.secret"
    assert run("secret", "generate", "--out", str(out)).exit_code == 0
    monkeypatch.setenv("JWTAUTH_ENV", "production")
    monkeypatch.setenv("JWTAUTH_ALGORITHM", "HS256")
    monkeypatch.setenv("JWTAUTH_SECRET_FILE", str(out))
    result = run("secret", "check")
    assert result.exit_code == 0, result.output
    assert "source: file" in result.stdout


# --- secret check ---------------------------------------------------------------------------


@pytest.mark.parametrize("env", ["development", "production"])
def test_secret_check_strong_secret(monkeypatch: pytest.MonkeyPatch, env: str) -> None:
    secret = secrets.token_urlsafe(48)
    monkeypatch.setenv("JWTAUTH_ENV", env)
    monkeypatch.setenv("JWTAUTH_SECRET", secret)
    result = run("secret", "check")
    assert result.exit_code == 0, result.output
    assert "ok: the secret is strong" in result.stdout
    assert "source: env" in result.stdout
    assert secret not in result.output


@pytest.mark.parametrize("env", ["development", "production"])
@pytest.mark.parametrize("secret", ["changeme", "your-256-bit-secret", "ab" * 32])
def test_secret_check_weak_secret(monkeypatch: pytest.MonkeyPatch, env: str, secret: str) -> None:
    monkeypatch.setenv("JWTAUTH_ENV", env)
    monkeypatch.setenv("JWTAUTH_SECRET", secret)
    result = run("secret", "check")
    assert "weak secret" in one_line_error(result)
    assert secret not in result.output


def test_secret_check_without_secret() -> None:
    result = run("secret", "check")
    assert "no secret configured" in one_line_error(result)


def test_secret_check_reports_dotenv_source(tmp_path: Path) -> None:
    secret = secrets.token_urlsafe(48)
    (tmp_path / ".env").write_text(f"JWTAUTH_SECRET={secret}\n", encoding="utf-8")
    result = run("secret", "check")
    assert result.exit_code == 0, result.output
    assert "source: .env" in result.stdout
    assert secret not in result.output


def test_secret_check_refuses_dotenv_in_production(tmp_path: Path) -> None:
    secret = secrets.token_urlsafe(48)
    (tmp_path / ".env").write_text(
        f"JWTAUTH_ENV=production\nJWTAUTH_SECRET={secret}\n", encoding="utf-8"
    )
    result = run("secret", "check")
    assert ".env" in one_line_error(result)
    assert secret not in result.output


def test_secret_check_refuses_accessible_file_in_production(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = secrets.token_urlsafe(48)
    path = tmp_path / "jwt.secret"
    path.write_text(secret, encoding="ascii")
    path.chmod(0o644)
    monkeypatch.setenv("JWTAUTH_ENV", "production")
    monkeypatch.setenv("JWTAUTH_SECRET_FILE", str(path))
    result = run("secret", "check")
    assert "chmod 600" in one_line_error(result)
    assert secret not in result.output


def test_secret_check_reports_invalid_setting_without_input(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("JWTAUTH_ACCESS_TTL", "zq7-bogus")
    result = run("secret", "check")
    line = one_line_error(result)
    assert "JWTAUTH_ACCESS_TTL" in line
    assert "zq7-bogus" not in result.output


# --- keys generate --------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["ES256", "ES384", "EdDSA"])
def test_keys_generate_writes_private_pem_and_prints_public_jwk(tmp_path: Path, alg: str) -> None:
    out = tmp_path / "signing.pem"
    result = run("keys", "generate", "--alg", alg, "--out", str(out))
    assert result.exit_code == 0, result.output
    assert mode_of(out) == 0o600
    pem = out.read_bytes()
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    private = key_from_pem(pem, alg)
    assert private.can_sign

    jwk = json.loads(result.stdout)
    assert "d" not in jwk
    assert jwk["alg"] == alg
    assert jwk["kid"] == private.kid
    assert jwk["use"] == "sig"
    public = key_from_jwk(jwk)
    assert not public.can_sign
    assert public.verify(b"payload", private.sign(b"payload"))
    assert "PRIVATE KEY" not in result.output


def test_keys_generate_uses_given_kid(tmp_path: Path) -> None:
    out = tmp_path / "k.pem"
    result = run("keys", "generate", "--alg", "ES256", "--out", str(out), "--kid", "2025-01")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["kid"] == "2025-01"


def test_keys_generate_default_path_in_working_directory(tmp_path: Path) -> None:
    result = run("keys", "generate", "--alg", "ES256")
    assert result.exit_code == 0, result.output
    kid = json.loads(result.stdout)["kid"]
    path = tmp_path / f"jwtauth-ES256-{kid[:12]}.pem"
    assert mode_of(path) == 0o600
    assert key_from_pem(path.read_bytes(), "ES256").kid == kid


@pytest.mark.parametrize("alg", ["HS256", "HS512"])
def test_keys_generate_refuses_hmac(tmp_path: Path, alg: str) -> None:
    out = tmp_path / "k.pem"
    result = run("keys", "generate", "--alg", alg, "--out", str(out))
    assert "jwtauth secret generate" in one_line_error(result)
    assert not out.exists()


def test_keys_generate_refuses_unknown_algorithm(tmp_path: Path) -> None:
    result = run("keys", "generate", "--alg", "none", "--out", str(tmp_path / "k.pem"))
    assert result.exit_code == 2
    assert not (tmp_path / "k.pem").exists()


def test_keys_generate_refuses_to_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "k.pem"
    out.write_bytes(b"existing")
    result = run("keys", "generate", "--alg", "ES256", "--out", str(out))
    assert "refusing to overwrite" in one_line_error(result)
    assert out.read_bytes() == b"existing"
    assert result.stdout == ""


# --- config check ---------------------------------------------------------------------------


def test_config_check_passes_in_development(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = tmp_path / "state"
    monkeypatch.setenv("JWTAUTH_STATE_DIR", str(state))
    result = run("config", "check")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("ok: development mode, ES256 signing key")
    assert mode_of(state / "signing-key-ES256.pem") == 0o600


def write_key(path: Path, alg: Algorithm) -> str:
    key = generate_key(alg)
    path.write_bytes(private_pem(key))
    path.chmod(0o600)
    return key.kid


def migrated_database(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Production serves only a database `jwtauth db upgrade` brought to the current schema."""
    url = f"sqlite+aiosqlite:///{path}"
    upgrade(url)
    monkeypatch.setenv("JWTAUTH_DATABASE_URL", url)


def test_config_check_passes_in_production_with_key_and_issuer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kid = write_key(tmp_path / "k.pem", Algorithm.ES256)
    migrated_database(tmp_path / "jwtauth.db", monkeypatch)
    monkeypatch.setenv("JWTAUTH_ENV", "production")
    monkeypatch.setenv("JWTAUTH_PRIVATE_KEY_FILE", str(tmp_path / "k.pem"))
    monkeypatch.setenv("JWTAUTH_ISSUER", "https://auth.example.com")
    result = run("config", "check")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"ok: production mode, ES256 signing key {kid!r}"


def test_config_check_fails_in_production_without_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JWTAUTH_ENV", "production")
    monkeypatch.setenv("JWTAUTH_ISSUER", "https://auth.example.com")
    result = run("config", "check")
    assert "JWTAUTH_PRIVATE_KEY_FILE must be set in production" in one_line_error(result)
    assert not Path(".jwtauth").exists()


def test_config_check_fails_in_production_without_issuer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_key(tmp_path / "k.pem", Algorithm.ES256)
    monkeypatch.setenv("JWTAUTH_ENV", "production")
    monkeypatch.setenv("JWTAUTH_PRIVATE_KEY_FILE", str(tmp_path / "k.pem"))
    result = run("config", "check")
    assert "JWTAUTH_ISSUER must be set in production" in one_line_error(result)


def test_config_check_fails_in_production_with_a_plain_http_issuer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_key(tmp_path / "k.pem", Algorithm.ES256)
    migrated_database(tmp_path / "jwtauth.db", monkeypatch)
    monkeypatch.setenv("JWTAUTH_ENV", "production")
    monkeypatch.setenv("JWTAUTH_PRIVATE_KEY_FILE", str(tmp_path / "k.pem"))
    monkeypatch.setenv("JWTAUTH_ISSUER", "http://auth.example.com")
    assert "must be an https:// URL" in one_line_error(run("config", "check"))
    monkeypatch.setenv("JWTAUTH_HTTPS", "off")  # TLS ends where the server cannot see it
    assert run("config", "check").exit_code == 0


def test_config_check_fails_in_production_with_neither(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JWTAUTH_ENV", "production")
    line = one_line_error(run("config", "check"))
    assert "must be set in production" in line


def test_config_check_refuses_weak_secret_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JWTAUTH_ENV", "production")
    monkeypatch.setenv("JWTAUTH_ISSUER", "https://auth.example.com")
    monkeypatch.setenv("JWTAUTH_ALGORITHM", "HS256")
    monkeypatch.setenv("JWTAUTH_SECRET", "changeme-changeme-changeme-changeme")
    result = run("config", "check")
    assert "JWTAUTH_SECRET" in one_line_error(result)
    assert "changeme-changeme" not in result.output


def test_config_check_refuses_missing_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JWTAUTH_CONFIG", str(tmp_path / "missing.toml"))
    assert "JWTAUTH_CONFIG" in one_line_error(run("config", "check"))


# --- the installed console script -----------------------------------------------------------


def _run_process(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - a fixed argv, no shell
        argv, capture_output=True, text=True, cwd=cwd, env=dict(os.environ), timeout=60, check=False
    )


def test_console_script_generates_a_secret(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "jwtauth"
    assert script.is_file(), "the `jwtauth` console script is not installed in this environment"
    completed = _run_process([str(script), "secret", "generate"], tmp_path)
    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.splitlines()
    assert len(lines) == 1
    assert BASE64URL_LINE.fullmatch(lines[0])


def test_module_entry_point_shows_help(tmp_path: Path) -> None:
    completed = _run_process([sys.executable, "-m", "jwtauth.cli", "--help"], tmp_path)
    assert completed.returncode == 0, completed.stderr
    for command in ("secret", "keys", "config"):
        assert command in completed.stdout
