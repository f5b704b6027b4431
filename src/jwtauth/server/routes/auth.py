"""`/auth/*`: register, login, refresh, logout, me, password, sessions (claims: `claims.py`)."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status

from jwtauth.auth.service import ClientInfo, MfaChallenge, TokenPair, normalise_email
from jwtauth.ratelimit.addresses import address_key
from jwtauth.server.deps import Authenticated, ServerState, client_info, state_of
from jwtauth.server.metrics import route_of
from jwtauth.server.openapi import problems, redirect
from jwtauth.server.problems import problem
from jwtauth.server.schemas import (
    CookieSession,
    Credentials,
    LoginRequest,
    LogoutRequest,
    MfaChallengeOut,
    PasswordChange,
    RefreshRequest,
    SessionOut,
    TokenResponse,
    UserOut,
)

__all__ = ["SESSION_ID", "Delivered", "deliver", "limit", "router", "succeeded"]

SESSION_ID = re.compile(r"[0-9a-f]{32}")
"""The shape of a session id (``secrets.token_hex(16)``, the login's); any other path id is
answered 404 as an unknown session is."""

router = APIRouter(prefix="/auth", tags=["auth"])
Client = Annotated[ClientInfo, Depends(client_info)]
# The error answers of each operation (docs/api.md), for the OpenAPI document.
_CSRF = (
    "Cookie transport: the X-CSRF-Token header is missing or wrong (`csrf_failed`); or "
    "production over plain HTTP (`https_required`)"
)
_WEAK = "Invalid email or weak password (`weak_password`); `errors` names invalid fields"
Delivered = TokenResponse | CookieSession


def deliver(
    state: ServerState, response: Response, pair: TokenPair, fingerprint: str | None
) -> Delivered:
    """The session as the transport delivers it: in the body, or in cookies only (a script
    never sees a token then; it gets the CSRF token to echo instead).

    A remembered-device token goes the same way (its cookie is sent to the login only); the
    routes that may return one leave ``None`` fields out, so the contract's shape is kept."""
    device = pair.device_token
    if device is not None and state.transport.set_device_cookie(
        response, device, state.service.policy.device_ttl
    ):
        device = None
    csrf = state.transport.set_cookies(
        response,
        access_token=pair.access_token,
        refresh_token=pair.refresh_token,
        expires_in=pair.expires_in,
        refresh_expires_in=pair.refresh_expires_in,
        fingerprint=fingerprint,
    )
    if csrf is not None:
        return CookieSession(
            expires_in=pair.expires_in,
            refresh_expires_in=pair.refresh_expires_in,
            csrf_token=csrf,
        )
    return TokenResponse(
        access_token=pair.access_token,
        refresh_token=pair.refresh_token,
        expires_in=pair.expires_in,
        refresh_expires_in=pair.refresh_expires_in,
        device_token=device,
    )


async def limit(request: Request, response: Response, *hits: tuple[str, str]) -> dict[str, str]:
    """Count the hits; the RateLimit headers go on the answer, success or problem alike."""
    headers = await state_of(request).throttle.check(*hits)
    response.headers.update(headers)
    request.state.rate_limit_headers = headers  # read by the problem handlers
    return headers


def _address(request: Request, client: ClientInfo) -> str:
    # One client is one bucket however it writes its address, and an IPv6 client one per
    # network: it holds 2^64 addresses of a /64 (issue 13, item 16).
    return address_key(client.ip, state_of(request).ipv6_prefix)


def succeeded(request: Request) -> None:
    """Count a successful authentication on the request's route (``/metrics``)."""
    state_of(request).metrics.outcomes.labels(route_of(request), "ok").inc()


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    response_model=UserOut,
    responses=problems(
        400,
        403,
        404,
        409,
        422,
        429,
        500,
        503,
        described={404: "Registration is off here", 409: "Email taken", 422: _WEAK},
    ),
)
async def register(
    body: Credentials, request: Request, response: Response, client: Client
) -> UserOut:
    """Create an account."""
    state = state_of(request)
    if not state.registration:  # the host application signs its users up itself
        raise HTTPException(status.HTTP_404_NOT_FOUND)
    await limit(request, response, ("register-ip", _address(request, client)))
    user = await state.service.register(body.email, body.password)
    return UserOut(id=user.id, email=user.email)


@router.post(
    "/login",
    response_model=Delivered | MfaChallengeOut,
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
            401: "Bad credentials: one answer for an unknown email and a wrong password",
            429: "Throttled, or the account name is locked (`account_locked`); see Retry-After",
        },
    ),
)
async def login(body: LoginRequest, request: Request, response: Response, client: Client) -> Any:
    """Exchange email and password for an access token and a refresh token (or, with TOTP
    on, for an MFA challenge to complete at ``/auth/mfa/totp/verify``).

    ``remember_device`` asks for a device token as well; a later login that presents it
    (``device_token``, or its cookie) is not locked out by failed logins from elsewhere."""
    state = state_of(request)
    account = normalise_email(body.email)
    await limit(
        request, response, ("login-ip", _address(request, client)), ("login-account", account)
    )
    fingerprint = state.transport.new_fingerprint()
    pair = await state.service.login(
        body.email,
        body.password,
        replace(client, fingerprint=fingerprint),
        device_token=body.device_token or state.transport.device_token(request),
        remember_device=body.remember_device,
    )
    # The account's count starts over; the address's never does, or one valid account would
    # let its holder wipe the count of every address they guess from.
    await state.throttle.forget("login-account", account)
    if isinstance(pair, MfaChallenge):  # TOTP on: no session until /auth/mfa/totp/verify
        state.metrics.outcomes.labels(route_of(request), "mfa_required").inc()
        return MfaChallengeOut(mfa_token=pair.mfa_token, expires_in=pair.expires_in)
    succeeded(request)
    return deliver(state, response, pair, fingerprint)


@router.post(
    "/refresh",
    response_model=Delivered,
    responses=problems(
        400,
        401,
        403,
        422,
        429,
        500,
        503,
        described={401: "Unknown, expired, revoked or reused refresh token", 403: _CSRF},
    ),
)
async def refresh(
    request: Request, response: Response, client: Client, body: RefreshRequest | None = None
) -> Any:
    """Rotate a refresh token; reusing a rotated one revokes its whole session.

    With cookie transport the body may be left out: the refresh cookie is used, and the
    request must carry ``X-CSRF-Token``.
    """
    state = state_of(request)
    token = body.refresh_token if body is not None else state.transport.refresh_token(request)
    if token is None:
        return problem(
            422,
            "The request is invalid.",
            code="validation_error",
            errors=[{"loc": ["body", "refresh_token"], "msg": "Field required"}],
        )
    if state.throttle.enabled:  # the owner is looked up only to key the limit
        owner = await state.service.refresh_owner(token)
        # A live token spends its owner's quota; an unknown or dead one (a victim's revoked
        # token replayed, random guesses) the sender's address's, never its owner's.
        if owner is not None:
            await limit(request, response, ("refresh-user", owner))
        else:
            await limit(request, response, ("refresh-ip", _address(request, client)))
    pair = await state.service.refresh(token, client)
    succeeded(request)
    return deliver(state, response, pair, client.fingerprint)


@router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problems(400, 401, 403, 422, 500, 503, described={403: _CSRF}, challenge=True),
)
async def logout(
    claims: Authenticated, request: Request, body: LogoutRequest | None = None
) -> Response:
    """Revoke this access token and its session (the refresh token's family with it)."""
    state = state_of(request)
    await state.service.logout(claims)
    answer = Response(status_code=status.HTTP_204_NO_CONTENT)
    state.transport.clear_cookies(answer)
    return answer


@router.post(
    "/logout-all",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problems(401, 403, 500, 503, described={403: _CSRF}, challenge=True),
)
async def logout_all(claims: Authenticated, request: Request) -> Response:
    """Revoke every session and every access token of the user."""
    state = state_of(request)
    await state.service.logout_all(claims)
    answer = Response(status_code=status.HTTP_204_NO_CONTENT)
    state.transport.clear_cookies(answer)
    return answer


@router.get(
    "/me",
    response_model=UserOut,
    responses={**problems(401, 403, 500, 503, challenge=True), **redirect()},
)
async def me(claims: Authenticated, request: Request) -> UserOut:
    """The user the access token speaks for."""
    user = await state_of(request).service.current_user(claims)
    return UserOut(id=user.id, email=user.email)


@router.post(
    "/password",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problems(
        400,
        401,
        403,
        422,
        429,
        500,
        503,
        described={
            401: "Missing, invalid, expired or revoked token, or a wrong current password",
            403: _CSRF,
            422: "Weak new password (`weak_password`); `errors` names invalid fields",
        },
    ),
)
async def change_password(
    body: PasswordChange, claims: Authenticated, request: Request, response: Response
) -> Response:
    """Change the password; every other session of the user is revoked."""
    limits = await limit(request, response, ("password-user", str(claims["sub"])))
    service = state_of(request).service
    await service.change_password(claims, body.current_password, body.new_password)
    succeeded(request)
    # A Response returned as is does not get the injected one's headers: pass them on.
    return Response(status_code=status.HTTP_204_NO_CONTENT, headers=limits)


@router.get(
    "/sessions",
    response_model=list[SessionOut],
    responses={**problems(401, 403, 500, 503, challenge=True), **redirect()},
)
async def sessions(claims: Authenticated, request: Request) -> list[SessionOut]:
    """The user's live sessions; ``current`` marks the one this token belongs to."""
    current = claims.get("sid")
    return [
        SessionOut(
            id=s.id,
            created_at=s.created_at,
            last_used_at=s.last_used_at,
            ip=s.ip,
            user_agent=s.user_agent,
            current=s.id == current,
        )
        for s in await state_of(request).service.sessions(claims)
    ]


@router.delete(
    "/sessions/{session_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problems(
        401,
        403,
        404,
        500,
        503,
        described={403: _CSRF, 404: "No such session of the user (`session_not_found`)"},
        challenge=True,
    ),
)
async def revoke_session(session_id: str, claims: Authenticated, request: Request) -> Response:
    """End one of the user's sessions."""
    # Checked before any store sees it: a NUL in a text parameter is an error on PostgreSQL
    # (a 500 and a reset connection, issue 13 item 10); no such id can name a session anyway.
    shaped = SESSION_ID.fullmatch(session_id) is not None
    if not shaped or not await state_of(request).service.revoke_session(claims, session_id):
        return problem(404, "No such session.", code="session_not_found")
    return Response(status_code=status.HTTP_204_NO_CONTENT)
