"""Secrets and keys from Vault/OpenBao KV v2, against a real `bao server -dev`."""

from __future__ import annotations

import http.server
import logging
import secrets
import threading
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from jwtauth.config import Settings
from jwtauth.errors import (
    ConfigurationError,
    InsecureKeyFileError,
    KeyConfigurationError,
    SecretsManagerError,
    SecurityWarning,
    WeakSecretError,
)
from jwtauth.keys.key import HMACKey, generate_key
from jwtauth.sources.loading import load_secret, load_signing_key, private_pem
from jwtauth.sources.remote import CachedSecret, remote_secret
from jwtauth.sources.transport import check_transport
from jwtauth.testing import FrozenClock
from tests.managers import Bao, running_bao

pytestmark = pytest.mark.usefixtures("clean_env")


def put(server: Bao, path: str, **fields: str) -> None:
    server.client().secrets.kv.v2.create_or_update_secret(path=path, secret=fields)


def fresh_path(value: str | None = None, server: Bao | None = None) -> str:
    path = f"jwtauth/{secrets.token_hex(6)}"
    if value is not None and server is not None:
        put(server, path, value=value)
    return path


def vault_settings(server: Bao, path: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "secret_source": "vault",
        "vault_url": server.url,
        "vault_token": server.token,
        "vault_path": path,
        "algorithm": "HS256",
        **overrides,
    }
    return Settings.load(**values)


def strong() -> str:
    return secrets.token_urlsafe(48)


def test_an_hmac_secret_loads_from_vault(bao: Bao) -> None:
    secret = strong()
    settings = vault_settings(bao, fresh_path(secret, bao))
    loaded = load_secret(settings.key_config())
    assert loaded is not None
    assert (loaded.source, loaded.value) == ("vault", secret.encode())
    key = load_signing_key(settings.key_config())
    assert isinstance(key, HMACKey)
    assert key.sign(b"a.b") == HMACKey(secret.encode(), "HS256").sign(b"a.b")


def test_a_named_field_with_a_trailing_newline_loads(bao: Bao) -> None:
    secret = strong()
    path = fresh_path()
    put(bao, path, jwt=secret + "\n", other="unused")
    loaded = load_secret(vault_settings(bao, path, vault_field="jwt").key_config())
    assert loaded is not None
    assert loaded.value == secret.encode()


def test_a_pem_private_key_loads_from_vault(bao: Bao) -> None:
    key = generate_key("ES256")
    path = fresh_path(private_pem(key).decode(), bao)
    loaded = load_signing_key(vault_settings(bao, path, algorithm="ES256").key_config())
    assert loaded.can_sign
    assert loaded.kid == key.kid


def test_a_public_key_in_vault_is_not_a_signing_key(bao: Bao) -> None:
    public = ec.generate_private_key(ec.SECP256R1()).public_key()
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    path = fresh_path(pem.decode(), bao)
    with pytest.raises(KeyConfigurationError, match="JWTAUTH_VAULT_PATH holds a public key"):
        load_signing_key(vault_settings(bao, path, algorithm="ES256").key_config())


def test_a_weak_secret_from_vault_is_refused_in_production(bao: Bao) -> None:
    weak = "changeme-changeme-changeme-changeme"
    path = fresh_path(weak, bao)
    with pytest.raises(WeakSecretError, match=r"JWTAUTH_VAULT_PATH: .*placeholder") as caught:
        load_signing_key(vault_settings(bao, path, env="production").key_config())
    assert weak not in str(caught.value)
    with pytest.warns(SecurityWarning, match="JWTAUTH_VAULT_PATH"):
        load_signing_key(vault_settings(bao, path).key_config())


def test_the_secret_is_served_from_cache_until_the_ttl_then_refreshed(bao: Bao) -> None:
    first, second = strong(), strong()
    path = fresh_path(first, bao)
    clock = FrozenClock(1000.0)
    cached = remote_secret(vault_settings(bao, path).vault_config(), ttl=60, clock=clock)
    assert cached.get() == first.encode()
    put(bao, path, value=second)
    metadata = bao.client().secrets.kv.v2.read_secret_metadata(path=path)
    assert metadata["data"]["current_version"] == 2  # Vault holds the new value ...
    clock.advance(59.9)
    assert cached.get() == first.encode()  # ... which the cache does not ask for yet
    clock.advance(0.1)
    assert cached.get() == second.encode()


def test_a_failed_refresh_keeps_the_cached_value_and_logs_no_secret(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    secret = strong()
    clock = FrozenClock(0.0)
    with running_bao(tmp_path) as server:
        settings = vault_settings(server, fresh_path(secret, server), secret_refresh=30)
        cached = remote_secret(settings.vault_config(), ttl=settings.secret_refresh, clock=clock)
        assert cached.get() == secret.encode()
    # The server is gone now.
    clock.advance(30)
    with caplog.at_level(logging.WARNING, logger="jwtauth.keys"):
        assert cached.get() == secret.encode()
    assert "refreshing the secret failed" in caplog.text
    assert "unreachable" in caplog.text
    assert secret not in caplog.text
    assert server.token not in caplog.text
    # The next attempt waits another TTL rather than hitting a dead server on every call.
    caplog.clear()
    clock.advance(29)
    assert cached.get() == secret.encode()
    assert caplog.text == ""


def secret_free(error: BaseException, *forbidden: str) -> bool:
    rendered = "".join(traceback.format_exception(error)) + repr(error)
    return not any(item in rendered for item in forbidden)


def test_a_wrong_token_is_a_clear_error_without_the_token(bao: Bao) -> None:
    secret = strong()
    wrong = "hvs." + secrets.token_urlsafe(24)
    settings = vault_settings(bao, fresh_path(secret, bao), vault_token=wrong)
    with pytest.raises(SecretsManagerError, match="permission denied") as caught:
        load_signing_key(settings.key_config())
    assert isinstance(caught.value, ConfigurationError)
    assert caught.value.code == "secrets_manager"
    assert secret_free(caught.value, wrong, secret, bao.token)


@pytest.mark.parametrize(
    ("field", "expected"), [("value", "nothing at that path"), ("missing", "no field 'missing'")]
)
def test_a_missing_path_or_field_is_a_clear_error(bao: Bao, field: str, expected: str) -> None:
    secret = strong()
    path = fresh_path(secret, bao) if field == "missing" else fresh_path()
    with pytest.raises(SecretsManagerError, match=expected) as caught:
        load_secret(vault_settings(bao, path, vault_field=field).key_config())
    assert secret_free(caught.value, secret, bao.token)


def test_the_token_can_come_from_a_private_file(bao: Bao, tmp_path: Path) -> None:
    secret = strong()
    token_file = tmp_path / "token"
    token_file.write_text(bao.token + "\n")
    token_file.chmod(0o600)
    path = fresh_path(secret, bao)
    settings = vault_settings(bao, path, vault_token=None, vault_token_file=token_file)
    assert load_signing_key(settings.key_config()).sign(b"x") == HMACKey(secret.encode()).sign(b"x")
    token_file.chmod(0o644)
    with pytest.raises(InsecureKeyFileError):
        load_signing_key(
            vault_settings(
                bao, path, vault_token=None, vault_token_file=token_file, env="production"
            ).key_config()
        )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"vault_token": None}, "JWTAUTH_VAULT_TOKEN or JWTAUTH_VAULT_TOKEN_FILE must be set"),
        ({"vault_token_file": Path("/nonexistent")}, "set only one of JWTAUTH_VAULT_TOKEN"),
        ({"vault_url": None}, "JWTAUTH_VAULT_URL must be set"),
        ({"vault_path": None}, "JWTAUTH_VAULT_PATH must be set"),
        ({"secret": "x" * 64}, "unset JWTAUTH_SECRET"),
        ({"vault_url": "ftp://127.0.0.1/"}, "must be an http"),
    ],
)
def test_incomplete_or_contradictory_settings_are_refused(
    bao: Bao, overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        load_signing_key(vault_settings(bao, "jwtauth/none", **overrides).key_config())


def test_plain_http_to_a_remote_vault_is_refused_in_production(bao: Bao) -> None:
    remote = "http://vault.example.com:8200"
    settings = vault_settings(bao, "jwtauth/none", vault_url=remote, env="production")
    with pytest.raises(ConfigurationError, match="JWTAUTH_VAULT_URL uses plain http"):
        load_signing_key(settings.key_config())
    with pytest.warns(SecurityWarning, match="plain http"):
        check_transport(vault_settings(bao, "x").strictness, "JWTAUTH_VAULT_URL", remote)
    for fine in ("https://vault.example.com", "http://127.0.0.1:8200", "http://[::1]:8200",
                 "http://localhost:8200"):  # fmt: skip
        check_transport(settings.strictness, "JWTAUTH_VAULT_URL", fine)  # no error, no warning


class _Redirector(http.server.BaseHTTPRequestHandler):
    followed: list[str | None]

    def do_GET(self) -> None:
        if self.path.startswith("/leak"):
            self.followed.append(self.headers.get("X-Vault-Token"))
            self.send_response(200)
        else:
            self.send_response(307)
            self.send_header("Location", "/leak")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def redirector() -> Iterator[tuple[str, list[str | None]]]:
    followed: list[str | None] = []
    handler = type("Handler", (_Redirector,), {"followed": followed})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", followed
    finally:
        server.shutdown()
        server.server_close()


def test_a_redirect_is_not_followed_with_the_token(
    bao: Bao, redirector: tuple[str, list[str | None]]
) -> None:
    url, followed = redirector
    with pytest.raises(
        SecretsManagerError, match=r"HTTP 307; redirects are not followed"
    ) as caught:
        load_secret(vault_settings(bao, "jwtauth/x", vault_url=url).key_config())
    assert followed == []
    assert secret_free(caught.value, bao.token)


def test_repr_of_the_cache_and_source_name_no_secret(bao: Bao) -> None:
    secret = strong()
    cached = remote_secret(vault_settings(bao, fresh_path(secret, bao)).vault_config(), ttl=300)
    assert isinstance(cached, CachedSecret)
    cached.get()
    assert secret not in repr(cached)
    assert bao.token not in repr(cached)
    assert repr(cached) == "CachedSecret(source='vault', ttl=300)"
