"""Flask: an extension with flask-jwt-extended's names, cookie + CSRF mode, deny by default.

::

    auth = JWTAuth(app, authenticator)         # or JWTAuth(authenticator=...).init_app(app)
    app.config["JWTAUTH_PROTECT_ALL"] = True   # every endpoint needs a token ...

    @app.get("/health")
    @public                                    # ... unless marked public
    def health(): ...

    @app.get("/me")
    @jwt_required()                            # explicit, and the only way without PROTECT_ALL
    def me(): return {"sub": get_jwt_identity(), "name": current_user.name}

    @auth.user_lookup_loader
    def load_user(claims): return User.query.get(claims["sub"])

Configuration (``app.config``): ``JWTAUTH_PROTECT_ALL`` (deny by default, off unless set),
``JWTAUTH_COOKIES`` (also accept the auth server's cookies: the access token from
``__Host-jwtauth-access``, and on unsafe methods ``X-CSRF-Token`` must equal the
``__Host-jwtauth-csrf`` cookie), ``JWTAUTH_PUBLIC_ENDPOINTS`` (endpoint names, ``["static"]``).
A token bound to a fingerprint needs the ``__Host-jwtauth-fgp`` cookie in either mode.

Verification is synchronous on the request thread; a Redis revocation store follows its channel
on one background loop per process (:mod:`jwtauth.integrations._sync`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection
from typing import Any, TypeVar, cast

from flask import Flask, Response, current_app, g, request
from werkzeug.local import LocalProxy

from jwtauth.audit import Protection, RouteRow
from jwtauth.browser import ACCESS_COOKIE, CSRF_COOKIE, CSRF_HEADER, check_double_submit
from jwtauth.errors import (
    ConfigurationError,
    CSRFError,
    InsufficientScopeError,
    JWTAuthError,
    MissingTokenError,
    TokenError,
    UnknownSubjectError,
)
from jwtauth.integrations._http import Authenticator, is_public, mark_public
from jwtauth.integrations._http import require_scopes as check_scopes
from jwtauth.integrations._sync import SyncRuntime
from jwtauth.manager import TokenManager
from jwtauth.types import Claims

__all__ = [
    "ACCESS_COOKIE",
    "CSRF_COOKIE",
    "CSRF_HEADER",
    "JWTAuth",
    "audit_routes",
    "current_user",
    "get_jwt",
    "get_jwt_identity",
    "jwt_required",
    "public",
    "verify_jwt_in_request",
]

# The auth server's cookie transport (jwtauth.server.transport, which needs Starlette).
_EXTENSION = "jwtauth"
_CLAIMS, _USER = "_jwtauth_claims", "_jwtauth_user"
_REQUIRED = "__jwtauth_required__"  # (optional, scopes) of a @jwt_required view
F = TypeVar("F", bound=Callable[..., Any])
UserLookup = Callable[[Claims], Any]

public = mark_public
"""Marks a view function (or a ``MethodView`` class) reachable without a token."""


class JWTAuth:
    """jwtauth in a Flask application.

    Args:
        app: the application (or call :meth:`init_app` later).
        authenticator: an :class:`Authenticator`, a :class:`TokenManager`, or a
            :class:`SyncRuntime`; by default one built from the ``JWTAUTH_*`` settings
            (:class:`jwtauth.config.Settings`: key, ``JWTAUTH_ISSUER``, audience, Redis).
    """

    def __init__(
        self,
        app: Flask | None = None,
        authenticator: Authenticator | TokenManager | SyncRuntime | None = None,
    ) -> None:
        if authenticator is None:
            authenticator = _from_settings()
        if isinstance(authenticator, TokenManager):
            authenticator = Authenticator(authenticator)
        if isinstance(authenticator, Authenticator):
            authenticator = SyncRuntime(authenticator)
        self.runtime = authenticator
        self.user_lookup: UserLookup | None = None
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Register the extension, its error answers and (``JWTAUTH_PROTECT_ALL``) the guard."""
        if app.extensions.get(_EXTENSION, self) is not self:
            raise ConfigurationError("another JWTAuth is already installed on this app")
        app.extensions[_EXTENSION] = self
        app.config.setdefault("JWTAUTH_PROTECT_ALL", False)
        app.config.setdefault("JWTAUTH_COOKIES", False)
        app.config.setdefault("JWTAUTH_PUBLIC_ENDPOINTS", ["static"])
        for error in (TokenError, InsufficientScopeError, CSRFError):
            app.register_error_handler(error, self._answer)
        app.before_request(_deny_by_default)

    def user_lookup_loader(self, loader: UserLookup) -> UserLookup:
        """Decorator: ``loader(claims)`` returns the user :data:`current_user` stands for, or
        ``None`` (401 ``unknown_subject``)."""
        self.user_lookup = loader
        return loader

    def verify(self) -> Claims:
        """The claims of the current request: the bearer header, else (cookie mode) the
        access cookie, CSRF-checked on unsafe methods.

        Raises:
            TokenError: no token, or one that does not verify.
            CSRFError: a cookie-authenticated unsafe request without the matching header.
        """
        header = request.headers.get("Authorization")
        if header is None and current_app.config["JWTAUTH_COOKIES"]:
            token = request.cookies.get(ACCESS_COOKIE)
            if token is not None:
                _check_csrf()
                header = f"Bearer {token}"
        return self.runtime.verify(header, request.cookies.get)

    def _answer(self, error: Exception) -> Response:
        if not isinstance(error, JWTAuthError):  # pragma: no cover - registered for ours only
            raise error
        answer = self.runtime.authenticator.answer(error)
        return Response(answer.body, answer.status, headers=list(answer.headers))


def _from_settings() -> SyncRuntime:
    from jwtauth.config import Settings  # noqa: PLC0415 - pydantic, only for this path
    from jwtauth.keys.loading import load_keyring  # noqa: PLC0415
    from jwtauth.stores.memory import MemoryRevocationStore  # noqa: PLC0415
    from jwtauth.types import RevocationStore  # noqa: PLC0415

    settings = Settings.load()
    if settings.issuer is None:
        raise ConfigurationError("JWTAuth(app) without an authenticator needs JWTAUTH_ISSUER")
    manager = TokenManager(
        load_keyring(settings),
        issuer=settings.issuer,
        audience=settings.audience,
        ttl=settings.access_ttl,
        leeway=settings.leeway,
    )
    store: RevocationStore = MemoryRevocationStore()
    if settings.redis_url is not None:
        from jwtauth.stores.redis import RedisRevocationStore  # noqa: PLC0415

        store = RedisRevocationStore(settings.redis_url.get_secret_value())
    return SyncRuntime(Authenticator(manager, revocations=store), revocations=store)


def _extension() -> JWTAuth:
    found = current_app.extensions.get(_EXTENSION)
    if not isinstance(found, JWTAuth):
        raise ConfigurationError("JWTAuth(app) or init_app(app) was not called")
    return found


def _check_csrf() -> None:
    # Double submit, as the auth server does it (one definition: jwtauth.browser).
    check_double_submit(
        request.method, request.headers.get(CSRF_HEADER), request.cookies.get(CSRF_COOKIE)
    )


def verify_jwt_in_request(optional: bool = False) -> Claims | None:
    """Verify the request's token once per request (the result is kept on ``g``).

    Args:
        optional: no token is fine (``None``); a token that is present must still verify.

    Raises:
        TokenError, CSRFError: answered as 401 / 403 by the extension's error handlers.
    """
    if _CLAIMS in g:
        claims: Claims | None = g.get(_CLAIMS)
        if claims is not None or optional:
            return claims
    try:
        claims = _extension().verify()
    except MissingTokenError:
        if not optional:
            raise
        claims = None
    setattr(g, _CLAIMS, claims)
    return claims


def jwt_required(optional: bool = False, scopes: Collection[str] = ()) -> Callable[[F], F]:
    """Decorate a view to require a valid token (``optional``: or none), granting ``scopes``."""
    if isinstance(scopes, str) or not all(isinstance(s, str) and s for s in scopes):
        raise ConfigurationError("scopes are a collection of scope names")
    required = tuple(sorted(set(scopes)))

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            claims = verify_jwt_in_request(optional=optional and not required)
            if required and claims is not None:
                check_scopes(claims, required)
            return current_app.ensure_sync(view)(*args, **kwargs)

        setattr(guarded, _REQUIRED, (optional and not required, required))
        return cast("F", guarded)

    return decorate


def get_jwt() -> dict[str, Any]:
    """The verified claims of the current request (``{}`` when an optional token is absent)."""
    if _CLAIMS not in g:
        raise ConfigurationError("get_jwt() outside a @jwt_required (or protected) view")
    claims = g.get(_CLAIMS)
    return dict(claims) if claims is not None else {}


def get_jwt_identity() -> Any:
    """The token's subject (`sub`), or ``None`` without a token."""
    return get_jwt().get("sub")


def _current_user() -> Any:
    if _USER not in g:
        loader = _extension().user_lookup
        if loader is None:
            raise ConfigurationError("current_user needs a @user_lookup_loader")
        claims = get_jwt()
        user = loader(claims) if claims else None
        if claims and user is None:
            raise UnknownSubjectError()
        setattr(g, _USER, user)
    return g.get(_USER)


current_user: Any = LocalProxy(_current_user)
"""The user of the current request's token, from the extension's user loader."""


# Deny by default and the audit -------------------------------------------------------------------


def _deny_by_default() -> None:
    if not current_app.config["JWTAUTH_PROTECT_ALL"] or request.endpoint is None:
        return  # off, or no route matched (Flask answers 404 / 405)
    if _public_endpoint(current_app, request.endpoint, request.method):
        if request.headers.get("Authorization"):
            # A public view may still read a token; a bad one is ignored there.
            try:
                verify_jwt_in_request(optional=True)
            except TokenError:
                setattr(g, _CLAIMS, None)
        return
    verify_jwt_in_request()


def _public_endpoint(app: Flask, endpoint: str, method: str) -> bool:
    if endpoint in app.config.get("JWTAUTH_PUBLIC_ENDPOINTS", ()):
        return True
    view = app.view_functions.get(endpoint)
    view_class = getattr(view, "view_class", None)
    handler = getattr(view_class, method.lower(), None)
    return is_public(view) or is_public(view_class) or is_public(handler)


def audit_routes(app: Flask) -> list[RouteRow]:
    """Every rule of ``app`` with its effective protection (see :mod:`jwtauth.audit`)."""
    installed = isinstance(app.extensions.get(_EXTENSION), JWTAuth)
    protect_all = installed and bool(app.config.get("JWTAUTH_PROTECT_ALL"))
    rows = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint)):
        methods = tuple(sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})) or ("*",)
        kind, detail = _protection(
            app, rule.endpoint, methods, installed=installed, all_=protect_all
        )
        rows.append(RouteRow(rule.rule, methods, kind, detail))
    return rows


def _protection(
    app: Flask, endpoint: str, methods: tuple[str, ...], *, installed: bool, all_: bool
) -> tuple[Protection, str]:
    view = app.view_functions.get(endpoint)
    required = getattr(view, _REQUIRED, None)
    if installed and required is not None and not required[0]:
        return "protected", " ".join(required[1])
    if all(_public_endpoint(app, endpoint, m) for m in methods):
        return "public", ""
    if all_:
        return "protected", ""
    if required is not None:
        return "unprotected", "optional token"
    return "unprotected", "" if installed else "no JWTAuth"
