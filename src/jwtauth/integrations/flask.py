"""Flask: an extension with flask-jwt-extended's names, cookie + CSRF mode, deny by default.

::

    auth = JWTAuth(app)                        # key, issuer, Redis from app.config / JWTAUTH_*
    # or JWTAuth(app, manager), JWTAuth(app, runtime), or auth = JWTAuth(); auth.init_app(app)
    app.config["JWTAUTH_PROTECT_ALL"] = True   # every endpoint needs a token ...

    @app.post("/login")
    @public                                    # ... unless marked public
    def login(): return {"access_token": create_access_token(identity=user.id)}

    @app.get("/me")
    @jwt_required()                            # explicit, and the only way without PROTECT_ALL
    def me(): return {"sub": get_jwt_identity(), "name": current_user.name}

    @app.delete("/logout")
    @jwt_required()
    def logout(): auth.revoke_token(get_jwt()); return "", 204

    @auth.user_lookup_loader
    def load_user(claims): return User.query.get(claims["sub"])   # or (jwt_header, jwt_data)

Configuration (``app.config``): ``JWTAUTH_PROTECT_ALL`` (deny by default, off unless set),
``JWTAUTH_COOKIES`` (also accept the auth server's cookies: the access token from
``__Host-jwtauth-access``, and on unsafe methods ``X-CSRF-Token`` must equal the
``__Host-jwtauth-csrf`` cookie), ``JWTAUTH_PUBLIC_ENDPOINTS`` (endpoint names, ``["static"]``).
A token bound to a fingerprint needs the ``__Host-jwtauth-fgp`` cookie in either mode. Without
an authenticator, every other ``JWTAUTH_*`` key of ``app.config`` is a
:class:`jwtauth.config.Settings` field (over the environment's), checked by
:meth:`JWTAuth.init_app`.

With ``JWTAuth(app, EmbeddedAuth(settings))`` (``jwtauth[flask,server]``) the application also
serves the auth server's API under ``/auth/`` and ``/.well-known/`` (docs/api.md): login,
refresh with rotation, logout, sessions, TOTP, JWKS, with the server's limits, lockout, headers
and problem+json answers, over the SQL stores of ``JWTAUTH_DATABASE_URL``; its tokens are the
ones ``@jwt_required()`` verifies.

Verification is synchronous on the request thread; a Redis revocation store follows its channel,
and revocations are written, on one background loop per process
(:class:`jwtauth.integrations.SyncRuntime`).
"""

from __future__ import annotations

import functools
import inspect
import io
import sys
import weakref
from collections.abc import Callable, Collection, Mapping
from copy import copy
from datetime import timedelta
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar, cast

from flask import Flask, Response, current_app, g, has_app_context, request
from werkzeug.local import LocalProxy

from jwtauth.errors import (
    ClaimError,
    ConfigurationError,
    CSRFError,
    ExpiredTokenError,
    InsufficientScopeError,
    JWTAuthError,
    KeyConfigurationError,
    MalformedTokenError,
    MissingClaimError,
    MissingTokenError,
    RevokedTokenError,
    ServiceUnavailableError,
    TokenError,
    UnknownSubjectError,
)
from jwtauth.integrations import Authenticator, SyncRuntime
from jwtauth.integrations._http import is_public, mark_public
from jwtauth.integrations._http import require_scopes as check_scopes
from jwtauth.integrations._wsgi import MAX_BODY, call_asgi
from jwtauth.integrations.audit import Protection, RouteRow
from jwtauth.manager import TokenManager
from jwtauth.redis_namespace import redis_namespace
from jwtauth.stores.memory import DEFAULT_MAX_TOKEN_LIFETIME, MemoryRevocationStore
from jwtauth.transport.bearer import bearer_token
from jwtauth.transport.browser import ACCESS_COOKIE, CSRF_COOKIE, CSRF_HEADER, check_double_submit
from jwtauth.types import Claims, RevocationStore

if TYPE_CHECKING:
    from jwtauth.server.embedded import EmbeddedAuth

__all__ = [
    "ACCESS_COOKIE",
    "CSRF_COOKIE",
    "CSRF_HEADER",
    "MAX_TOKEN_LIFETIME",
    "JWTAuth",
    "audit_routes",
    "create_access_token",
    "current_user",
    "decode_token",
    "get_current_user",
    "get_jti",
    "get_jwt",
    "get_jwt_header",
    "get_jwt_identity",
    "jwt_required",
    "public",
    "verify_jwt_in_request",
]

MAX_TOKEN_LIFETIME = DEFAULT_MAX_TOKEN_LIFETIME
"""The longest ``expires_delta`` :meth:`JWTAuth.create_access_token` grants (30 days): a
revocation store keeps an entry that long at most, so a longer-lived token would outlive its
revocation."""

_EXTENSION = "jwtauth"
_RUNTIME = "jwtauth.runtime"  # app.extensions: the runtime init_app built from the settings
_CLAIMS, _USER, _AUTHORIZATION = "_jwtauth_claims", "_jwtauth_user", "_jwtauth_authorization"
_REQUIRED = "__jwtauth_required__"  # (optional, scopes) of a @jwt_required view
# The extension's own keys; every other JWTAUTH_* key of app.config must be a Settings field, so
# that a typo fails init_app instead of leaving a default in force.
_FLASK_SETTINGS: dict[str, Any] = {
    "JWTAUTH_PROTECT_ALL": False,
    "JWTAUTH_COOKIES": False,
    "JWTAUTH_PUBLIC_ENDPOINTS": ["static"],
}
_GUIDE = "docs/migrating-from-flask-jwt-extended.md"
F = TypeVar("F", bound=Callable[..., Any])
UserLookup = Callable[..., Any]
"""``(claims)``, or flask-jwt-extended's ``(jwt_header, jwt_data)``: the user, or ``None``."""
Fresh = bool | float | timedelta

public = mark_public
"""Marks a view function (or a ``MethodView`` class) reachable without a token."""


def _unsupported(name: str, instead: str) -> Callable[[JWTAuth, Callable[..., Any]], NoReturn]:
    """A flask-jwt-extended loader that has no jwtauth counterpart: refused where it is
    registered (at import), never ignored."""

    def refuse(self: JWTAuth, callback: Callable[..., Any]) -> NoReturn:
        raise ConfigurationError(f"JWTAuth.{name} is not supported: {instead} (see {_GUIDE})")

    refuse.__name__ = refuse.__qualname__ = name
    refuse.__doc__ = f"flask-jwt-extended's ``{name}``, refused: {instead}."
    return refuse


_ANSWERS = "jwtauth answers every refusal as RFC 9457 problem+json (urn:jwtauth:problem:<code>)"


class JWTAuth:
    """jwtauth in a Flask application.

    Args:
        app: the application (or call :meth:`init_app` later, once per application).
        authenticator: an :class:`~jwtauth.integrations.Authenticator`, a
            :class:`~jwtauth.manager.TokenManager` (given an in-process revocation store when
            it has no revocation view), or a :class:`~jwtauth.integrations.SyncRuntime` (with
            ``revocations=`` for the ``revoke_*`` methods). By default :meth:`init_app` builds
            one per application from the :class:`jwtauth.config.Settings`: ``JWTAUTH_*`` keys
            of ``app.config`` over ``JWTAUTH_*`` environment variables (key, ``JWTAUTH_ISSUER``,
            audience, access-token lifetime, ``JWTAUTH_REDIS_URL``).
    """

    def __init__(
        self,
        app: Flask | None = None,
        authenticator: Authenticator | TokenManager | SyncRuntime | EmbeddedAuth | None = None,
    ) -> None:
        self._embedded = _embedded(authenticator)
        if self._embedded is not None:
            self._shared: SyncRuntime | None = SyncRuntime(self._embedded.authenticator)
        elif authenticator is None:
            self._shared = None
        else:
            self._shared = _runtime_of(
                cast("Authenticator | TokenManager | SyncRuntime", authenticator)
            )
        self._apps: weakref.WeakSet[Flask] = weakref.WeakSet()
        self.user_lookup: UserLookup | None = None
        self._lookup_takes_header = False
        self._identity: Callable[[Any], Any] = _same
        self._extra_claims: Callable[[Any], Mapping[str, Any]] | None = None
        if app is not None:
            self.init_app(app)

    @property
    def runtime(self) -> SyncRuntime:
        """What verifies and revokes: the authenticator given to the constructor, else the one
        :meth:`init_app` built for the current application (outside an application context:
        for the only application)."""
        if self._shared is not None:
            return self._shared
        if has_app_context() and current_app.extensions.get(_EXTENSION) is self:
            return cast("SyncRuntime", current_app.extensions[_RUNTIME])
        apps = list(self._apps)
        if len(apps) == 1:
            return cast("SyncRuntime", apps[0].extensions[_RUNTIME])
        raise ConfigurationError(
            "JWTAuth.runtime needs init_app(app), and an application context when it serves "
            "several applications"
        )

    def init_app(self, app: Flask) -> None:
        """Register the extension, its error answers and (``JWTAUTH_PROTECT_ALL``) the guard.

        Without an authenticator, build this application's from the settings now, so that a
        configuration that cannot work stops the application here rather than at its first
        request.

        Raises:
            ConfigurationError: in one line naming the setting, never its value: a missing or
                weak key (too short always; a placeholder or low-entropy secret in production,
                a :class:`~jwtauth.errors.SecurityWarning` in development, as ``jwtauth serve``
                does), no ``JWTAUTH_ISSUER``, a ``JWTAUTH_*`` key that is no setting, a
                flask-jwt-extended ``JWT_*`` key left over, or settings given alongside an
                authenticator.
        """
        installed = app.extensions.get(_EXTENSION)
        if installed is self:
            return
        if installed is not None:
            raise ConfigurationError("another JWTAuth is already installed on this app")
        for name, default in _FLASK_SETTINGS.items():
            app.config.setdefault(name, copy(default))
        overrides = _settings_overrides(app)
        if self._shared is None:
            app.extensions[_RUNTIME] = _from_settings(overrides)
        elif overrides:
            name = "JWTAUTH_" + next(iter(overrides)).upper()
            raise ConfigurationError(
                f"app.config sets {name}, which JWTAuth does not read when it is given an "
                "authenticator"
            )
        app.extensions[_EXTENSION] = self
        self._apps.add(app)
        for error in (TokenError, InsufficientScopeError, CSRFError, ServiceUnavailableError):
            app.register_error_handler(error, self._answer)
        app.before_request(_deny_by_default)
        if self._embedded is not None:
            self._mount(app, self._embedded)

    def _mount(self, app: Flask, auth: EmbeddedAuth) -> None:
        """Serve the auth API's paths from the embedded app, on the runtime's loop."""
        from jwtauth.server.embedded import MOUNTED_PREFIXES  # noqa: PLC0415 - loaded: auth is one

        runtime = self.runtime

        @mark_public  # the auth routes check their own tokens
        def auth_api(rest: str) -> Response:
            environ = dict(request.environ)
            length = request.content_length
            if length is not None and 0 < length <= MAX_BODY:
                # Through Flask's cache: a before_request hook may have read the body already.
                body = request.get_data(cache=True)
                environ["wsgi.input"] = io.BytesIO(body)
                environ["CONTENT_LENGTH"] = str(len(body))
            reply = call_asgi(runtime, auth.app, environ)
            return Response(reply.body, reply.status, headers=reply.headers)

        methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
        for prefix in MOUNTED_PREFIXES:
            app.add_url_rule(
                f"{prefix}/<path:rest>",
                endpoint=f"jwtauth{prefix}",
                view_func=auth_api,
                methods=methods,
                strict_slashes=False,  # never a redirect: the auth app answers every path
            )

    # Loaders -----------------------------------------------------------------------------------

    def user_lookup_loader(self, loader: UserLookup) -> UserLookup:
        """Decorator: the loader returns the user :data:`current_user` stands for, or ``None``
        (401 ``unknown_subject``). It takes the claims, ``loader(claims)``, or, as in
        flask-jwt-extended, the token's protected header and its claims,
        ``loader(jwt_header, jwt_data)``; which one is read from its signature, here.

        Raises:
            ConfigurationError: a signature that fits neither form, or both.
        """
        self._lookup_takes_header = _takes_header(loader)
        self.user_lookup = loader
        return loader

    def user_identity_loader(self, loader: Callable[[Any], str]) -> Callable[[Any], str]:
        """Decorator: ``loader(identity)`` turns the ``identity`` given to
        :meth:`create_access_token` (a user object, say) into the token's `sub` string."""
        self._identity = loader
        return loader

    def additional_claims_loader(
        self, loader: Callable[[Any], Mapping[str, Any]]
    ) -> Callable[[Any], Mapping[str, Any]]:
        """Decorator: ``loader(identity)`` returns claims every :meth:`create_access_token`
        adds (its ``additional_claims`` win over them); registered claims are refused."""
        self._extra_claims = loader
        return loader

    token_in_blocklist_loader = _unsupported(
        "token_in_blocklist_loader",
        "revocation is built in; call revoke_token(get_jwt()), revoke_session(sid) or "
        "revoke_user(sub) and every verification refuses the token",
    )
    expired_token_loader = _unsupported("expired_token_loader", _ANSWERS)
    invalid_token_loader = _unsupported("invalid_token_loader", _ANSWERS)
    unauthorized_loader = _unsupported("unauthorized_loader", _ANSWERS)
    revoked_token_loader = _unsupported("revoked_token_loader", _ANSWERS)
    needs_fresh_token_loader = _unsupported("needs_fresh_token_loader", _ANSWERS)
    user_lookup_error_loader = _unsupported("user_lookup_error_loader", _ANSWERS)
    token_verification_failed_loader = _unsupported("token_verification_failed_loader", _ANSWERS)
    token_verification_loader = _unsupported(
        "token_verification_loader",
        "check claims in the view, or require them with jwt_required(scopes=[...])",
    )
    additional_headers_loader = _unsupported(
        "additional_headers_loader", "jwtauth signs its own header (alg, typ, kid)"
    )
    encode_key_loader = _unsupported(
        "encode_key_loader", "the keyring signs with its signing key (JWTAUTH_* key settings)"
    )
    decode_key_loader = _unsupported(
        "decode_key_loader", "the keyring picks the key by the token's kid, never its header"
    )

    # Issuing -----------------------------------------------------------------------------------

    def create_access_token(
        self,
        identity: Any,
        *,
        fresh: Fresh = False,
        expires_delta: timedelta | None = None,
        additional_claims: Mapping[str, Any] | None = None,
        additional_headers: None = None,
    ) -> str:
        """Sign an access token for ``identity``, flask-jwt-extended's call (keyword arguments).

        Args:
            identity: the `sub`, or what the :meth:`user_identity_loader` turns into it.
            fresh: ``True``, or until when (a ``timedelta`` from now, or a NumericDate) the
                token passes ``jwt_required(fresh=True)``; the `fresh` claim.
            expires_delta: the token's lifetime (at most :data:`MAX_TOKEN_LIFETIME`); by
                default the manager's (``JWTAUTH_ACCESS_TTL``).
            additional_claims: merged over the :meth:`additional_claims_loader`'s claims.
            additional_headers: refused: the header is jwtauth's (`alg`, `typ`, `kid`).

        Raises:
            ConfigurationError: an identity that is not a non-empty string, a registered claim
                or `fresh` among the claims, a lifetime out of range or ``False`` (every token
                expires), headers, or a keyring that cannot sign (resource-server mode).
        """
        if additional_headers is not None:
            raise ConfigurationError("additional_headers: jwtauth signs its own header")
        manager = self.runtime.authenticator.manager
        subject = self._identity(identity)
        if not isinstance(subject, str) or not subject:
            raise ConfigurationError(
                "the identity must be a non-empty string (a user_identity_loader can make one)"
            )
        claims: dict[str, Any] = {}
        if self._extra_claims is not None:
            claims.update(self._extra_claims(identity))
        if additional_claims:
            claims.update(additional_claims)
        if "fresh" in claims:
            raise ConfigurationError("freshness is set with fresh=, not a `fresh` claim")
        claims["fresh"] = _freshness(fresh, manager.clock())
        ttl = None if expires_delta is None else _lifetime(expires_delta)
        try:
            return manager.issue(subject, ttl=ttl, claims=claims)
        except ValueError as exc:  # a registered claim among the additional ones (names only)
            raise ConfigurationError(str(exc)) from None

    # Revoking ----------------------------------------------------------------------------------

    def revoke_token(self, token_or_claims: str | Mapping[str, Any]) -> None:
        """Revoke one access token, by its `jti`, until it expires; returns once the revocation
        store has it (every process refuses it as its store hears of it).

        Args:
            token_or_claims: the encoded token (verified first: a forged token revokes nothing),
                or its verified claims, e.g. :func:`get_jwt` in the view it authenticated.
                An encoded token that has expired or is revoked already needs nothing.

        Raises:
            TokenError: an encoded token that does not verify, or claims without `jti`/`exp`.
            ConfigurationError: no revocation store to write to (see the class's arguments).
        """
        runtime, store = self._revocations()
        if isinstance(token_or_claims, str):
            try:
                claims: Mapping[str, Any] = runtime.authenticator.manager.verify(token_or_claims)
            except (ExpiredTokenError, RevokedTokenError):
                return
        else:
            claims = token_or_claims
        jti, exp = claims.get("jti"), claims.get("exp")
        if not isinstance(jti, str) or not jti:
            raise MissingClaimError("The token has no jti to revoke it by.", claim="jti")
        if isinstance(exp, bool) or not isinstance(exp, int | float):
            raise MissingClaimError("The token has no expiry.", claim="exp")
        issuer = claims.get("iss")
        if not isinstance(issuer, str):
            issuer = _issuer(runtime)
        runtime.call(store.revoke_token(issuer, jti, float(exp)))

    def revoke_session(self, sid: str) -> None:
        """Revoke every access token whose `sid` claim is ``sid`` (a login session of the auth
        server, or one the application puts into its tokens), for as long as any can live."""
        if not isinstance(sid, str) or not sid:
            raise ConfigurationError("a session is revoked by its id, a non-empty string")
        runtime, store = self._revocations()
        until = runtime.authenticator.manager.clock() + MAX_TOKEN_LIFETIME
        runtime.call(store.revoke_session(_issuer(runtime), sid, until))

    def revoke_user(self, sub: str) -> None:
        """Revoke every token issued to ``sub`` until now (logout everywhere, a disabled or
        deleted user, a password change); tokens issued afterwards are accepted."""
        if not isinstance(sub, str) or not sub:
            raise ConfigurationError("a user is revoked by the tokens' sub, a non-empty string")
        runtime, store = self._revocations()
        now = runtime.authenticator.manager.clock()
        runtime.call(store.revoke_subject(_issuer(runtime), sub, now))

    def _revocations(self) -> tuple[SyncRuntime, RevocationStore]:
        runtime = self.runtime
        if runtime.revocations is None:
            raise ConfigurationError(
                "revoking needs the revocation store the tokens are checked against: JWTAuth "
                "from the settings or a TokenManager, or SyncRuntime(..., revocations=store)"
            )
        return runtime, runtime.revocations

    # Verification ------------------------------------------------------------------------------

    def verify(self) -> Claims:
        """The claims of the current request: the bearer header, else (cookie mode) the
        access cookie, CSRF-checked on unsafe methods.

        Raises:
            TokenError: no token, or one that does not verify.
            CSRFError: a cookie-authenticated unsafe request without the matching header.
        """
        return self._verify()[1]

    def _verify(self) -> tuple[str | None, Claims]:
        authorization = request.headers.get("Authorization")
        if authorization is None and current_app.config["JWTAUTH_COOKIES"]:
            token = request.cookies.get(ACCESS_COOKIE)
            if token is not None:
                _check_csrf()
                authorization = f"Bearer {token}"
        return authorization, self.runtime.verify(authorization, request.cookies.get)

    def _answer(self, error: Exception) -> Response:
        if not isinstance(error, JWTAuthError):  # pragma: no cover - registered for ours only
            raise error
        answer = self.runtime.authenticator.answer(error)
        return Response(answer.body, answer.status, headers=list(answer.headers))


def _same(identity: Any) -> Any:
    return identity


def _embedded(candidate: object) -> EmbeddedAuth | None:
    # Without the server extra there is no EmbeddedAuth, and none can have been passed in.
    module = sys.modules.get("jwtauth.server.embedded")
    if module is not None and isinstance(candidate, module.EmbeddedAuth):
        return cast("EmbeddedAuth", candidate)
    return None


def _runtime_of(authenticator: Authenticator | TokenManager | SyncRuntime) -> SyncRuntime:
    if isinstance(authenticator, TokenManager):
        # A bare manager gets a store of its own, so that the revoke_* methods have one.
        store = None
        if authenticator.revocations is None:
            store = MemoryRevocationStore(authenticator.clock)
        return SyncRuntime(Authenticator(authenticator, revocations=store), revocations=store)
    if isinstance(authenticator, Authenticator):
        return SyncRuntime(authenticator)
    return authenticator


def _settings_overrides(app: Flask) -> dict[str, Any]:
    """The Settings fields ``app.config`` sets, by field name; refuses what no one would read."""
    if "flask-jwt-extended" not in app.extensions:
        leftover = sorted(k for k in app.config if k.startswith("JWT_"))
        if leftover:
            raise ConfigurationError(
                f"app.config sets {leftover[0]}, a flask-jwt-extended setting that jwtauth does "
                f"not read (its JWTAUTH_ name is in {_GUIDE})"
            )
    names = sorted(k for k in app.config if k.startswith("JWTAUTH_") and k not in _FLASK_SETTINGS)
    if not names:
        return {}
    from jwtauth.config import Settings  # noqa: PLC0415 - pydantic, only for these paths

    overrides: dict[str, Any] = {}
    for name in names:
        field = name.removeprefix("JWTAUTH_").lower()
        if field not in Settings.model_fields:
            raise ConfigurationError(f"app.config sets {name}, which is not a jwtauth setting")
        value = app.config[name]
        if isinstance(value, timedelta):  # flask-jwt-extended's lifetimes; ours are seconds
            seconds = value.total_seconds()
            value = int(seconds) if seconds.is_integer() else seconds
        overrides[field] = value
    return overrides


def _from_settings(overrides: Mapping[str, Any]) -> SyncRuntime:
    from jwtauth.config import Settings  # noqa: PLC0415 - pydantic, only for this path
    from jwtauth.sources.loading import load_keyring  # noqa: PLC0415

    settings = Settings.load(**overrides)
    if settings.issuer is None:
        raise ConfigurationError(
            "JWTAuth without an authenticator needs JWTAUTH_ISSUER (app.config or environment)"
        )
    try:
        keyring = load_keyring(settings.key_config())
    except KeyConfigurationError as exc:  # the message names the setting, never the secret
        raise ConfigurationError(exc.message) from exc
    manager = TokenManager(
        keyring,
        issuer=settings.issuer,
        audience=settings.audience,
        ttl=settings.access_ttl,
        leeway=settings.leeway,
    )
    store: RevocationStore = MemoryRevocationStore()
    if settings.redis_url is not None:
        try:
            from jwtauth.stores.redis import RedisRevocationStore  # noqa: PLC0415
        except ImportError:
            raise ConfigurationError(
                "JWTAUTH_REDIS_URL needs the redis client: pip install 'jwtauth[server]'"
            ) from None
        # The namespace of the jwtauth server whose tokens (and revocations) these are.
        namespace = redis_namespace(settings.redis_namespace, settings.issuer)
        store = RedisRevocationStore(settings.redis_url.get_secret_value(), namespace=namespace)
    authenticator = Authenticator(manager, realm=settings.realm, revocations=store)
    return SyncRuntime(authenticator, revocations=store)


def _takes_header(loader: UserLookup) -> bool:
    """True for flask-jwt-extended's ``(jwt_header, jwt_data)``, False for ``(claims)``."""
    try:
        signature = inspect.signature(loader)
    except (TypeError, ValueError):
        raise ConfigurationError("the user_lookup_loader's signature cannot be read") from None
    one, two = _accepts(signature, 1), _accepts(signature, 2)
    if one == two:
        raise ConfigurationError(
            "a user_lookup_loader takes (claims) or flask-jwt-extended's (jwt_header, jwt_data)"
        )
    return two


def _accepts(signature: inspect.Signature, count: int) -> bool:
    """Whether ``count`` positional arguments, and nothing else, bind to ``signature``."""
    params = signature.parameters.values()
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    required = [p for p in positional if p.default is p.empty]
    if any(p.kind is p.KEYWORD_ONLY and p.default is p.empty for p in params):
        return False
    variadic = any(p.kind is p.VAR_POSITIONAL for p in params)
    return len(required) <= count and (count <= len(positional) or variadic)


def _freshness(fresh: Fresh, now: float) -> bool | float:
    if isinstance(fresh, bool):
        return fresh
    if isinstance(fresh, timedelta):
        return now + fresh.total_seconds()
    if isinstance(fresh, int | float):
        return float(fresh)
    raise ConfigurationError("fresh is True, False, a timedelta or a NumericDate")


def _lifetime(expires_delta: timedelta) -> int:
    if not isinstance(expires_delta, timedelta):
        raise ConfigurationError(
            "expires_delta is a timedelta (every jwtauth token expires: False is refused)"
        )
    seconds = int(expires_delta.total_seconds())
    if not 1 <= seconds <= MAX_TOKEN_LIFETIME:
        raise ConfigurationError("expires_delta is between 1 second and 30 days")
    return seconds


def _issuer(runtime: SyncRuntime) -> str:
    return runtime.authenticator.manager.policy.issuer or ""


def _extension() -> JWTAuth:
    found = current_app.extensions.get(_EXTENSION)
    if not isinstance(found, JWTAuth):
        raise ConfigurationError("JWTAuth(app) or init_app(app) was not called")
    return found


def _check_csrf() -> None:
    # Double submit, as the auth server does it (one definition: jwtauth.transport.browser).
    check_double_submit(
        request.method, request.headers.get(CSRF_HEADER), request.cookies.get(CSRF_COOKIE)
    )


def _refuse_refresh(refresh: bool) -> None:
    if refresh:
        raise ConfigurationError(
            "refresh=True: views take access tokens only; refresh tokens are the auth "
            f"server's, opaque and rotated (see {_GUIDE})"
        )


def _check_flags(**flags: object) -> None:
    # jwt_required("items:read") would otherwise be a truthy `optional`: an open view.
    for name, value in flags.items():
        if not isinstance(value, bool):
            raise ConfigurationError(f"{name} is True or False (scopes are scopes=[...])")


def _check_fresh(claims: Claims) -> None:
    value = claims.get("fresh")
    if value is True:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ClaimError("A fresh token is required.", claim="fresh")
    if value <= _extension().runtime.authenticator.manager.clock():  # fresh until then
        raise ClaimError("A fresh token is required.", claim="fresh")


# The request's token ----------------------------------------------------------------------------


def verify_jwt_in_request(
    optional: bool = False, fresh: bool = False, refresh: bool = False
) -> Claims | None:
    """Verify the request's token once per request (the result is kept on ``g``).

    Args:
        optional: no token is fine (``None``); a token that is present must still verify.
        fresh: the token must be fresh (``create_access_token(fresh=...)``), else 401.
        refresh: refused: views take access tokens only.

    Returns:
        The token's claims (flask-jwt-extended returns ``(jwt_header, jwt_data)``: the header
        is :func:`get_jwt_header`), or ``None`` without a token when ``optional``.

    Raises:
        TokenError, CSRFError: answered as 401 / 403 by the extension's error handlers.
        RevocationsUnavailableError: answered as 503 with ``Retry-After``.
    """
    _check_flags(optional=optional, fresh=fresh)
    _refuse_refresh(refresh)
    claims = _request_claims(optional)
    if fresh and claims is not None:
        _check_fresh(claims)
    return claims


def _request_claims(optional: bool) -> Claims | None:
    if _CLAIMS in g:
        claims: Claims | None = g.get(_CLAIMS)
        if claims is not None or optional:
            return claims
    authorization: str | None = None
    try:
        authorization, claims = _extension()._verify()
    except MissingTokenError:
        if not optional:
            raise
        claims = None
    setattr(g, _AUTHORIZATION, authorization)
    setattr(g, _CLAIMS, claims)
    return claims


def jwt_required(
    optional: bool = False,
    fresh: bool = False,
    refresh: bool = False,
    *,
    scopes: Collection[str] = (),
) -> Callable[[F], F]:
    """Decorate a view to require a valid token (``optional``: or none), granting ``scopes``.

    Args:
        optional: no token is fine; a present one must verify. Opens nothing under
            ``JWTAUTH_PROTECT_ALL``, and nothing when ``scopes`` are required.
        fresh: the token must be fresh (``create_access_token(fresh=...)``): 401 otherwise.
        refresh: refused: views take access tokens only (refresh is the auth server's).
        scopes: every one of them must be granted (`scope` / `scp`): 403 otherwise.

    flask-jwt-extended's ``locations``, ``verify_type`` and ``skip_revocation_check`` do not
    exist here (a ``TypeError`` where the view is decorated): see the migration guide.
    """
    _check_flags(optional=optional, fresh=fresh)
    _refuse_refresh(refresh)
    if isinstance(scopes, str) or not all(isinstance(s, str) and s for s in scopes):
        raise ConfigurationError("scopes are a collection of scope names")
    required = tuple(sorted(set(scopes)))

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            claims = verify_jwt_in_request(optional=optional and not required, fresh=fresh)
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


def get_jwt_header() -> dict[str, Any]:
    """The protected header of the current request's verified token (`alg`, `typ`, `kid`);
    ``{}`` when an optional token is absent."""
    if _CLAIMS not in g:
        raise ConfigurationError("get_jwt_header() outside a @jwt_required (or protected) view")
    authorization = g.get(_AUTHORIZATION)
    if g.get(_CLAIMS) is None or authorization is None:
        return {}
    jws = _extension().runtime.authenticator.manager.jws
    return dict(jws.header(bearer_token(authorization)).params)


def get_jwt_identity() -> Any:
    """The token's subject (`sub`), or ``None`` without a token."""
    return get_jwt().get("sub")


def _current_user() -> Any:
    if _USER not in g:
        extension = _extension()
        loader = extension.user_lookup
        if loader is None:
            raise ConfigurationError("current_user needs a @user_lookup_loader")
        claims = get_jwt()
        user = None
        if claims:
            if extension._lookup_takes_header:
                user = loader(get_jwt_header(), claims)
            else:
                user = loader(claims)
            if user is None:
                raise UnknownSubjectError()
        setattr(g, _USER, user)
    return g.get(_USER)


def get_current_user() -> Any:
    """The user of the current request's token (the user loader's answer); ``None`` when an
    optional token is absent.

    Raises:
        UnknownSubjectError: the loader returned ``None`` for a token (answered 401).
    """
    return _current_user()


current_user: Any = LocalProxy(_current_user)
"""The user of the current request's token, from the extension's user loader."""


def create_access_token(
    identity: Any,
    *,
    fresh: Fresh = False,
    expires_delta: timedelta | None = None,
    additional_claims: Mapping[str, Any] | None = None,
    additional_headers: None = None,
) -> str:
    """:meth:`JWTAuth.create_access_token` of the current application's extension."""
    return _extension().create_access_token(
        identity,
        fresh=fresh,
        expires_delta=expires_delta,
        additional_claims=additional_claims,
        additional_headers=additional_headers,
    )


def decode_token(
    encoded_token: str, csrf_value: None = None, allow_expired: bool = False
) -> dict[str, Any]:
    """Verify ``encoded_token`` as an access token of the current application and return its
    claims: the request's checks (revocation included) but no fingerprint cookie and no user.

    Raises:
        TokenError: the token does not verify (a fingerprint-bound token never does here).
        ConfigurationError: ``csrf_value`` (jwtauth's CSRF check is the double-submit cookie)
            or ``allow_expired`` (an expired token is never accepted).
    """
    if csrf_value is not None:
        raise ConfigurationError("csrf_value: jwtauth's CSRF check is the double-submit cookie")
    if allow_expired:
        raise ConfigurationError("allow_expired: jwtauth never accepts an expired token")
    if not isinstance(encoded_token, str):
        raise MalformedTokenError("The token must be a string.")
    claims = _extension().runtime.verify(f"Bearer {encoded_token}", _no_cookie)
    return dict(claims)


def get_jti(encoded_token: str) -> str | None:
    """The `jti` of ``encoded_token``, verified by :func:`decode_token`."""
    jti = decode_token(encoded_token).get("jti")
    return jti if isinstance(jti, str) else None


def _no_cookie(name: str) -> None:
    return None


# Deny by default and the audit -------------------------------------------------------------------


def _deny_by_default() -> None:
    if not current_app.config["JWTAUTH_PROTECT_ALL"] or request.endpoint is None:
        return  # off, or no route matched (Flask answers 404 / 405)
    if _public_endpoint(current_app, request.endpoint, request.method):
        if request.headers.get("Authorization"):
            # A public view may still read a token; a bad one is ignored there.
            try:
                verify_jwt_in_request(optional=True)
            except (TokenError, ServiceUnavailableError):
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
    """Every rule of ``app`` with its effective protection (see
    :mod:`jwtauth.integrations.audit`)."""
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
