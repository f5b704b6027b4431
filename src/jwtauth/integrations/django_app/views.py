"""simplejwt's token views (``TokenObtainPairView``, ``TokenRefreshView``, ``TokenBlacklistView``)
with their request and answer shapes, as thin shims over the embedded auth's service: the same
:class:`~jwtauth.auth.service.AuthService` that ``jwtauth_urls`` serves, on the same tables.

* obtain: ``{"<USERNAME_FIELD>": ..., "password": ...}`` → ``{"access": ..., "refresh": ...}``
  through the service's login: Django's password hashers, ``is_active``, the lockout, the login
  rate limits per address and per account, a session in the sessions table;
* refresh: ``{"refresh": ...}`` → a new pair through the service's rotation, one conditional
  UPDATE: of any number of concurrent refreshes of one token exactly one wins, in one process or
  many; presenting a spent token again revokes its whole session (every access token of it too);
* logout: ``{"refresh": ...}`` → ``{}``: the refresh token's session ends, access tokens included.

The refresh token is the service's opaque one (256 random bits, stored only as a hash), not a
JWT. Custom claims come from :meth:`ObtainView.claims_for` of the obtain view the URLconf mounts,
asked at obtain, at every refresh and by ``/auth/login``, so they never vanish on refresh.
Errors are problem+json: 400 for a body that is no object or lacks a field, 401 for wrong
credentials or a dead refresh token, 429 with ``Retry-After`` when limited or locked, 503 while
the embedded auth is unavailable. Without the embedded auth (verify-only settings, no
``jwtauth[server]``, a database its tables cannot live in) mounting these views stops the
URLconf from loading (``ImproperlyConfigured``, naming what is missing): they never fall back
to JWT refresh tokens rotated through the revocation store, which several concurrent refreshes
could all win (docs/decisions/025-drf-token-views-on-the-service.md).
"""

from __future__ import annotations

import contextlib
import copy
import inspect
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from django.contrib.auth import get_user_model  # type: ignore[import-untyped]
from django.core.exceptions import ImproperlyConfigured  # type: ignore[import-untyped]
from django.http import HttpResponse  # type: ignore[import-untyped]
from django.urls import URLResolver, get_resolver, path  # type: ignore[import-untyped]
from django.utils import timezone  # type: ignore[import-untyped]
from rest_framework.permissions import AllowAny  # type: ignore[import-untyped]
from rest_framework.views import APIView  # type: ignore[import-untyped]

from jwtauth.auth.identity import normalise_email
from jwtauth.auth.service import AuthService, ClientInfo, MfaChallenge, TokenPair
from jwtauth.errors import (
    AuthenticationError,
    ConfigurationError,
    InvalidCredentialsError,
    JWTAuthError,
    RateLimitedError,
    SigningUnavailableError,
)
from jwtauth.integrations._http import PROBLEM_JSON, mark_public
from jwtauth.integrations.django_app.auth_api import DjangoUsers, _orm
from jwtauth.integrations.django_app.state import State, state
from jwtauth.ratelimit.addresses import address_key
from jwtauth.server.middleware import client_address
from jwtauth.tokens.encoding import json_dumps
from jwtauth.types import UserRecord

__all__ = ["LogoutView", "ObtainView", "RefreshView", "token_urls", "view_claims"]

_log = logging.getLogger("jwtauth.integrations.django")

# The contract's bounds (jwtauth.server.schemas): nothing larger reaches a hasher or the store.
_MAX_NAME, _MAX_PASSWORD, _MAX_REFRESH = 320, 1024, 512


class _RefusedError(Exception):
    """A problem answer decided before the service is asked."""

    def __init__(self, status: int, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status, self.detail, self.extra = status, detail, extra


def _refuse_without_auth(current: State) -> None:
    # Settings that cannot give the embedded auth are refused; a runtime installed by hand
    # (JWTAuthConfig.install, tests) is the caller's choice: its requests answer 503.
    if current.auth is None and current.auth_unavailable is not None:
        raise ImproperlyConfigured(
            f"jwtauth: the token views need the embedded auth; {current.auth_unavailable}"
        )


def _why(current: State) -> str:
    return current.auth_unavailable or "JWTAuthConfig.install() replaced the runtime"


class _TokenView(APIView):  # type: ignore[misc]
    authentication_classes = ()
    permission_classes = (AllowAny,)

    @classmethod
    def as_view(cls, **initkwargs: Any) -> Any:
        """The view, refused when mounted without the embedded auth: the URLconf does not load
        (``manage.py check``, ``runserver`` and ``migrate`` stop), naming what is missing."""
        _refuse_without_auth(state())
        return super().as_view(**initkwargs)

    def post(self, request: Any) -> HttpResponse:
        current = state()
        if current.auth is None:  # the settings changed since the URLconf loaded
            _log.error("jwtauth: the token views need the embedded auth; %s", _why(current))
            return _problem(503, "The authentication service is unavailable.", "not_ready")
        if not isinstance(request.data, Mapping):  # [], "x", 12, null: valid JSON, no object
            return _problem(400, "The body must be a JSON object.")
        try:
            body, headers = self.handle(request.data, _client(request, current), current)
        except _RefusedError as refused:
            return _problem(refused.status, refused.detail, **refused.extra)
        except (RateLimitedError, AuthenticationError, SigningUnavailableError) as exc:
            return _refusal(exc)
        return _json(body, headers)

    def handle(
        self, data: Mapping[str, Any], client: ClientInfo, current: State
    ) -> tuple[dict[str, Any], dict[str, str]]:  # pragma: no cover - each view has its own
        raise NotImplementedError


@mark_public
class ObtainView(_TokenView):
    """``POST {"<USERNAME_FIELD>": ..., "password": ...}`` → ``{"access": ..., "refresh": ...}``.

    A user enrolled in TOTP (through ``jwtauth_urls``) gets ``/auth/login``'s challenge instead,
    ``{"mfa_required": true, "mfa_token": ..., "expires_in": ...}``, to complete at
    ``/auth/mfa/totp/verify``.
    """

    def handle(
        self, data: Mapping[str, Any], client: ClientInfo, current: State
    ) -> tuple[dict[str, Any], dict[str, str]]:
        field = get_user_model().USERNAME_FIELD
        name = _field(data, field, _MAX_NAME)
        password = _field(data, "password", _MAX_PASSWORD)
        try:
            account = normalise_email(name)
        except ValueError:  # a look-alike mix of scripts: no account is named so
            raise InvalidCredentialsError() from None
        auth = current.auth
        outcome, headers = current.runtime.call(_login(auth, field, account, password, client))
        if isinstance(outcome, MfaChallenge):
            challenge = {"mfa_token": outcome.mfa_token, "expires_in": outcome.expires_in}
            return {"mfa_required": True, **challenge}, headers
        _logged_in(current, outcome.user_id)
        return _pair(outcome), headers

    def claims_for(self, user: Any) -> Mapping[str, Any]:
        """Extra claims of the user's access tokens (``scope``, ``roles``); none by default.

        Override it in a subclass and mount that: it is asked at obtain, at every refresh and
        by ``/auth/login``, with the user model's row, so the claims follow the user's current
        state and survive refresh. Registered claims and ``sid``, ``amr``, ``fgp`` are refused.
        """
        return {}


@mark_public
class RefreshView(_TokenView):
    """``POST {"refresh": ...}`` → a new ``{"access": ..., "refresh": ...}``; the old refresh
    token is spent, and presenting it again ends the session."""

    def handle(
        self, data: Mapping[str, Any], client: ClientInfo, current: State
    ) -> tuple[dict[str, Any], dict[str, str]]:
        token = _field(data, "refresh", _MAX_REFRESH)
        pair, headers = current.runtime.call(_refresh(current.auth, token, client))
        return _pair(pair), headers


@mark_public
class LogoutView(_TokenView):
    """``POST {"refresh": ...}`` → ``{}``: the refresh token's session ends, with its access
    tokens (simplejwt's blacklist)."""

    def handle(
        self, data: Mapping[str, Any], client: ClientInfo, current: State
    ) -> tuple[dict[str, Any], dict[str, str]]:
        token = _field(data, "refresh", _MAX_REFRESH)
        current.runtime.call(_logout(current.auth, token, client))
        return {}, {}


def token_urls() -> list[Any]:
    """``obtain/``, ``refresh/`` and ``logout/``, to ``include()`` under a prefix."""
    return [
        path("obtain/", ObtainView.as_view(), name="jwtauth-obtain"),
        path("refresh/", RefreshView.as_view(), name="jwtauth-refresh"),
        path("logout/", LogoutView.as_view(), name="jwtauth-logout"),
    ]


# The service calls, on the runtime's loop ----------------------------------------------------


async def _login(
    auth: Any, field: str, account: str, password: str, client: ClientInfo
) -> tuple[TokenPair | MfaChallenge, dict[str, str]]:
    server = auth.state
    # The limits /auth/login counts, on the same buckets: per address, and per account name as
    # typed (a username here, an email there). The lockout behind them counts per account
    # whichever name is typed (user_key), so switching routes buys no extra guesses.
    headers = await server.throttle.check(
        ("login-ip", address_key(client.ip, server.ipv6_prefix)), ("login-account", account)
    )
    outcome = await _login_service(server.service, field).login(account, password, client)
    await server.throttle.forget("login-account", account)
    return outcome, headers


def _login_service(service: AuthService, field: str) -> AuthService:
    """The service, logging in by ``field``: itself when that is the email field the service
    looks users up by, else a copy sharing every store and policy whose user lookup reads the
    username field (the login path, lockout and second factor are the service's own code)."""
    users = service.users
    if not isinstance(users, DjangoUsers) or field == get_user_model().get_email_field_name():
        return service
    by_name = copy.copy(service)
    by_name.users = _ByUsername(users.user_id_field)
    return by_name


class _ByUsername(DjangoUsers):
    """The project's users, looked up at login by ``USERNAME_FIELD`` (case-insensitively, as
    the service normalises the name; two users differing only in case log in as neither)."""

    async def by_email(self, email: str) -> UserRecord | None:
        model = self._model

        def find() -> UserRecord | None:
            lookup = {f"{model.USERNAME_FIELD}__iexact": email}
            found = list(model._default_manager.filter(**lookup)[:2])
            return self._record(found[0]) if len(found) == 1 else None

        return await _orm(find)


async def _refresh(auth: Any, token: str, client: ClientInfo) -> tuple[TokenPair, dict[str, str]]:
    server = auth.state
    headers: dict[str, str] = {}
    if server.throttle.enabled:  # as /auth/refresh: the owner is looked up only for the limit
        owner = await server.service.refresh_owner(token)
        if owner is not None:
            headers = await server.throttle.check(("refresh-user", owner))
    return await server.service.refresh(token, client), headers


async def _logout(auth: Any, token: str, client: ClientInfo) -> None:
    service: AuthService = auth.state.service
    # The store finds a session by its refresh token only through rotation: rotate, then end
    # the session. A spent token is a reuse, which revokes the session anyway (and is refused).
    pair = await service.refresh(token, client)
    await service.revoke_session({"sub": pair.user_id}, pair.session_id)


# Claims -----------------------------------------------------------------------------------------


async def view_claims(
    user: UserRecord, fallback: Callable[[UserRecord], Any] | None = None
) -> Mapping[str, Any]:
    """The embedded auth's claims hook: :meth:`ObtainView.claims_for` of the obtain view the
    URLconf mounts, with the user model's row; else ``fallback`` (``JWTAUTH_CLAIMS_HOOK``).

    Raises:
        ConfigurationError: the URLconf mounts obtain views with different ``claims_for``.
    """
    view = await _orm(_mounted_obtain_view)
    if view is None:
        if fallback is None:
            return {}
        extra = fallback(user)
        return dict(await extra) if inspect.isawaitable(extra) else dict(extra)
    field = state().options.user_id_field
    model = get_user_model()

    def claims() -> Mapping[str, Any]:
        try:
            row = model._default_manager.get(**{field: user.id})
        except (model.DoesNotExist, ValueError, TypeError):
            return {}  # gone since the service read it: the service refuses the user anyway
        return view().claims_for(row)

    return await _orm(claims)


_found: tuple[Any, type[ObtainView] | None] | None = None


def _mounted_obtain_view() -> type[ObtainView] | None:
    """The ObtainView subclass with its own ``claims_for`` that the URLconf mounts, if any;
    looked up once per URLconf (the first login or refresh loads it, as a request would)."""
    global _found  # noqa: PLW0603 - a cache of one entry, replaced whole
    resolver = get_resolver()
    cached = _found
    if cached is not None and cached[0] is resolver:
        return cached[1]
    views = {
        view.claims_for: view
        for view in _view_classes(resolver.url_patterns)
        if issubclass(view, ObtainView) and view.claims_for is not ObtainView.claims_for
    }
    if len(views) > 1:
        names = ", ".join(sorted(v.__qualname__ for v in views.values()))
        raise ConfigurationError(
            f"the URLconf mounts obtain views with different claims_for ({names}): a refresh "
            "cannot tell which one opened the session; mount one"
        )
    found = next(iter(views.values()), None)
    _found = (resolver, found)
    return found


def _view_classes(patterns: Sequence[Any]) -> list[type]:
    classes: list[type] = []
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            classes.extend(_view_classes(pattern.url_patterns))
            continue
        view = getattr(getattr(pattern, "callback", None), "view_class", None)
        if isinstance(view, type):
            classes.append(view)
    return classes


# Requests and answers ---------------------------------------------------------------------------


def _field(data: Mapping[str, Any], name: str, longest: int) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value or len(value) > longest:
        raise _RefusedError(
            400,
            "The request is invalid.",
            errors=[{"loc": ["body", name], "msg": f"a string of 1 to {longest} characters"}],
        )
    return value


def _client(request: Any, current: State) -> ClientInfo:
    meta = request.META
    scope = {  # what client_address reads of an ASGI scope
        "client": (meta.get("REMOTE_ADDR") or "", 0),
        "headers": [
            (b"x-forwarded-for", str(meta["HTTP_X_FORWARDED_FOR"]).encode("latin-1", "replace"))
        ]
        if "HTTP_X_FORWARDED_FOR" in meta
        else [],
    }
    current.runtime.start()  # the auth's state (its trusted proxies) exists once started
    agent = meta.get("HTTP_USER_AGENT")
    return ClientInfo(
        ip=client_address(scope, current.auth.state.trusted_proxies),
        user_agent=str(agent)[:512] if agent else None,
    )


def _logged_in(current: State, user_id: str) -> None:
    # simplejwt's UPDATE_LAST_LOGIN, always on (the system check says so when it is set).
    field = current.options.user_id_field
    manager = get_user_model()._default_manager
    with contextlib.suppress(ValueError, TypeError):  # the service has just found this user
        manager.filter(**{field: user_id}).update(last_login=timezone.now())


def _refusal(exc: JWTAuthError) -> HttpResponse:
    if isinstance(exc, RateLimitedError):  # an account lockout too: never a hint of a guess
        return _problem(429, exc.message, exc.code, headers=exc.headers)
    status = 401 if isinstance(exc, AuthenticationError) else 503
    return _problem(status, exc.message, exc.code)


def _pair(pair: TokenPair) -> dict[str, Any]:
    return {"access": pair.access_token, "refresh": pair.refresh_token}


def _json(data: Mapping[str, Any], headers: Mapping[str, str]) -> HttpResponse:
    return HttpResponse(
        json_dumps(dict(data)),
        content_type="application/json",
        # RFC 6749 section 5.1: tokens are not cached; the RateLimit headers as /auth/ sends.
        headers={**headers, "Cache-Control": "no-store"},
    )


_TITLES = {400: "Bad Request", 401: "Unauthorized", 429: "Too Many Requests"}


def _problem(
    status: int,
    detail: str,
    code: str | None = None,
    *,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> HttpResponse:
    body = {
        "type": f"urn:jwtauth:problem:{code}" if code else "about:blank",
        "title": _TITLES.get(status, "Service Unavailable"),
        "status": status,
        "detail": detail,
        **extra,
    }
    return HttpResponse(
        json_dumps(body),
        status=status,
        content_type=PROBLEM_JSON,
        headers={**(headers or {}), "Cache-Control": "no-store"},
    )
