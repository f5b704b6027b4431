"""TOTP helpers at fixed times: RFC 6238 vectors, the drift window, the URI, recovery codes."""

from __future__ import annotations

import base64
import hashlib
import re
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest

from jwtauth.auth.totp import (
    DRIFT_STEPS,
    RECOVERY_CODE_COUNT,
    hash_recovery_code,
    issuer_name,
    new_recovery_codes,
    new_secret,
    provisioning_uri,
    verify_code,
)

# RFC 6238 appendix B: the SHA-1 seed is the ASCII "12345678901234567890".
RFC_SECRET = base64.b32encode(b"12345678901234567890").decode()
NOW = 1_700_000_000.0  # a fixed clock; its step is NOW // 30


@pytest.mark.parametrize(
    ("when", "eight_digits"),
    [
        (59, "94287082"),
        (1111111109, "07081804"),
        (1111111111, "14050471"),
        (1234567890, "89005924"),
        (2000000000, "69279037"),
        (20000000000, "65353130"),
    ],
)
def test_rfc_6238_vectors_verify_at_their_step(when: int, eight_digits: str) -> None:
    # Six-digit codes are the low six digits of the RFC's eight (RFC 4226 section 5.3).
    assert verify_code(RFC_SECRET, eight_digits[-6:], when) == when // 30


def test_a_code_is_accepted_one_step_either_side_and_no_further() -> None:
    secret = new_secret()
    totp = pyotp.TOTP(secret)
    step = int(NOW) // 30
    for offset in range(-DRIFT_STEPS, DRIFT_STEPS + 1):
        assert verify_code(secret, totp.generate_otp(step + offset), NOW) == step + offset
    assert verify_code(secret, totp.generate_otp(step - 2), NOW) is None
    assert verify_code(secret, totp.generate_otp(step + 2), NOW) is None


def test_a_wrong_or_malformed_code_is_refused() -> None:
    secret = new_secret()
    good = pyotp.TOTP(secret).at(NOW)
    wrong = f"{(int(good) + 1) % 1_000_000:06d}"
    fullwidth = "".join(chr(ord(c) + 0xFEE0) for c in good)  # str.isdigit() says yes
    for code in (wrong, good[:5], good + "0", f" {good}", fullwidth, "", "abcdef"):
        assert verify_code(secret, code, NOW) is None, code
    assert verify_code(secret, good, NOW) == int(NOW) // 30


def test_secrets_are_160_random_bits_in_base32() -> None:
    secrets = {new_secret() for _ in range(50)}
    assert len(secrets) == 50
    for secret in secrets:
        assert re.fullmatch(r"[A-Z2-7]{32}", secret)
        assert len(base64.b32decode(secret)) == 20


def test_the_uri_is_what_authenticator_apps_scan() -> None:
    secret = new_secret()
    uri = provisioning_uri(secret, "alice@example.com", issuer_name("https://auth.example.com"))
    parts = urlsplit(uri)
    assert (parts.scheme, parts.netloc, parts.path) == (
        "otpauth",
        "totp",
        "/auth.example.com:alice%40example.com",
    )
    assert parse_qs(parts.query) == {"secret": [secret], "issuer": ["auth.example.com"]}
    parsed = pyotp.parse_uri(uri)
    assert isinstance(parsed, pyotp.TOTP)
    assert (parsed.digits, parsed.interval, parsed.digest().name) == (6, 30, "sha1")
    assert parsed.at(NOW) == pyotp.TOTP(secret).at(NOW)


@pytest.mark.parametrize(
    ("issuer", "name"),
    [
        ("https://auth.example.com", "auth.example.com"),
        ("http://127.0.0.1:8000", "127.0.0.1"),
        ("https://Auth.Example.com/tenant/1", "auth.example.com"),
        ("jwtauth", "jwtauth"),
    ],
)
def test_the_issuer_shown_is_the_host(issuer: str, name: str) -> None:
    assert issuer_name(issuer) == name


def test_recovery_codes_are_ten_distinct_80_bit_codes() -> None:
    codes = new_recovery_codes()
    assert len(codes) == RECOVERY_CODE_COUNT == len(set(codes))
    for code in codes:
        assert re.fullmatch(r"[a-z2-7]{4}(-[a-z2-7]{4}){3}", code)
        raw = base64.b32decode(code.replace("-", "").upper())
        assert len(raw) == 10  # 80 bits, nothing padded away
    # Not a fixed or repeating source: a thousand codes, no repeat.
    assert len({c for _ in range(100) for c in new_recovery_codes()}) == 1000


def test_recovery_codes_hash_as_typed_without_case_or_separators() -> None:
    code = "abcd-efgh-ijkl-mnop"
    expected = hashlib.sha256(b"abcdefghijklmnop").digest()
    for typed in (code, code.upper(), "abcd efgh ijkl mnop", "abcdefghijklmnop", f" {code}\n"):
        assert hash_recovery_code(typed) == expected
    assert hash_recovery_code("abcd-efgh-ijkl-mnoq") != expected
