"""`/auth/mfa/totp/*`: enrol, confirm, verify (login's second step), disable; and login's
challenge body. Mounted only with ``JWTAUTH_MFA`` on, so with it off every path is a 404."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any, Self

from fastapi import APIRouter, Depends, FastAPI, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator

from jwtauth.auth.mfa import MfaService
from jwtauth.auth.service import ClientInfo
from jwtauth.errors import MfaStateError
from jwtauth.server.deps import Authenticated, client_info, state_of
from jwtauth.server.openapi import problems
from jwtauth.server.problems import problem
from jwtauth.server.routes.auth import Delivered, deliver, limit, succeeded

__all__ = [
    "MfaDisable",
    "MfaVerify",
    "PasswordConfirm",
    "RecoveryCodesOut",
    "TotpCode",
    "TotpEnrolmentOut",
    "install",
    "mfa_of",
    "router",
]

router = APIRouter(prefix="/auth/mfa/totp", tags=["mfa"])
Client = Annotated[ClientInfo, Depends(client_info)]
_DIGITS = r"^[0-9]{6}$"
_CODE_HELP = "the six digits the authenticator app shows"
# The error answers of each operation (docs/api.md), for the OpenAPI document.
_DESCRIBED = {
    401: "Missing, invalid or expired token, or a wrong code or password",
    403: (
        "Cookie transport: the X-CSRF-Token header is missing or wrong (`csrf_failed`); or "
        "production over plain HTTP (`https_required`)"
    ),
    409: "TOTP is already on, or no enrolment waits for confirmation (`mfa_state`)",
    429: "Rate limited per user; see Retry-After and the RateLimit headers",
}
_ERRORS = problems(400, 401, 403, 409, 422, 429, 500, 503, described=_DESCRIBED)


# Bodies ----------------------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TotpEnrolmentOut(BaseModel):
    """`POST /auth/mfa/totp/enroll`: the secret, shown once, as text and as a URI for a QR code."""

    secret: str
    otpauth_uri: str


class TotpCode(_Strict):
    """`POST /auth/mfa/totp/confirm`."""

    code: str = Field(pattern=_DIGITS, description=_CODE_HELP)


class RecoveryCodesOut(BaseModel):
    """`POST /auth/mfa/totp/confirm`: ten single-use recovery codes, shown once."""

    recovery_codes: list[str]


class MfaVerify(_Strict):
    """`POST /auth/mfa/totp/verify`: the challenge with a TOTP code or a recovery code."""

    mfa_token: str = Field(min_length=1, max_length=4096)
    code: str | None = Field(default=None, pattern=_DIGITS, description=_CODE_HELP)
    recovery_code: str | None = Field(default=None, min_length=1, max_length=64)
    remember_device: bool = False  # as at login: a device token with the session

    @model_validator(mode="after")
    def _one_factor(self) -> Self:
        if (self.code is None) == (self.recovery_code is None):
            raise ValueError("give exactly one of code and recovery_code")
        return self


class PasswordConfirm(_Strict):
    """`POST /auth/mfa/totp/enroll`."""

    password: str = Field(min_length=1, max_length=1024)


class MfaDisable(PasswordConfirm):
    """`POST /auth/mfa/totp/disable`: the password and a current code or a recovery code."""

    code: str | None = Field(default=None, pattern=_DIGITS, description=_CODE_HELP)
    recovery_code: str | None = Field(default=None, min_length=1, max_length=64)

    @model_validator(mode="after")
    def _one_factor(self) -> Self:
        if (self.code is None) == (self.recovery_code is None):
            raise ValueError("give exactly one of code and recovery_code")
        return self


# Wiring ----------------------------------------------------------------------------------------


def mfa_of(request: Request) -> MfaService:
    """The second-factor service the lifespan built."""
    service = state_of(request).mfa
    if service is None:  # the routes are mounted only with the service
        raise RuntimeError("the second factor is off")
    return service


async def _conflict(request: Request, exc: Exception) -> JSONResponse:
    error = exc if isinstance(exc, MfaStateError) else MfaStateError()  # registered for it only
    return problem(409, error.message, code=error.code)


def install(app: FastAPI) -> None:
    """Mount the routes and answer :class:`MfaStateError` with ``409``."""
    app.include_router(router)
    app.add_exception_handler(MfaStateError, _conflict)


async def _limit(request: Request, response: Response, user_id: str) -> dict[str, str]:
    return await limit(request, response, ("mfa-user", user_id))


# Routes ----------------------------------------------------------------------------------------


@router.post(
    "/enroll",
    response_model=TotpEnrolmentOut,
    responses=_ERRORS,
)
async def enroll(
    body: PasswordConfirm, claims: Authenticated, request: Request, response: Response
) -> TotpEnrolmentOut:
    """Start (or restart, while unconfirmed) a TOTP enrolment; the password is asked again."""
    await _limit(request, response, str(claims["sub"]))
    enrolment = await mfa_of(request).enroll(claims, body.password)
    return TotpEnrolmentOut(secret=enrolment.secret, otpauth_uri=enrolment.otpauth_uri)


@router.post(
    "/confirm",
    response_model=RecoveryCodesOut,
    responses=_ERRORS,
)
async def confirm(
    body: TotpCode, claims: Authenticated, request: Request, response: Response, client: Client
) -> RecoveryCodesOut:
    """Turn TOTP on with a current code; the recovery codes are shown this once."""
    await _limit(request, response, str(claims["sub"]))
    codes = await mfa_of(request).confirm(claims, body.code, client)
    return RecoveryCodesOut(recovery_codes=codes)


@router.post(
    "/verify",
    response_model=Delivered,
    response_model_exclude_none=True,
    responses=problems(
        400,
        401,
        403,
        422,
        429,
        500,
        503,
        described={
            **_DESCRIBED,
            401: "Wrong or used code; expired, forged, reused or wrong-type challenge",
            403: "Production over plain HTTP (`https_required`)",
        },
    ),
)
async def verify(body: MfaVerify, request: Request, response: Response, client: Client) -> Any:
    """Login's second step: the challenge and a code buy the session login would have opened."""
    state = state_of(request)
    mfa = mfa_of(request)
    # Verified first: only a genuine challenge names a user whose quota a request may use.
    claims = mfa.challenge_claims(body.mfa_token)
    await _limit(request, response, str(claims["sub"]))
    fingerprint = state.transport.new_fingerprint()
    pair = await mfa.verify(
        claims,
        replace(client, fingerprint=fingerprint),
        code=body.code,
        recovery_code=body.recovery_code,
        remember_device=body.remember_device,
    )
    succeeded(request)
    return deliver(state, response, pair, fingerprint)


@router.post(
    "/disable",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={
        **_ERRORS,
        409: problems(409, described={409: "TOTP is off (`mfa_state`)"})[409],
    },
)
async def disable(
    body: MfaDisable,
    claims: Authenticated,
    request: Request,
    response: Response,
    client: Client,
) -> Response:
    """Turn TOTP off and delete the recovery codes; the password and a code are asked again."""
    limits = await _limit(request, response, str(claims["sub"]))
    await mfa_of(request).disable(
        claims, body.password, client, code=body.code, recovery_code=body.recovery_code
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT, headers=limits)
