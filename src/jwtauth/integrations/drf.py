"""Django REST framework: authentication, deny-by-default permission, scopes, token views.

::

    INSTALLED_APPS = [..., "rest_framework", "jwtauth.integrations.django_app"]
    JWTAUTH = {"SIGNING_KEY": ..., "ISSUER": "https://api.example", "AUDIENCE": "api"}
    urlpatterns = [path("api/token/", include(token_urls())), ...]

    class OrderViewSet(viewsets.ModelViewSet): ...        # needs a valid token (the default)

    @public                                              # reachable without one
    class HealthView(APIView): ...

    class ReportView(APIView):
        permission_classes = [require_scopes("reports:read")]   # 403 without the scope

Installing the app makes :class:`JWTAuthentication` and :class:`IsAuthenticatedUnlessPublic`
DRF's defaults (unless ``REST_FRAMEWORK`` names others). Verification is synchronous, on the
request thread, against an in-memory revocation view (:mod:`jwtauth.integrations._sync`).
Refusals are problem+json with an RFC 6750 challenge (:func:`exception_handler`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, TypeVar

from django.core.exceptions import ValidationError  # type: ignore[import-untyped]
from django.http import HttpResponse  # type: ignore[import-untyped]
from rest_framework import exceptions, permissions  # type: ignore[import-untyped]
from rest_framework.authentication import BaseAuthentication  # type: ignore[import-untyped]

from jwtauth.errors import (
    ConfigurationError,
    InsufficientScopeError,
    JWTAuthError,
    MissingTokenError,
    ServiceUnavailableError,
    TokenError,
    UnknownSubjectError,
)
from jwtauth.integrations._http import PROBLEM_JSON, PUBLIC_ATTRIBUTE, mark_public
from jwtauth.integrations._http import require_scopes as check_scopes
from jwtauth.integrations.django_app.state import State, state
from jwtauth.integrations.django_app.users import TokenUser, load_database_user
from jwtauth.tokens.encoding import json_dumps
from jwtauth.types import Claims

if TYPE_CHECKING:  # at run time through __getattr__ below
    from jwtauth.integrations.django_app.views import (
        LogoutView,
        ObtainView,
        RefreshView,
        token_urls,
    )

__all__ = [
    "IsAuthenticatedUnlessPublic",
    "JWTAuthentication",
    "LogoutView",
    "ObtainView",
    "RefreshView",
    "exception_handler",
    "is_public_view",
    "public",
    "require_scopes",
    "token_urls",
]

F = TypeVar("F")
_VIEWS = frozenset({"LogoutView", "ObtainView", "RefreshView", "token_urls"})
_ERROR = "jwtauth_error"  # the attribute of the Django request holding the refusal


class TokenRefused(exceptions.AuthenticationFailed):  # type: ignore[misc]
    """A token was presented and refused (401); ``error`` is the jwtauth error."""

    def __init__(self, error: JWTAuthError) -> None:
        super().__init__(error.message, error.code)
        self.error = error


class ServiceRefused(exceptions.APIException):  # type: ignore[misc]
    """Verification could not decide now (503 with ``Retry-After``): the revocation view
    cannot be trusted; ``error`` is the jwtauth error."""

    status_code = 503

    def __init__(self, error: ServiceUnavailableError) -> None:
        super().__init__(error.message, error.code)
        self.error = error


class ScopeRefused(exceptions.PermissionDenied):  # type: ignore[misc]
    """A valid token lacks a required scope (403)."""

    def __init__(self, error: InsufficientScopeError) -> None:
        super().__init__(error.message, error.code)
        self.error = error


def public(view: F) -> F:
    """Mark a view class, an ``@api_view`` function (put ``@public`` above ``@api_view``) or a
    viewset action method as reachable without a token; a valid token still authenticates."""
    target: Any = getattr(view, "cls", view)  # @api_view's function: its view class
    mark_public(target)
    return view


def is_public_view(view: object, method: str) -> bool:
    """True when ``view`` (an APIView instance) or the handler of ``method`` is marked public.

    A class counts only when marked itself, not through a public base class.
    """
    if view is None:
        return False
    if vars(type(view)).get(PUBLIC_ATTRIBUTE) is True:
        return True
    handler = getattr(view, getattr(view, "action", None) or method.lower(), None)
    return getattr(handler, PUBLIC_ATTRIBUTE, False) is True


class JWTAuthentication(BaseAuthentication):  # type: ignore[misc]
    """Authenticates ``Authorization: Bearer <access token>``; ``request.auth`` is the claims.

    No header: ``None`` (anonymous; the permission decides). A bad token: 401, except on a
    public view, where it is ignored. Override :meth:`get_user` to map claims to a user.
    """

    def authenticate(self, request: Any) -> tuple[Any, Claims] | None:
        current = state()
        header = request.META.get(current.options.header_name)
        if not header:
            return None
        context = getattr(request, "parser_context", None) or {}
        try:
            claims = current.runtime.verify(
                _as_bearer(header, current.options.header_types), request.COOKIES.get
            )
            user = self.get_user(claims, current)
        except TokenError as exc:
            if is_public_view(context.get("view"), request.method):
                return None
            setattr(request._request, _ERROR, exc)
            raise TokenRefused(exc) from None
        except ServiceUnavailableError as exc:
            if is_public_view(context.get("view"), request.method):
                return None  # a public view is served without the token, as on a refusal
            raise ServiceRefused(exc) from None
        return user, claims

    def get_user(self, claims: Claims, current: State) -> Any:
        """The user the claims stand for (see ``USER``).

        Raises:
            UnknownSubjectError: no such active user (database users).
        """
        if current.options.user == "stateless":
            return TokenUser(claims)
        user = load_database_user(str(claims["sub"]), _finder(current), current.users)
        if user is None:
            raise UnknownSubjectError()
        return user

    def authenticate_header(self, request: Any) -> str:
        """The RFC 6750 challenge (with ``error=`` when a token was refused)."""
        error = getattr(request._request, _ERROR, None) or MissingTokenError()
        return dict(state().runtime.authenticator.answer(error).headers)["www-authenticate"]


class IsAuthenticatedUnlessPublic(permissions.BasePermission):  # type: ignore[misc]
    """The default permission: an authenticated user, unless the view or action is public."""

    requires_authentication = True

    def has_permission(self, request: Any, view: Any) -> bool:
        if is_public_view(view, request.method):
            return True
        return bool(request.user and request.user.is_authenticated)


def require_scopes(*scopes: str) -> type[permissions.BasePermission]:
    """A permission class requiring a jwtauth token granting every one of ``scopes``
    (401 without a token, 403 ``insufficient_scope`` with a token lacking one)."""
    if not scopes or not all(isinstance(s, str) and s and " " not in s for s in scopes):
        raise ConfigurationError("require_scopes needs one or more scope names without spaces")
    required = tuple(sorted(set(scopes)))

    class HasScopes(permissions.BasePermission):  # type: ignore[misc]
        requires_authentication = True
        scopes = required

        def has_permission(self, request: Any, view: Any) -> bool:
            claims = request.auth
            if not isinstance(claims, Mapping):
                return False  # DRF answers NotAuthenticated: no token
            try:
                check_scopes(claims, required)
            except InsufficientScopeError as exc:
                raise ScopeRefused(exc) from None
            return True

    HasScopes.__name__ = HasScopes.__qualname__ = f"HasScopes({' '.join(required)})"
    return HasScopes


def exception_handler(exc: Exception, context: Mapping[str, Any]) -> Any:
    """Every error DRF answers, as RFC 9457 problem+json: jwtauth's refusals (and DRF's "not
    authenticated" on a view that authenticates with jwtauth) with an RFC 6750 challenge; DRF's
    own (400 parse and validation errors, 404, 405, 415, 429 with ``Retry-After``) with their
    status, headers and detail, field errors under ``errors``. Anything else stays DRF's (a
    500 that Django answers without internals when ``DEBUG`` is off)."""
    error: JWTAuthError | None = None
    if isinstance(exc, TokenRefused | ScopeRefused | ServiceRefused):
        error = exc.error
    elif isinstance(exc, exceptions.NotAuthenticated) and _uses_jwtauth(context.get("view")):
        error = MissingTokenError()
    if error is None:
        from rest_framework.views import exception_handler as drf_handler  # type: ignore[import-untyped]  # noqa: PLC0415

        return _as_problem(drf_handler(exc, context))
    answer = state().runtime.authenticator.answer(error)
    return HttpResponse(answer.body, status=answer.status, headers=dict(answer.headers))


def _as_problem(response: Any) -> Any:
    if response is None:
        return None
    status = int(response.status_code)
    data = response.data
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": str(data.get("detail", "The request is invalid."))
        if isinstance(data, Mapping)
        else "The request is invalid.",
    }
    if (isinstance(data, Mapping) and "detail" not in data) or isinstance(data, list):
        body["errors"] = data  # a ValidationError's fields (DRF's own, safe, messages)
    problem = HttpResponse(json_dumps(body), status=status, content_type=PROBLEM_JSON)
    for name, value in response.items():
        if name.lower() not in {"content-type", "content-length"}:
            problem[name] = value
    return problem


def _uses_jwtauth(view: Any) -> bool:
    classes: Any = getattr(view, "authentication_classes", None)
    return bool(classes) and issubclass(classes[0], JWTAuthentication)


def _as_bearer(header: str, types: frozenset[str]) -> str:
    # simplejwt's AUTH_HEADER_TYPES: another accepted scheme name is read as Bearer.
    scheme, _, rest = header.partition(" ")
    if scheme.lower() in types and scheme.lower() != "bearer":
        return f"Bearer {rest}"
    if scheme.lower() == "bearer" and "bearer" not in types:
        return f"Refused {rest}"  # a scheme the settings do not accept: malformed
    return header


def _finder(current: State) -> Callable[[str], Any]:
    from django.contrib.auth import get_user_model  # type: ignore[import-untyped]  # noqa: PLC0415

    model = get_user_model()
    field = current.options.user_id_field

    def find(subject: str) -> Any:
        try:
            return model._default_manager.get(**{field: subject})
        except (model.DoesNotExist, ValueError, ValidationError):
            return None

    return find


def __getattr__(name: str) -> Any:
    # The token views subclass APIView, and importing rest_framework.views imports this module
    # (the default authentication class, through DRF's settings): they load on first use.
    if name in _VIEWS:
        from jwtauth.integrations.django_app import views  # noqa: PLC0415

        return getattr(views, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
