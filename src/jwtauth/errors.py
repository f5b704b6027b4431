"""The exception hierarchy: every error jwtauth raises derives from :class:`JWTAuthError`.

::

    JWTAuthError
    ├── TokenError                  the presented token is not acceptable (HTTP 401)
    │   ├── MissingTokenError       no token at all
    │   ├── MalformedTokenError     not a canonical, bounded JWS compact serialization
    │   ├── AlgorithmError          `alg` is `none`, unknown, or not the key's algorithm
    │   ├── ForbiddenHeaderError    `jwk`, `jku`, `x5u`, `x5c`, `crit`, `b64: false`, ...
    │   ├── UnknownKeyError         `kid` missing or not in our keyring
    │   ├── BadSignatureError       the signature does not verify
    │   ├── TokenTypeError          an access token presented as another type, or vice versa
    │   ├── RevokedTokenError       revoked (by `jti`, by subject, or globally)
    │   ├── FingerprintError        a fingerprinted token without its sidecar cookie
    │   ├── UnknownSubjectError     a valid token whose user the application no longer knows
    │   └── ClaimError              a registered claim fails validation; ``.claim`` names it
    │       ├── MissingClaimError
    │       ├── ExpiredTokenError
    │       ├── ImmatureTokenError  `nbf` or `iat` in the future
    │       ├── AudienceError
    │       └── IssuerError
    ├── AuthenticationError         login or refresh refused (HTTP 401)
    │   ├── InvalidCredentialsError wrong email or password, or a disabled account
    │   ├── InvalidRefreshTokenError unknown, expired, revoked or reused refresh token
    │   ├── InvalidMfaChallengeError an expired, forged, reused or wrong-type MFA challenge
    │   └── InvalidMfaCodeError     a wrong or already used TOTP or recovery code
    ├── CSRFError                   a cookie-authenticated unsafe request without its
    │                               double-submit token (HTTP 403)
    ├── InsufficientScopeError      a valid token without a scope the resource requires (403)
    ├── EmailTakenError             registration with an email already in use (HTTP 409)
    ├── WeakPasswordError           a password that fails the policy (HTTP 422)
    ├── MfaStateError               the second factor is not in the state asked for (HTTP 409)
    │   ├── MfaAlreadyEnabledError  TOTP is already on
    │   └── MfaNotEnrolledError     no TOTP enrolment waits for confirmation
    ├── RateLimitedError            too many attempts; ``.retry_after`` seconds (HTTP 429)
    │   └── AccountLockedError      too many failed logins on one account name
    ├── ServiceUnavailableError     a backing service cannot answer now; ``.retry_after`` (503)
    │   ├── SigningUnavailableError a remote signer (Vault Transit) cannot sign
    │   ├── StoreUnavailableError   the database or Redis cannot answer (down, hung, full)
    │   └── RevocationsUnavailableError the revocation view is stale beyond its bound
    ├── KeyConfigurationError       a key or secret is unusable (at start-up, not per request)
    │   ├── WeakSecretError         too short, a placeholder, low entropy, or a public key
    │   ├── InsecureKeyFileError    a key file readable by group or others
    │   ├── KeySetError             a resource server's JWKS cannot be fetched or used
    │   └── KeyRotationError        a managed keyring cannot rotate now (next key too new,
    │                               another process rotated first, wrong key-encryption key)
    └── ConfigurationError          settings that cannot work together
        └── SecretsManagerError     Vault/OpenBao or AWS Secrets Manager cannot supply a secret

Every message is written to be shown to a client: it never contains the token, a key, a
secret or a claim value that came from the token. ``code`` is a stable machine-readable name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import ClassVar

__all__ = [
    "AccountLockedError",
    "AlgorithmError",
    "AudienceError",
    "AuthenticationError",
    "BadSignatureError",
    "CSRFError",
    "ClaimError",
    "ConfigurationError",
    "EmailTakenError",
    "ExpiredTokenError",
    "FingerprintError",
    "ForbiddenHeaderError",
    "ImmatureTokenError",
    "InsecureKeyFileError",
    "InsufficientScopeError",
    "InvalidCredentialsError",
    "InvalidMfaChallengeError",
    "InvalidMfaCodeError",
    "InvalidRefreshTokenError",
    "IssuerError",
    "JWTAuthError",
    "KeyConfigurationError",
    "KeyRotationError",
    "KeySetError",
    "MalformedTokenError",
    "MfaAlreadyEnabledError",
    "MfaNotEnrolledError",
    "MfaStateError",
    "MissingClaimError",
    "MissingTokenError",
    "RateLimitedError",
    "RevocationsUnavailableError",
    "RevokedTokenError",
    "SecretsManagerError",
    "SecurityWarning",
    "ServiceUnavailableError",
    "SigningUnavailableError",
    "StoreUnavailableError",
    "TokenError",
    "TokenTypeError",
    "UnknownKeyError",
    "UnknownSubjectError",
    "WeakPasswordError",
    "WeakSecretError",
]


class SecurityWarning(UserWarning):
    """Warned when something is accepted in development that production would refuse."""


class JWTAuthError(Exception):
    """Base class of every error raised by jwtauth."""

    code: ClassVar[str] = "jwtauth_error"
    default_message: ClassVar[str] = "Authentication failed."

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)


class TokenError(JWTAuthError):
    """Raised when a presented token is not acceptable; maps to HTTP 401."""

    code = "invalid_token"
    default_message = "The token is invalid."


class MissingTokenError(TokenError):
    """Raised when a protected resource is requested without any token."""

    code = "missing_token"
    default_message = "An access token is required."


class MalformedTokenError(TokenError):
    """Raised when a token is not a canonical, size-bounded JWS compact serialization."""

    code = "malformed_token"
    default_message = "The token is malformed."


class AlgorithmError(TokenError):
    """Raised when the header's `alg` is `none`, unknown, or differs from the key's algorithm."""

    code = "invalid_algorithm"
    default_message = "The token's algorithm is not accepted."


class ForbiddenHeaderError(TokenError):
    """Raised when the header carries a parameter we refuse (key locations, `crit`, `b64`)."""

    code = "forbidden_header"
    default_message = "The token's header contains a parameter that is not accepted."


class UnknownKeyError(TokenError):
    """Raised when the token's `kid` is missing or names no key in the keyring."""

    code = "unknown_key"
    default_message = "The token was not signed by a known key."


class BadSignatureError(TokenError):
    """Raised when the signature does not verify with the key named by `kid`."""

    code = "bad_signature"
    default_message = "The token's signature is invalid."


class TokenTypeError(TokenError):
    """Raised when a token of one type (its `typ` header) is presented as another."""

    code = "wrong_token_type"
    default_message = "The token is not of the expected type."


class RevokedTokenError(TokenError):
    """Raised when the token, its subject or every token was revoked."""

    code = "token_revoked"
    default_message = "The token has been revoked."


class FingerprintError(TokenError):
    """Raised when a token bound to a fingerprint cookie arrives without the matching cookie."""

    code = "fingerprint_mismatch"
    default_message = "The token is not bound to this client."


class UnknownSubjectError(TokenError):
    """Raised when a valid token's subject is not a user the application knows (any more)."""

    code = "unknown_subject"
    default_message = "The token's user is not known."


class ClaimError(TokenError):
    """Raised when a claim fails validation; ``claim`` names it (never its value)."""

    code = "invalid_claim"
    default_message = "The token's claims are invalid."

    def __init__(self, message: str | None = None, *, claim: str | None = None) -> None:
        self.claim = claim
        super().__init__(message)


class MissingClaimError(ClaimError):
    """Raised when a required claim is absent."""

    code = "missing_claim"
    default_message = "The token lacks a required claim."


class ExpiredTokenError(ClaimError):
    """Raised when `exp` is in the past (beyond the leeway)."""

    code = "token_expired"
    default_message = "The token has expired."


class ImmatureTokenError(ClaimError):
    """Raised when `nbf` or `iat` is in the future (beyond the leeway)."""

    code = "token_not_yet_valid"
    default_message = "The token is not valid yet."


class AudienceError(ClaimError):
    """Raised when `aud` does not contain the expected audience."""

    code = "invalid_audience"
    default_message = "The token is not meant for this audience."


class IssuerError(ClaimError):
    """Raised when `iss` is not exactly the expected issuer."""

    code = "invalid_issuer"
    default_message = "The token was issued by an unexpected issuer."


class AuthenticationError(JWTAuthError):
    """Raised when a login or refresh is refused; maps to HTTP 401."""

    code = "authentication_failed"
    default_message = "Authentication failed."


class InvalidCredentialsError(AuthenticationError):
    """Raised for a wrong email or password; the same for both, so neither is revealed."""

    code = "invalid_credentials"
    default_message = "The email or password is incorrect."


class InvalidRefreshTokenError(AuthenticationError):
    """Raised for an unknown, expired, revoked or reused refresh token (never saying which)."""

    code = "invalid_refresh_token"
    default_message = "The refresh token is invalid."


class CSRFError(JWTAuthError):
    """Raised when a cookie-authenticated unsafe request lacks its matching CSRF header;
    maps to HTTP 403."""

    code = "csrf_failed"
    default_message = "The CSRF token is missing or does not match."


class InsufficientScopeError(JWTAuthError):
    """Raised when a valid token lacks a scope the resource requires; maps to HTTP 403.

    ``required`` names the scopes the resource asks for (configuration, never token content),
    as RFC 6750 section 3 puts them in the challenge's ``scope`` attribute.
    """

    code = "insufficient_scope"
    default_message = "The token lacks a scope this resource requires."

    def __init__(self, required: Iterable[str], message: str | None = None) -> None:
        self.required: tuple[str, ...] = tuple(required)
        super().__init__(message)


class InvalidMfaChallengeError(AuthenticationError):
    """Raised for an MFA challenge token that is expired, forged, already used, or another
    kind of token; never saying which."""

    code = "invalid_mfa_challenge"
    default_message = "The MFA challenge is invalid or expired; log in again."


class InvalidMfaCodeError(AuthenticationError):
    """Raised for a wrong TOTP code, one already used, or a wrong or used recovery code."""

    code = "invalid_mfa_code"
    default_message = "The code is incorrect."


class EmailTakenError(JWTAuthError):
    """Raised when registering an email that already has an account; maps to HTTP 409."""

    code = "email_taken"
    default_message = "An account with this email already exists."


class WeakPasswordError(JWTAuthError):
    """Raised when a password fails the password policy; maps to HTTP 422."""

    code = "weak_password"
    default_message = "The password is too weak."


class MfaStateError(JWTAuthError):
    """Raised when the second factor is not in the state a request needs; maps to HTTP 409."""

    code = "mfa_state"
    default_message = "The second factor is not in the required state."


class MfaAlreadyEnabledError(MfaStateError):
    """Raised when enrolling or confirming TOTP while it is already on."""

    code = "mfa_already_enabled"
    default_message = "TOTP is already on for this account."


class MfaNotEnrolledError(MfaStateError):
    """Raised when confirming TOTP with no enrolment waiting for confirmation."""

    code = "mfa_not_enrolled"
    default_message = "No TOTP enrolment is waiting for confirmation."


class RateLimitedError(JWTAuthError):
    """Raised when a rate limit or a penalty refuses a request; maps to HTTP 429.

    Attributes:
        retry_after: whole seconds until a retry can succeed (at least 1).
        headers: the ``Retry-After`` and ``RateLimit`` header values for the answer.
    """

    code = "rate_limited"
    default_message = "Too many attempts; retry later."

    def __init__(
        self,
        message: str | None = None,
        *,
        retry_after: int,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.retry_after = max(1, retry_after)
        self.headers: dict[str, str] = {"Retry-After": str(self.retry_after), **(headers or {})}


class AccountLockedError(RateLimitedError):
    """Raised when an account name is locked after repeated failed logins; maps to HTTP 429.

    It is raised for an unknown email exactly as for a real one, and even for the right
    password while the lockout runs: otherwise the lockout would confirm a guess.
    """

    code = "account_locked"
    default_message = "Too many failed logins for this account; retry later."


class ServiceUnavailableError(JWTAuthError):
    """A service the request needs cannot answer right now; maps to HTTP 503 with
    ``Retry-After``. Raised per request, unlike the start-up errors below.

    Attributes:
        retry_after: whole seconds after which a retry may succeed (at least 1).
    """

    code = "service_unavailable"
    default_message = "The service is unavailable; retry shortly."

    def __init__(self, message: str | None = None, *, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = max(1, retry_after)


class SigningUnavailableError(ServiceUnavailableError):
    """Raised when a remote signer (Vault/OpenBao Transit) cannot sign a token right now."""

    code = "signing_unavailable"
    default_message = "Tokens cannot be signed right now."


class StoreUnavailableError(ServiceUnavailableError):
    """The database or Redis cannot answer (down, hung, out of connections); nothing the
    request asked for can be trusted to have happened unless its answer says so."""

    code = "store_unavailable"
    default_message = "A store the service needs is unavailable; retry shortly."


class RevocationsUnavailableError(ServiceUnavailableError):
    """Raised by verification while the revocation view cannot be trusted: neither the Redis
    feed nor a recent database poll vouches that it misses no revocation (fail closed, issue
    14). Answering 401 would blame the token, 200 might serve a revoked one: 503 instead."""

    code = "revocations_unavailable"
    default_message = "Tokens cannot be checked against revocations right now; retry shortly."


class KeyConfigurationError(JWTAuthError):
    """Raised when a key or secret cannot be used; a start-up error, never a per-request one."""

    code = "key_configuration"
    default_message = "The key configuration is invalid."


class WeakSecretError(KeyConfigurationError):
    """Raised when an HMAC secret is too short, a placeholder, low-entropy, or a public key."""

    code = "weak_secret"
    default_message = "The HMAC secret is too weak."


class InsecureKeyFileError(KeyConfigurationError):
    """Raised in production when a key or secret file is readable by group or others."""

    code = "insecure_key_file"
    default_message = "The key file is readable by other users."


class KeySetError(KeyConfigurationError):
    """Raised when a resource server cannot fetch or use its JWKS: unreachable, not JSON, too
    large, or without one usable key. Raised at start-up; later failures keep the cached keys."""

    code = "jwks_unavailable"
    default_message = "The JSON Web Key Set could not be loaded."


class KeyRotationError(KeyConfigurationError):
    """Raised when a managed keyring cannot rotate or be read: its next key was published too
    recently, another process rotated first, or the key-encryption key does not open it."""

    code = "key_rotation"


class ConfigurationError(JWTAuthError):
    """Raised when settings are missing or contradict each other."""

    code = "configuration"
    default_message = "The configuration is invalid."


class SecretsManagerError(ConfigurationError):
    """Raised when Vault/OpenBao or AWS Secrets Manager cannot supply a configured secret or key:
    unreachable, credentials refused, or no such path or field. Never names the credential."""

    code = "secrets_manager"
    default_message = "The secrets manager could not supply the configured secret."
