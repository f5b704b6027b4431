"""The curated public API: what `import jwtauth` offers, and nothing by accident."""

from __future__ import annotations

import importlib
import pkgutil

import jwtauth
from jwtauth.errors import JWTAuthError

EXPECTED = {
    "ACCESS", "JWS", "Algorithm", "AlgorithmError", "AudienceError", "BadSignatureError",
    "ClaimError", "Claims", "ClaimsPolicy", "Clock", "ConfigurationError", "ECKey", "EdDSAKey",
    "ExpiredTokenError", "ForbiddenHeaderError", "HMACKey", "ImmatureTokenError",
    "InsecureKeyFileError", "IssuerError", "JWTAuthError", "Key", "KeyConfigurationError",
    "KeyRing", "MalformedTokenError", "MissingClaimError", "PayloadFactory", "RSAKey",
    "RedactingFilter", "RevocationList", "RevocationView", "RevokedTokenError",
    "SecurityWarning", "TokenError", "TokenManager", "TokenType", "TokenTypeError",
    "UnknownKeyError", "WeakSecretError", "generate_key", "install_redaction", "key_from_pem",
}  # fmt: skip


def test_exported_names_are_exactly_the_curated_set() -> None:
    assert set(jwtauth.__all__) == EXPECTED
    # isort-style order, as ruff's RUF022 keeps it: CONSTANTS, then Classes, then functions.
    assert jwtauth.__all__ == sorted(
        jwtauth.__all__, key=lambda n: (not n.isupper(), not n[0].isupper(), n)
    )


def test_every_exported_name_exists() -> None:
    for name in jwtauth.__all__:
        assert getattr(jwtauth, name) is not None, name


# Modules that need configured Django settings to import (DRF's views read them at import);
# tests/integrations/test_drf.py checks their __all__ with the settings configured.
NEEDS_DJANGO_SETTINGS = ("jwtauth.integrations.drf", "jwtauth.integrations.django_app.views")


def test_every_module_declares_all() -> None:
    for info in pkgutil.walk_packages(jwtauth.__path__, "jwtauth."):
        if info.name in NEEDS_DJANGO_SETTINGS:
            continue
        module = importlib.import_module(info.name)
        assert hasattr(module, "__all__"), info.name
        for name in module.__all__:
            assert hasattr(module, name), f"{info.name}.{name}"


def test_every_exported_error_derives_from_the_one_base() -> None:
    import jwtauth.errors

    for name in jwtauth.errors.__all__:
        cls = getattr(jwtauth.errors, name)
        if name == "SecurityWarning":
            assert issubclass(cls, UserWarning)
            continue
        assert issubclass(cls, JWTAuthError), name
        assert cls.code, name
        assert cls.default_message, name


def test_error_codes_are_unique() -> None:
    import jwtauth.errors

    classes = [getattr(jwtauth.errors, n) for n in jwtauth.errors.__all__ if n != "SecurityWarning"]
    codes = [cls.code for cls in classes]
    assert len(codes) == len(set(codes))
