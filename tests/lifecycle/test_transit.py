"""Signing through Vault/OpenBao Transit, against a real `bao server -dev`."""

from __future__ import annotations

import base64
import secrets
import traceback
from pathlib import Path
from typing import Any

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from hvac import exceptions as hvac_errors  # type: ignore[import-untyped]

from jwtauth.config import Settings
from jwtauth.errors import (
    ConfigurationError,
    KeyConfigurationError,
    SecretsManagerError,
    SecurityWarning,
    SigningUnavailableError,
    UnknownKeyError,
)
from jwtauth.keys.jwk import thumbprint
from jwtauth.keys.key import ECKey
from jwtauth.keys.keyring import KeyRing
from jwtauth.lifecycle.transit import TransitKey, load_transit_keyring, transit_keyring
from jwtauth.manager import TokenManager
from jwtauth.sources.loading import load_keyring, private_pem
from tests.managers import Bao, running_bao

pytestmark = pytest.mark.usefixtures("clean_env")

ISSUER = "https://auth.test"
AUDIENCE = "api"
ALGORITHMS = {"ecdsa-p256": "ES256", "ed25519": "EdDSA"}


def new_key(server: Bao, key_type: str, **options: Any) -> str:
    name = f"jwt-{secrets.token_hex(5)}"
    server.client().secrets.transit.create_key(name=name, key_type=key_type, **options)
    return name


def transit_settings(server: Bao, name: str, **overrides: Any) -> Settings:
    values = {"signer": "transit", "vault_url": server.url, "vault_token": server.token,
              "transit_key_name": name, **overrides}  # fmt: skip
    return Settings.load(**values)


def manager(keyring: KeyRing) -> TokenManager:
    return TokenManager(keyring, issuer=ISSUER, audience=AUDIENCE)


def pyjwt_decode(token: str, keyring: KeyRing) -> dict[str, Any]:
    """Verify with PyJWT, finding the key in the JWKS the keyring publishes."""
    jwks = pyjwt.PyJWKSet.from_dict(keyring.jwks())
    kid = pyjwt.get_unverified_header(token)["kid"]
    key = next(k for k in jwks.keys if k.key_id == kid)
    claims: dict[str, Any] = pyjwt.decode(
        token, key, algorithms=[key.algorithm_name], audience=AUDIENCE, issuer=ISSUER
    )
    return claims


@pytest.fixture(params=list(ALGORITHMS))
def key_type(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_transit_tokens_verify_with_pyjwt_through_the_jwks(bao: Bao, key_type: str) -> None:
    keyring = transit_keyring(transit_settings(bao, new_key(bao, key_type)))
    signing = keyring.signing_key
    assert isinstance(signing, TransitKey)
    assert signing.alg == ALGORITHMS[key_type]
    tokens = manager(keyring)
    token = tokens.issue("alice", claims={"scope": "read"})
    assert pyjwt_decode(token, keyring)["sub"] == "alice"
    assert tokens.verify(token)["scope"] == "read"
    # The `kid` is the RFC 7638 thumbprint of the version's public key.
    (jwk,) = keyring.jwks()["keys"]
    assert jwk["kid"] == signing.kid == thumbprint(jwk)


def test_a_rotation_adds_a_kid_and_old_tokens_keep_verifying(bao: Bao, key_type: str) -> None:
    name = new_key(bao, key_type)
    settings = transit_settings(bao, name)
    tokens = manager(transit_keyring(settings))
    old_kid = tokens.keyring.signing_key.kid
    old = tokens.issue("alice")
    bao.client().secrets.transit.rotate_key(name=name)
    tokens.keyring = transit_keyring(settings)
    new = tokens.issue("bob")
    signing = tokens.keyring.signing_key
    assert isinstance(signing, TransitKey)
    assert signing.version == 2
    assert {jwk["kid"] for jwk in tokens.keyring.jwks()["keys"]} == {old_kid, signing.kid}
    assert signing.kid != old_kid
    assert pyjwt.get_unverified_header(new)["kid"] == signing.kid
    assert tokens.verify(old)["sub"] == "alice"
    assert tokens.verify(new)["sub"] == "bob"
    assert pyjwt_decode(old, tokens.keyring)["sub"] == "alice"
    assert pyjwt_decode(new, tokens.keyring)["sub"] == "bob"


def test_raising_min_decryption_version_retires_old_kids(bao: Bao) -> None:
    name = new_key(bao, "ecdsa-p256")
    settings = transit_settings(bao, name)
    tokens = manager(transit_keyring(settings))
    old = tokens.issue("alice")
    client = bao.client()
    client.secrets.transit.rotate_key(name=name)
    client.secrets.transit.update_key_configuration(name=name, min_decryption_version=2)
    tokens.keyring = transit_keyring(settings)
    assert len(tokens.keyring) == 1
    with pytest.raises(UnknownKeyError):
        tokens.verify(old)


def test_the_private_key_never_leaves_vault(bao: Bao, key_type: str) -> None:
    name = new_key(bao, key_type)
    keyring = transit_keyring(transit_settings(bao, name))
    client = bao.client()
    with pytest.raises(hvac_errors.InvalidRequest, match="not exportable"):
        client.secrets.transit.export_key(name=name, key_type="signing-key")
    data = client.secrets.transit.read_key(name=name)["data"]
    assert data["exportable"] is False
    assert all(set(entry) <= {"name", "public_key", "creation_time", "certificate_chain"}
               for entry in data["keys"].values())  # fmt: skip
    with pytest.raises(KeyConfigurationError):
        private_pem(keyring.signing_key)  # nothing local to write out


def test_an_exportable_key_is_refused_in_production(bao: Bao) -> None:
    name = new_key(bao, "ed25519", exportable=True)
    with pytest.raises(KeyConfigurationError, match="exportable"):
        transit_keyring(transit_settings(bao, name, env="production"))
    with pytest.warns(SecurityWarning, match="exportable"):
        transit_keyring(transit_settings(bao, name))
    with pytest.raises(KeyConfigurationError, match="exportable"):
        load_transit_keyring(bao.client(), name)  # without settings: always refused


def test_a_replaced_transit_key_is_detected_before_a_token_is_issued(bao: Bao) -> None:
    name = new_key(bao, "ecdsa-p256")
    tokens = manager(transit_keyring(transit_settings(bao, name)))
    client = bao.client()
    client.secrets.transit.update_key_configuration(name=name, deletion_allowed=True)
    client.secrets.transit.delete_key(name=name)
    client.secrets.transit.create_key(name=name, key_type="ecdsa-p256")  # version 1 again
    with pytest.raises(SigningUnavailableError, match="does not verify"):
        tokens.issue("alice")


def test_a_rotation_by_someone_else_does_not_change_the_signing_version(bao: Bao) -> None:
    name = new_key(bao, "ed25519")
    tokens = manager(transit_keyring(transit_settings(bao, name)))
    bao.client().secrets.transit.rotate_key(name=name)
    token = tokens.issue("alice")  # still version 1, under version 1's kid
    assert tokens.verify(token)["sub"] == "alice"


def test_vault_going_away_makes_issuance_fail_cleanly(tmp_path: Path) -> None:
    with running_bao(tmp_path) as server:
        name = new_key(server, "ecdsa-p256")
        tokens = manager(transit_keyring(transit_settings(server, name)))
        token = tokens.issue("alice")
    with pytest.raises(SigningUnavailableError, match="unreachable") as caught:
        tokens.issue("bob")
    assert server.token not in "".join(traceback.format_exception(caught.value))
    assert tokens.verify(token)["sub"] == "alice"  # verification never needed Vault


def test_a_wrong_token_is_a_clear_error_without_the_token(bao: Bao) -> None:
    wrong = "s." + secrets.token_urlsafe(24)
    name = new_key(bao, "ed25519")
    with pytest.raises(SecretsManagerError, match="permission denied") as caught:
        transit_keyring(transit_settings(bao, name, vault_token=wrong))
    rendered = "".join(traceback.format_exception(caught.value)) + repr(caught.value)
    assert wrong not in rendered
    assert bao.token not in rendered


def test_a_missing_key_or_an_unsigning_type_is_refused(bao: Bao) -> None:
    with pytest.raises(SecretsManagerError, match="nothing at that path"):
        transit_keyring(transit_settings(bao, "no-such-key"))
    name = new_key(bao, "aes256-gcm96")
    with pytest.raises(KeyConfigurationError, match="'aes256-gcm96'; JWS signing needs"):
        transit_keyring(transit_settings(bao, name))


def test_an_explicit_algorithm_must_match_the_transit_key(bao: Bao) -> None:
    name = new_key(bao, "ed25519")
    with pytest.raises(ConfigurationError, match="JWTAUTH_ALGORITHM is ES256 but"):
        transit_keyring(transit_settings(bao, name, algorithm="ES256"))
    assert (
        transit_keyring(transit_settings(bao, name, algorithm="EdDSA")).signing_key.alg == "EdDSA"
    )


def test_the_static_loader_refuses_to_sign_locally_when_transit_is_configured(bao: Bao) -> None:
    settings = transit_settings(bao, new_key(bao, "ed25519"))
    with pytest.raises(ConfigurationError, match="transit_keyring"):
        load_keyring(settings.key_config())
    with pytest.raises(ConfigurationError, match="JWTAUTH_TRANSIT_KEY_NAME must be set"):
        transit_keyring(transit_settings(bao, ""))


def test_der_and_jws_marshaled_signatures_decode_to_r_s() -> None:
    private = ec.generate_private_key(ec.SECP256R1())
    public = ECKey(private.public_key(), "ES256")
    key = TransitKey(None, name="k", version=3, public=public)
    der = private.sign(b"input", ec.ECDSA(hashes.SHA256()))
    raw = key.decode_signature("vault:v3:" + base64.b64encode(der).decode())
    assert len(raw) == 64
    assert public.verify(b"input", raw)
    jws = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    assert key.decode_signature(f"vault:v3:{jws}") == raw
    # Raw r || s that happens to begin like a DER SEQUENCE is left alone.
    looks_like_der = b"\x30" + secrets.token_bytes(63)
    encoded = base64.urlsafe_b64encode(looks_like_der).decode().rstrip("=")
    assert key.decode_signature(f"vault:v3:{encoded}") == looks_like_der
    with pytest.raises(ValueError, match="pinned key version"):
        key.decode_signature(f"vault:v2:{jws}")
    assert "k" in repr(key)
    assert "version=3" in repr(key)


# The auth server signing through Transit -------------------------------------------------------


@pytest.mark.anyio
async def test_the_server_signs_through_transit_off_the_event_loop(
    bao: Bao, tmp_path: Path
) -> None:
    import threading

    from tests.server.support import Api, serve

    settings = transit_settings(
        bao, new_key(bao, "ecdsa-p256"), state_dir=tmp_path / "state", rate_limits=False
    )
    loop_thread = threading.get_ident()
    signing_threads: list[int] = []
    original = TransitKey.sign

    def sign(self: TransitKey, signing_input: bytes) -> bytes:
        signing_threads.append(threading.get_ident())
        return original(self, signing_input)

    TransitKey.sign = sign  # type: ignore[method-assign]
    try:
        async with serve(settings) as client:
            api = Api(client)
            pair = await api.register_and_login()
            me = await api.me(pair["access_token"])
            assert me.status_code == 200, me.text
            jwks = (await client.get("/.well-known/jwks.json")).json()
            refreshed = await api.refresh(pair["refresh_token"])
            assert refreshed.status_code == 200
    finally:
        TransitKey.sign = original  # type: ignore[method-assign]
    # Off the loop: Transit is an HTTP round trip, and the loop serves everyone else meanwhile.
    assert len(signing_threads) == 2
    assert loop_thread not in signing_threads
    header = pyjwt.get_unverified_header(pair["access_token"])
    key = next(k for k in pyjwt.PyJWKSet.from_dict(jwks).keys if k.key_id == header["kid"])
    claims = pyjwt.decode(
        pair["access_token"],
        key,
        algorithms=["ES256"],
        audience="jwtauth",
        options={"verify_iss": False},
    )
    assert claims["sub"] == me.json()["id"]
