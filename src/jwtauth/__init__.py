"""jwtauth: JWT authentication for Python, done right by default.

The core is framework-free, pure and synchronous: keys bound to one algorithm each, a keyring
that is the only place verification finds a key, strict JWS parsing, claims validation and a
token manager. Servers, framework integrations and the CLI build on it.
"""

from jwtauth.errors import (
    AlgorithmError,
    AudienceError,
    BadSignatureError,
    ClaimError,
    ConfigurationError,
    ExpiredTokenError,
    ForbiddenHeaderError,
    ImmatureTokenError,
    InsecureKeyFileError,
    IssuerError,
    JWTAuthError,
    KeyConfigurationError,
    MalformedTokenError,
    MissingClaimError,
    RevokedTokenError,
    SecurityWarning,
    TokenError,
    TokenTypeError,
    UnknownKeyError,
    WeakSecretError,
)
from jwtauth.hygiene.redaction import RedactingFilter, install_redaction
from jwtauth.keys import (
    Algorithm,
    ECKey,
    EdDSAKey,
    HMACKey,
    Key,
    KeyRing,
    RSAKey,
    generate_key,
    key_from_pem,
)
from jwtauth.manager import TokenManager
from jwtauth.revocation import RevocationList
from jwtauth.tokens.claims import ClaimsPolicy
from jwtauth.tokens.factory import PayloadFactory
from jwtauth.tokens.jws import JWS
from jwtauth.tokens.token_type import ACCESS, TokenType
from jwtauth.types import Claims, Clock, RevocationView

__all__ = [
    "ACCESS",
    "JWS",
    "Algorithm",
    "AlgorithmError",
    "AudienceError",
    "BadSignatureError",
    "ClaimError",
    "Claims",
    "ClaimsPolicy",
    "Clock",
    "ConfigurationError",
    "ECKey",
    "EdDSAKey",
    "ExpiredTokenError",
    "ForbiddenHeaderError",
    "HMACKey",
    "ImmatureTokenError",
    "InsecureKeyFileError",
    "IssuerError",
    "JWTAuthError",
    "Key",
    "KeyConfigurationError",
    "KeyRing",
    "MalformedTokenError",
    "MissingClaimError",
    "PayloadFactory",
    "RSAKey",
    "RedactingFilter",
    "RevocationList",
    "RevocationView",
    "RevokedTokenError",
    "SecurityWarning",
    "TokenError",
    "TokenManager",
    "TokenType",
    "TokenTypeError",
    "UnknownKeyError",
    "WeakSecretError",
    "generate_key",
    "install_redaction",
    "key_from_pem",
]
