"""Request and response bodies of the HTTP contract (shared/API.md)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field

from jwtauth.auth.identity import normalise_email

__all__ = [
    "CookieSession",
    "Credentials",
    "LoginRequest",
    "LogoutRequest",
    "MfaChallengeOut",
    "PasswordChange",
    "RefreshRequest",
    "SessionOut",
    "TokenResponse",
    "UserOut",
]

# Bounded before hashing: argon2 accepts anything, an attacker should not get to send megabytes.
Password = Field(min_length=1, max_length=1024)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class Credentials(_Strict):
    """`POST /auth/register` and `POST /auth/login`."""

    # Normalised here, so that a look-alike address is a 422 like any other invalid one.
    email: Annotated[EmailStr, AfterValidator(normalise_email)] = Field(max_length=320)
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
