"""Request and response bodies of the HTTP contract (shared/API.md)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field
from pydantic.json_schema import SkipJsonSchema

from jwtauth.auth.identity import normalise_email

__all__ = [
    "JWK",
    "CookieSession",
    "Credentials",
    "HealthOut",
    "JWKSet",
    "LoginRequest",
    "LogoutRequest",
    "MfaChallengeOut",
    "PasswordChange",
    "Problem",
    "ReadyOut",
    "RefreshRequest",
    "SessionOut",
    "TokenResponse",
    "UserOut",
    "ValidationIssue",
]

# Bounded before hashing: argon2 accepts anything, an attacker should not get to send megabytes.
Password = Field(min_length=1, max_length=1024)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class Credentials(_Strict):
    """`POST /auth/register` and `POST /auth/login`."""

    # Normalised here, so that a look-alike address is a 422 like any other invalid one.
    email: Annotated[EmailStr, AfterValidator(normalise_email)] = Field(
        max_length=320,
        description="An address as email-validator accepts it, which is stricter than the "
        "`email` format: special-use domains (`.test`, `.local`, `.localhost`, `.invalid`, "
        "`.onion`, `.arpa`) and local parts mixing look-alike letters of different scripts "
        "are refused with 422 `validation_error`.",
    )
    password: str = Password


class LoginRequest(Credentials):
    """`POST /auth/login`; the two optional fields are this server's addition to the contract."""

    # A token from an earlier login with remember_device: its failures count against it alone.
    device_token: str | None = Field(default=None, min_length=1, max_length=4096)
    remember_device: bool = False


class RefreshRequest(_Strict):
    """`POST /auth/refresh`."""

    refresh_token: str = Field(min_length=1, max_length=512)


class LogoutRequest(_Strict):
    """`POST /auth/logout` (optional body)."""

    refresh_token: str | None = Field(default=None, max_length=512)


class PasswordChange(_Strict):
    """`POST /auth/password`."""

    current_password: str = Password
    new_password: str = Password


class TokenResponse(BaseModel):
    """What login and refresh return."""

    access_token: str
    refresh_token: str
    token_type: str = "Bearer"  # noqa: S105 - the RFC 6750 token type, not a credential
    expires_in: int
    refresh_expires_in: int
    # Only when the login asked for it (remember_device), and left out of the answer otherwise.
    device_token: str | None = None


class CookieSession(BaseModel):
    """What login and refresh return with cookie transport: the tokens are in cookies only."""

    token_type: str = "cookie"  # noqa: S105 - how the tokens travel, not a credential
    expires_in: int
    refresh_expires_in: int
    csrf_token: str  # echo it in X-CSRF-Token on unsafe requests (also in a readable cookie)


class MfaChallengeOut(BaseModel):
    """What `POST /auth/login` returns for a user with TOTP on: a challenge, no tokens yet."""

    mfa_required: Literal[True] = True
    mfa_token: str  # for POST /auth/mfa/totp/verify only; never accepted as an access token
    expires_in: int


class UserOut(BaseModel):
    """A user as the API shows it."""

    id: str
    email: str


class SessionOut(BaseModel):
    """One entry of `GET /auth/sessions`."""

    id: str
    created_at: float
    last_used_at: float
    ip: str | None
    user_agent: str | None
    current: bool


class ValidationIssue(BaseModel):
    """One invalid field of a ``422 validation_error``: where, and what is wrong; never the
    value sent, which may be a password."""

    loc: list[str] = Field(description='where the field is, e.g. ["body", "email"]')
    msg: str


class Problem(BaseModel):
    """Every error the server answers: RFC 9457 problem details (``application/problem+json``),
    never a stack trace, a secret or a token."""

    type: str = Field(
        description="`urn:jwtauth:problem:<code>` with a stable code (`invalid_credentials`, "
        "`token_expired`, `rate_limited`, ...), or `about:blank` for plain HTTP errors"
    )
    title: str = Field(description="the status's reason phrase")
    status: int = Field(ge=400, le=599)
    detail: str = Field(description="safe to show a user")
    # The extras are left out of the body when they do not apply; the schema says so by not
    # allowing null (SkipJsonSchema), which the bodies never contain.
    errors: list[ValidationIssue] | SkipJsonSchema[None] = Field(
        default=None, description="`422 validation_error` only: each invalid field"
    )
    request_id: str | SkipJsonSchema[None] = Field(
        default=None, description="`500` only: the id of the error in the server's log"
    )
    checks: dict[str, bool] | SkipJsonSchema[None] = Field(
        default=None, description="`GET /readyz` only: which store answered"
    )


class JWK(BaseModel):
    """A public key of the JWK Set; the members beyond these depend on ``kty`` (RFC 7518)."""

    kty: str
    kid: str
    alg: str
    use: Literal["sig"]


class JWKSet(BaseModel):
    """`GET /.well-known/jwks.json` (RFC 7517 section 5): public keys only."""

    keys: list[JWK]


class HealthOut(BaseModel):
    """`GET /healthz`."""

    status: Literal["ok"]


class ReadyOut(BaseModel):
    """`GET /readyz` when every store answers."""

    status: Literal["ready"]
