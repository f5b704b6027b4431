"""Obtain, refresh and logout views (simplejwt's ``TokenObtainPairView``, ``TokenRefreshView``
and ``TokenBlacklistView``, with the same request and answer shapes).

Refresh tokens are JWTs of their own type (``typ`` ``rt+jwt``) carrying the session id `sid`
that the session's access tokens carry too. Each is good for one refresh: refreshing revokes
its `jti` and answers a new pair. Presenting a revoked refresh token again (a replay of a stolen
one, or a race) revokes the whole session, access tokens included. Logout revokes the session.
Revocations go to the configured store (Redis: every process within milliseconds).

Limits: two refreshes of one token that reach two processes within the store's propagation
time (a millisecond or two with Redis) can both succeed; the next use of either token then ends
the session. Throttle the obtain view as any login (DRF's ``ScopedRateThrottle``).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from typing import Any

from django.contrib.auth import authenticate, get_user_model  # type: ignore[import-untyped]
from django.http import HttpResponse  # type: ignore[import-untyped]
from django.urls import path  # type: ignore[import-untyped]
from rest_framework.permissions import AllowAny  # type: ignore[import-untyped]
from rest_framework.views import APIView  # type: ignore[import-untyped]

from jwtauth.errors import (
    AuthenticationError,
    ConfigurationError,
    InvalidCredentialsError,
    InvalidRefreshTokenError,
    RevokedTokenError,
    TokenError,
)
from jwtauth.integrations._http import PROBLEM_JSON, mark_public
from jwtauth.integrations.django_app.apps import State, state
from jwtauth.manager import TokenManager
from jwtauth.tokens.encoding import json_dumps
from jwtauth.tokens.token_type import TokenType

__all__ = ["REFRESH", "LogoutView", "ObtainView", "RefreshView", "token_urls"]

REFRESH = TokenType("refresh", "rt+jwt")
"""The type of the refresh tokens these views issue; never accepted as an access token."""


class _TokenView(APIView):  # type: ignore[misc]
    authentication_classes = ()
    permission_classes = (AllowAny,)

    def post(self, request: Any) -> HttpResponse:
        current = state()
        if not current.options.can_sign:
            raise ConfigurationError("these views need a SIGNING_KEY (this service only verifies)")
        if not isinstance(request.data, Mapping):  # [], "x", 12, null: valid JSON, no object
            return _bad_request("The body must be a JSON object.")
        try:
            return _json(self.handle(request, current))
        except AuthenticationError as exc:
            return _problem(exc)

    def handle(self, request: Any, current: State) -> dict[str, str]:  # pragma: no cover
        raise NotImplementedError


@mark_public
class ObtainView(_TokenView):
    """``POST {"<USERNAME_FIELD>": ..., "password": ...}`` → ``{"access": ..., "refresh": ...}``."""

    def handle(self, request: Any, current: State) -> dict[str, str]:
        name_field = get_user_model().USERNAME_FIELD
        username, password = request.data.get(name_field), request.data.get("password")
        if not isinstance(username, str) or not isinstance(password, str):
            raise InvalidCredentialsError()
        user = authenticate(request._request, **{name_field: username, "password": password})
        if user is None or not user.is_active:
            raise InvalidCredentialsError()
        from django.contrib.auth.models import update_last_login  # type: ignore[import-untyped]  # noqa: PLC0415 - needs the app registry

        update_last_login(None, user)
        subject = str(getattr(user, current.options.user_id_field))
        return issue_pair(current, subject, secrets.token_hex(16), self.claims_for(user))

    def claims_for(self, user: Any) -> dict[str, Any]:
        """Extra claims of the access token (``scope``, say); none by default."""
        return {}


@mark_public
class RefreshView(_TokenView):
    """``POST {"refresh": ...}`` → a new ``{"access": ..., "refresh": ...}``; the old refresh
    token is spent."""

    def handle(self, request: Any, current: State) -> dict[str, str]:
        claims = _verify_refresh(request, current)
        if current.options.user == "database" and not _active(current, claims["sub"]):
            raise InvalidRefreshTokenError()
        _revoke(current, "revoke_token", claims["jti"], float(claims["exp"]))
        return issue_pair(current, claims["sub"], claims["sid"], {})


@mark_public
class LogoutView(_TokenView):
    """``POST {"refresh": ...}`` → ``{}``: the session's access and refresh tokens revoked."""

    def handle(self, request: Any, current: State) -> dict[str, str]:
        claims = _verify_refresh(request, current)
        _end_session(current, claims["sid"])
        return {}


def token_urls() -> list[Any]:
    """``obtain/``, ``refresh/`` and ``logout/``, to ``include()`` under a prefix."""
    return [
        path("obtain/", ObtainView.as_view(), name="jwtauth-obtain"),
        path("refresh/", RefreshView.as_view(), name="jwtauth-refresh"),
        path("logout/", LogoutView.as_view(), name="jwtauth-logout"),
    ]


def issue_pair(current: State, subject: str, sid: str, extra: dict[str, Any]) -> dict[str, str]:
    """A new access token and refresh token of session ``sid``."""
    manager = current.options.manager
    return {
        "access": manager.issue(subject, claims={**extra, "sid": sid}),
        "refresh": manager.issue(
            subject,
            token_type=REFRESH,
            ttl=current.options.refresh_lifetime,
            claims={"sid": sid},
        ),
    }


def _verify_refresh(request: Any, current: State) -> Any:
    token = request.data.get("refresh")
    if not isinstance(token, str):
        raise InvalidRefreshTokenError()
    try:
        claims = current.options.manager.verify(token, token_type=REFRESH)
    except RevokedTokenError:
        # Spent or logged out: a replay of a spent token means theft, so end the session; for a
        # logged-out one this changes nothing. The claims are read again only for `sid`.
        sid = _unverified_sid(current, token)
        if sid is not None:
            _end_session(current, sid)
        raise InvalidRefreshTokenError() from None
    except TokenError:
        raise InvalidRefreshTokenError() from None
    if not isinstance(claims.get("sid"), str):
        raise InvalidRefreshTokenError()
    return claims


def _unverified_sid(current: State, token: str) -> str | None:
    # The token verified up to revocation: verify it again by a manager without the revocation
    # view (a separate one: the shared manager is in use by other threads).
    manager = current.options.manager
    bare = TokenManager(manager.keyring, issuer="-", audience=None, cache_size=0)
    bare.policy = manager.policy
    try:
        sid = bare.verify(token, token_type=REFRESH).get("sid")
    except TokenError:
        return None
    return sid if isinstance(sid, str) else None


def _end_session(current: State, sid: str) -> None:
    # Every token of the session, access or refresh, expires within a refresh lifetime.
    _revoke(current, "revoke_session", sid, time.time() + current.options.refresh_lifetime)


def _revoke(current: State, method: str, ident: str, until: float) -> None:
    store = current.runtime.revocations
    if store is None:
        raise ConfigurationError("the views need a revocation store")
    issuer = current.options.issuer
    current.runtime.call(getattr(store, method)(issuer, ident, until))


def _active(current: State, subject: str) -> bool:
    model = get_user_model()
    lookup = {current.options.user_id_field: subject, "is_active": True}
    try:
        return bool(model._default_manager.filter(**lookup).exists())
    except (ValueError, TypeError):
        return False


def _json(data: dict[str, str]) -> HttpResponse:
    return HttpResponse(
        json_dumps(data),
        content_type="application/json",
        headers={"Cache-Control": "no-store"},  # RFC 6749 section 5.1: tokens are not cached
    )


def _bad_request(detail: str) -> HttpResponse:
    body = {"type": "about:blank", "title": "Bad Request", "status": 400, "detail": detail}
    return HttpResponse(json_dumps(body), status=400, content_type=PROBLEM_JSON)


def _problem(error: AuthenticationError) -> HttpResponse:
    body = {
        "type": f"urn:jwtauth:problem:{error.code}",
        "title": "Unauthorized",
        "status": 401,
        "detail": error.message,
    }
    return HttpResponse(json_dumps(body), status=401, content_type=PROBLEM_JSON)
