"""Secrets and keys from AWS Secrets Manager, against a real moto server."""

from __future__ import annotations

import logging
import secrets
import traceback
from pathlib import Path
from typing import Any

import pytest

from jwtauth.config import Settings
from jwtauth.errors import (
    ConfigurationError,
    SecretsManagerError,
    SecurityWarning,
    WeakSecretError,
)
from jwtauth.keys.key import HMACKey, generate_key
from jwtauth.sources.loading import load_secret, load_signing_key, private_pem
from jwtauth.sources.remote import remote_secret
from jwtauth.testing import FrozenClock
from tests.managers import Moto, running_moto

pytestmark = pytest.mark.usefixtures("clean_env", "aws_credentials")


def create(server: Moto, value: str | bytes) -> str:
    name = f"jwtauth/{secrets.token_hex(6)}"
    field = "SecretBinary" if isinstance(value, bytes) else "SecretString"
    server.client().create_secret(Name=name, **{field: value})
    return name


def aws_settings(server: Moto, secret_id: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "secret_source": "aws",
        "aws_secret_id": secret_id,
        "aws_region": "us-east-1",
        "aws_endpoint_url": server.url,
        "algorithm": "HS256",
        **overrides,
    }
    return Settings.load(**values)


def strong() -> str:
    return secrets.token_urlsafe(48)


def test_an_hmac_secret_loads_from_secrets_manager(moto: Moto) -> None:
    secret = strong()
    settings = aws_settings(moto, create(moto, secret))
    loaded = load_secret(settings.key_config())
    assert loaded is not None
    assert (loaded.source, loaded.value) == ("aws", secret.encode())
    assert load_signing_key(settings.key_config()).sign(b"a.b") == HMACKey(secret.encode()).sign(
        b"a.b"
    )


def test_a_binary_secret_loads_byte_for_byte(moto: Moto) -> None:
    secret = secrets.token_bytes(64) + b"\n"  # binary: the trailing 0x0a is part of it
    loaded = load_secret(aws_settings(moto, create(moto, secret)).key_config())
    assert loaded is not None
    assert loaded.value == secret


def test_a_pem_private_key_loads_from_secrets_manager(moto: Moto) -> None:
    key = generate_key("EdDSA")
    settings = aws_settings(moto, create(moto, private_pem(key).decode()), algorithm="EdDSA")
    loaded = load_signing_key(settings.key_config())
    assert loaded.can_sign
    assert loaded.kid == key.kid


def test_a_weak_secret_is_refused_in_production(moto: Moto) -> None:
    weak = "a" * 64
    secret_id = create(moto, weak)
    with pytest.raises(WeakSecretError, match=r"JWTAUTH_AWS_SECRET_ID: .*repeated") as caught:
        load_signing_key(aws_settings(moto, secret_id, env="production").key_config())
    assert weak not in str(caught.value)
    with pytest.warns(SecurityWarning, match="JWTAUTH_AWS_SECRET_ID"):
        load_signing_key(aws_settings(moto, secret_id).key_config())


def test_the_secret_is_cached_until_the_ttl_then_refreshed(moto: Moto) -> None:
    first, second = strong(), strong()
    secret_id = create(moto, first)
    clock = FrozenClock(0.0)
    cached = remote_secret(aws_settings(moto, secret_id).aws_config(), ttl=120, clock=clock)
    assert cached.get() == first.encode()
    moto.client().put_secret_value(SecretId=secret_id, SecretString=second)
    assert moto.client().get_secret_value(SecretId=secret_id)["SecretString"] == second
    clock.advance(119)
    assert cached.get() == first.encode()
    clock.advance(1)
    assert cached.get() == second.encode()


def test_a_failed_refresh_keeps_the_cached_value_and_logs_no_secret(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    secret = strong()
    clock = FrozenClock(0.0)
    with running_moto(tmp_path) as server:
        cached = remote_secret(
            aws_settings(server, create(server, secret)).aws_config(), ttl=300, clock=clock
        )
        assert cached.get() == secret.encode()
    clock.advance(300)
    with caplog.at_level(logging.WARNING, logger="jwtauth.keys"):
        assert cached.get() == secret.encode()
    assert "aws: refreshing the secret failed" in caplog.text
    assert "EndpointConnectionError" in caplog.text
    assert secret not in caplog.text


def test_a_missing_secret_is_a_clear_error_without_the_credentials(moto: Moto) -> None:
    with pytest.raises(SecretsManagerError, match=r"refused \(ResourceNotFoundException\)") as c:
        load_signing_key(aws_settings(moto, "jwtauth/does-not-exist").key_config())
    assert isinstance(c.value, ConfigurationError)
    rendered = "".join(traceback.format_exception(c.value))
    assert "testing" not in rendered  # the (fake) access key and secret key


def test_a_first_load_from_an_unreachable_endpoint_is_a_clear_error(tmp_path: Path) -> None:
    with running_moto(tmp_path) as server:
        settings = aws_settings(server, "jwtauth/x")
    with pytest.raises(SecretsManagerError, match="unreachable or no credentials"):
        load_secret(settings.key_config())


def test_no_region_is_a_configuration_error(moto: Moto, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    with pytest.raises(ConfigurationError, match="JWTAUTH_AWS_REGION"):
        load_secret(aws_settings(moto, "jwtauth/x", aws_region=None).key_config())


def test_no_secret_id_is_a_configuration_error(moto: Moto) -> None:
    with pytest.raises(ConfigurationError, match="JWTAUTH_AWS_SECRET_ID must be set"):
        load_secret(aws_settings(moto, "").key_config())


def test_plain_http_to_a_remote_endpoint_is_refused_in_production(moto: Moto) -> None:
    settings = aws_settings(
        moto, "x", aws_endpoint_url="http://secretsmanager.example.com", env="production"
    )
    with pytest.raises(ConfigurationError, match="JWTAUTH_AWS_ENDPOINT_URL uses plain http"):
        load_secret(settings.key_config())
