"""Framework integrations: thin layers over the core that translate requests, responses and
errors. Each framework is an optional extra; the core never imports one. Import each adapter by
its path (``jwtauth.integrations.fastapi``, ``.starlette``, ``.drf``, ``.flask``).

This package itself is framework-free and names what the adapters share, for an application to
build one and hand it to its adapter:

- :class:`Authenticator`: verifies a request's credentials (token manager, key source, revocation
  store, realm) and answers refusals as RFC 9457 problem+json with an RFC 6750 challenge;
- :class:`SyncRuntime`: an :class:`Authenticator` for a synchronous (WSGI) framework, with the
  one background event loop per process that its stores run on (Django REST framework, Flask);
- :class:`Answer` (what :meth:`Authenticator.answer` returns), :data:`PROBLEM_JSON`, and the
  scope helpers :func:`granted_scopes` and :func:`require_scopes`.

::

    from jwtauth.integrations import Authenticator, SyncRuntime

    store = RedisRevocationStore(redis_url, namespace=redis_namespace(None, ISSUER))
    runtime = SyncRuntime(Authenticator(manager, realm="shop", revocations=store),
                          revocations=store)
    auth = JWTAuth(app, runtime)            # jwtauth.integrations.flask
"""

# The definitions live in private modules that the adapters import directly (they load no web
# framework, which the layering test checks); these are the names applications use.
from jwtauth.integrations._http import (
    PROBLEM_JSON,
    Answer,
    Authenticator,
    CookieReader,
    KeySource,
    Managed,
    granted_scopes,
    require_scopes,
)
from jwtauth.integrations._sync import SyncRuntime

__all__ = [
    "PROBLEM_JSON",
    "Answer",
    "Authenticator",
    "CookieReader",
    "KeySource",
    "Managed",
    "SyncRuntime",
    "granted_scopes",
    "require_scopes",
]
