"""How tokens travel to and from a client: the bearer header, or cookies for browsers.

Cookie transport (opt-in, ``JWTAUTH_COOKIE_TRANSPORT``) keeps tokens out of reach of scripts:
the access token in an ``HttpOnly; Secure; SameSite=Strict`` cookie with the ``__Host-`` prefix,
the refresh token in a second such cookie sent only to the refresh path, and a double-submit CSRF
token (a readable cookie that a script must copy into ``X-CSRF-Token``) on every unsafe request
a cookie authenticates. The token fingerprint (OWASP "token sidecar") rides along in its own
``HttpOnly`` cookie; see :mod:`jwtauth.transport.fingerprint` and decision 015.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Literal

from starlette.requests import Request
from starlette.responses import Response

from jwtauth.errors import InvalidRefreshTokenError
from jwtauth.manager import TokenManager
from jwtauth.transport.bearer import bearer_token
from jwtauth.transport.browser import (
    ACCESS_COOKIE,
    CSRF_COOKIE,
    CSRF_HEADER,
    DEVICE_COOKIE,
    FINGERPRINT_COOKIE,
    LOGIN_PATH,
    REFRESH_COOKIE,
    REFRESH_PATH,
    check_double_submit,
)
from jwtauth.transport.fingerprint import FINGERPRINT_CLAIM, check_fingerprint, new_fingerprint
from jwtauth.types import Claims

__all__ = [
    "ACCESS_COOKIE",
    "CSRF_COOKIE",
    "CSRF_HEADER",
    "DEVICE_COOKIE",
    "FINGERPRINT_COOKIE",
    "REFRESH_COOKIE",
    "REFRESH_PATH",
    "Transport",
]


@dataclass(frozen=True, slots=True)
class Transport:
    """The server's token transport.

    Args:
        cookies: deliver and accept tokens in cookies (the bearer header is still accepted).
        fingerprint: bind every new session to a fingerprint cookie.
    """

    cookies: bool = False
    fingerprint: bool = False

    @classmethod
    def configure(
        cls, *, cookies: bool, fingerprint: Literal["auto", "always", "never"]
    ) -> Transport:
        """``fingerprint="auto"`` binds tokens exactly when they travel in cookies."""
        bind = fingerprint == "always" or (fingerprint == "auto" and cookies)
        return cls(cookies=cookies, fingerprint=bind)

    def new_fingerprint(self) -> str | None:
        """A fingerprint for a new session, or ``None`` when sessions are not bound."""
        return new_fingerprint() if self.fingerprint else None

    def authenticate(self, request: Request, tokens: TokenManager) -> Claims:
        """Verify the request's access token: the bearer header first, else the cookie.

        Raises:
            TokenError: no token, or a token that does not verify or lacks its fingerprint.
            CSRFError: the cookie authenticated an unsafe request without the CSRF header.
        """
        header = request.headers.get("authorization")
        token = None
        if header is None and self.cookies:
            token = request.cookies.get(ACCESS_COOKIE)
            if token is not None:
                self.check_csrf(request)
        claims = tokens.verify(token if token is not None else bearer_token(header))
        if FINGERPRINT_CLAIM in claims:  # cookies are parsed only for a bound token
            check_fingerprint(claims, request.cookies.get(FINGERPRINT_COOKIE))
        return claims

    def refresh_token(self, request: Request) -> str | None:
        """The refresh cookie's token (CSRF-checked), when cookies are on and it is there."""
        if not self.cookies:
            return None
        token = request.cookies.get(REFRESH_COOKIE)
        if token is None:
            return None
        # `__Secure-` (not `__Host-`: it is scoped to a path) does not stop a sibling subdomain
        # from setting a second cookie of this name, which the parser would prefer; two of them
        # is a planted session, not a browser's doing.
        if _occurrences(request, REFRESH_COOKIE) > 1:
            raise InvalidRefreshTokenError()
        self.check_csrf(request)
        return token

    @staticmethod
    def check_csrf(request: Request) -> None:
        """:func:`~jwtauth.transport.browser.check_double_submit` on this request.

        Raises:
            CSRFError: an unsafe request without the matching ``X-CSRF-Token`` header.
        """
        check_double_submit(
            request.method, request.headers.get(CSRF_HEADER), request.cookies.get(CSRF_COOKIE)
        )

    def device_token(self, request: Request) -> str | None:
        """The remembered-device cookie's token, when cookies are on and it is there once."""
        if not self.cookies or _occurrences(request, DEVICE_COOKIE) != 1:
            return None
        return request.cookies.get(DEVICE_COOKIE)

    def set_device_cookie(self, response: Response, token: str, max_age: int) -> bool:
        """Put a device token in its cookie (cookie transport); ``False`` when cookies are off
        and the token goes in the body instead."""
        if not self.cookies:
            return False
        _private(response, DEVICE_COOKIE, token, max_age, LOGIN_PATH)
        return True

    def set_cookies(
        self,
        response: Response,
        *,
        access_token: str,
        refresh_token: str,
        expires_in: int,
        refresh_expires_in: int,
        fingerprint: str | None,
    ) -> str | None:
        """Put the session in cookies; the new CSRF token when cookies are on, else ``None``."""
        if fingerprint is not None and self.fingerprint:
            _private(response, FINGERPRINT_COOKIE, fingerprint, refresh_expires_in, "/")
        if not self.cookies:
            return None
        _private(response, ACCESS_COOKIE, access_token, expires_in, "/")
        _private(response, REFRESH_COOKIE, refresh_token, refresh_expires_in, REFRESH_PATH)
        csrf = secrets.token_urlsafe(32)
        # Readable by the page's scripts by design: that is how the double submit works.
        response.set_cookie(
            CSRF_COOKIE, csrf, max_age=refresh_expires_in, path="/", secure=True,
            httponly=False, samesite="strict",
        )  # fmt: skip
        return csrf

    def clear_cookies(self, response: Response) -> None:
        """Expire every cookie the transport may have set (logout)."""
        if not (self.cookies or self.fingerprint):
            return
        for name, path in (
            (ACCESS_COOKIE, "/"),
            (REFRESH_COOKIE, REFRESH_PATH),
            (CSRF_COOKIE, "/"),
            (FINGERPRINT_COOKIE, "/"),
        ):
            response.delete_cookie(name, path=path, secure=True, httponly=True, samesite="strict")


def _occurrences(request: Request, name: str) -> int:
    prefix = name + "="
    return sum(
        part.strip().startswith(prefix)
        for header in request.headers.getlist("cookie")
        for part in header.split(";")
    )


def _private(response: Response, name: str, value: str, max_age: int, path: str) -> None:
    response.set_cookie(
        name, value, max_age=max_age, path=path, secure=True, httponly=True, samesite="strict"
    )
