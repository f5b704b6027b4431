"""The auth server's browser transport, as every adapter must read it: the cookie names and the
double-submit CSRF check (decision 015). Framework-free, so the server and the integrations
share one definition rather than copies that could drift apart."""

from __future__ import annotations

import hmac
from typing import Final

from jwtauth.errors import CSRFError

__all__ = [
    "ACCESS_COOKIE",
    "CSRF_COOKIE",
    "CSRF_HEADER",
    "DEVICE_COOKIE",
    "FINGERPRINT_COOKIE",
    "LOGIN_PATH",
    "REFRESH_COOKIE",
    "REFRESH_PATH",
    "SAFE_METHODS",
    "check_double_submit",
]

# `__Host-`: Secure, no Domain, Path=/ - a sibling subdomain cannot set or shadow these.
ACCESS_COOKIE: Final = "__Host-jwtauth-access"
CSRF_COOKIE: Final = "__Host-jwtauth-csrf"
FINGERPRINT_COOKIE: Final = "__Host-jwtauth-fgp"
# `__Host-` demands Path=/; the refresh cookie is scoped to its path, so it takes `__Secure-`.
REFRESH_COOKIE: Final = "__Secure-jwtauth-refresh"
REFRESH_PATH: Final = "/auth/refresh"
# The remembered-device token (a lockout of the account name does not lock it out), sent only
# to the login.
DEVICE_COOKIE: Final = "__Secure-jwtauth-device"
LOGIN_PATH: Final = "/auth/login"
CSRF_HEADER: Final = "X-CSRF-Token"
SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})


def check_double_submit(method: str, sent: str | None, expected: str | None) -> None:
    """An unsafe request a cookie authenticates must echo the CSRF cookie (``expected``) in the
    ``X-CSRF-Token`` header (``sent``).

    A cross-site page can make the browser send our cookies but can neither read the CSRF
    cookie nor set a custom header on a cross-origin request without CORS approval.

    Raises:
        CSRFError: the method is unsafe and the header is missing or differs from the cookie.
    """
    if method in SAFE_METHODS:
        return
    # As bytes: compare_digest refuses str with non-ASCII characters (a TypeError, a 500), and
    # header and cookie values may carry any byte.
    if (
        not sent
        or not expected
        or not hmac.compare_digest(
            sent.encode("utf-8", "surrogateescape"), expected.encode("utf-8", "surrogateescape")
        )
    ):
        raise CSRFError()
