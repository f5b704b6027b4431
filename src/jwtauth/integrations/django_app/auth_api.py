"""The auth server's API inside a Django project: ``path("", include(jwtauth_urls))``.

The routes are :class:`jwtauth.server.EmbeddedAuth`'s, answered on the integration's
background loop (:mod:`jwtauth.integrations._wsgi`), so a Django project serves the endpoints of
docs/api.md with the server's rotation (one conditional UPDATE: exactly one of N concurrent
refreshes wins, in one process or many), reuse detection, rate limits, lockout, second factor,
security headers and problem+json errors. What is Django's stays Django's:

* users are the project's user model: login by its email field (``EMAIL_FIELD``), ``sub`` is
  ``USER_ID_FIELD``, ``is_active`` is honoured, passwords are checked and made by Django's
  hashers (``PASSWORD_HASHERS``, upgraded on login as Django does);
* sessions, refresh tokens, lockout and second factors live in the project's ``default``
  database, in tables the integration's migration creates (``manage.py migrate``).
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from django.contrib.auth import get_user_model  # type: ignore[import-untyped]
from django.contrib.auth.hashers import (  # type: ignore[import-untyped]
    check_password,
    get_hasher,
    identify_hasher,
    make_password,
)
from django.db import IntegrityError, close_old_connections  # type: ignore[import-untyped]
from django.http import HttpRequest, HttpResponse  # type: ignore[import-untyped]
from django.urls import re_path  # type: ignore[import-untyped]
from django.views.decorators.csrf import csrf_exempt  # type: ignore[import-untyped]

from jwtauth.auth.passwords import PasswordHasher
from jwtauth.errors import ConfigurationError, EmailTakenError
from jwtauth.integrations._http import mark_public
from jwtauth.integrations._wsgi import MAX_BODY, call_asgi
from jwtauth.integrations.django_app.state import state
from jwtauth.types import UserRecord

__all__ = ["DjangoPasswordHasher", "DjangoUsers", "database_url", "jwtauth_urls"]

T = TypeVar("T")


async def _orm(call: Callable[[], T]) -> T:
    """Run a Django ORM call in a worker thread (the ORM is synchronous), on a connection that
    is fresh or still good: a worker thread keeps its connection between calls."""

    def run() -> T:
        close_old_connections()
        return call()

    return await asyncio.to_thread(run)


class DjangoUsers:
    """The project's user model as the auth service's :class:`jwtauth.types.UserProvider`.

    Args:
        user_id_field: the field `sub` holds (``USER_ID_FIELD``, ``id`` by default).
    """

    def __init__(self, user_id_field: str = "id") -> None:
        self.user_id_field = user_id_field

    @property
    def _model(self) -> Any:
        return get_user_model()

    def _record(self, user: Any) -> UserRecord:
        return UserRecord(
            id=str(getattr(user, self.user_id_field)),
            email=str(getattr(user, self._model.get_email_field_name()) or ""),
            password_hash=str(user.password or ""),
            is_active=bool(getattr(user, "is_active", True)),
        )

    def _by_email(self, email: str) -> list[Any]:
        field = self._model.get_email_field_name()
        # Django does not make emails unique: two accounts sharing one log in as neither.
        return list(self._model._default_manager.filter(**{f"{field}__iexact": email})[:2])

    async def by_id(self, user_id: str) -> UserRecord | None:
        """The user whose ``USER_ID_FIELD`` is ``user_id``."""

        def find() -> UserRecord | None:
            try:
                user = self._model._default_manager.filter(**{self.user_id_field: user_id}).first()
            except (ValueError, TypeError):  # not a valid id for the field (an integer pk)
                return None
            return None if user is None else self._record(user)

        return await _orm(find)

    async def by_email(self, email: str) -> UserRecord | None:
        """The one user with this email (case-insensitive), else ``None``."""

        def find() -> UserRecord | None:
            found = self._by_email(email)
            return self._record(found[0]) if len(found) == 1 else None

        return await _orm(find)

    async def create(self, email: str, password_hash: str) -> UserRecord:
        """A new user named by its email (also its username when the model has one)."""

        def create() -> UserRecord:
            if self._by_email(email):
                raise EmailTakenError()
            model = self._model
            fields = {model.USERNAME_FIELD: email, model.get_email_field_name(): email}
            try:
                user = model._default_manager.create_user(**fields, password=None)
            except IntegrityError:
                raise EmailTakenError() from None
            user.password = password_hash
            user.save(update_fields=["password"])
            return self._record(user)

        return await _orm(create)

    async def set_password_hash(self, user_id: str, password_hash: str) -> None:
        """Store a new hash (password change, or Django's hasher upgrade at login)."""
        manager = self._model._default_manager
        await _orm(
            lambda: manager.filter(**{self.user_id_field: user_id}).update(password=password_hash)
        )


class DjangoPasswordHasher(PasswordHasher):
    """Django's password hashers (``PASSWORD_HASHERS``) behind the auth service's hasher."""

    def __init__(self) -> None:  # no argon2 of our own: every method is Django's
        pass

    async def hash(self, password: str) -> str:
        """``make_password`` with the project's preferred hasher."""
        return str(await asyncio.to_thread(make_password, password))

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """``check_password``; for an unknown user the preferred hasher runs once anyway, as
        Django's own ``ModelBackend`` does, so both failures take as long."""
        if password_hash is None:
            await asyncio.to_thread(make_password, password)
            return False
        return bool(await asyncio.to_thread(check_password, password, password_hash))

    def needs_rehash(self, password_hash: str) -> bool:
        """The hash was made by another hasher than the preferred one, or with other
        parameters (Django's ``must_update``)."""
        try:
            used = identify_hasher(password_hash)
        except ValueError:  # unusable ("!...") or unknown: nothing to upgrade
            return False
        preferred = get_hasher("default")
        return bool(used.algorithm != preferred.algorithm or preferred.must_update(password_hash))


def database_url(databases: Mapping[str, Any], alias: str = "default") -> str:
    """The SQLAlchemy URL of a Django database (SQLite or PostgreSQL), for the auth's stores.

    Raises:
        ConfigurationError: another engine, or an in-memory SQLite database.
    """
    from sqlalchemy.engine import URL  # noqa: PLC0415 - the server extra, loaded when mounted

    database = databases.get(alias)
    if database is None:
        raise ConfigurationError(f"DATABASES has no {alias!r} database")
    engine = str(database.get("ENGINE", ""))
    name = str(database.get("NAME", ""))
    if engine == "django.db.backends.sqlite3":
        if not name or name == ":memory:" or name.startswith("file:"):
            raise ConfigurationError("the auth tables need a SQLite file, not an in-memory one")
        return f"sqlite+aiosqlite:///{Path(name).resolve()}"
    if engine.startswith("django.db.backends.postgresql"):
        port = database.get("PORT")
        url = URL.create(
            "postgresql+asyncpg",
            username=database.get("USER") or None,
            password=database.get("PASSWORD") or None,
            host=database.get("HOST") or None,
            port=int(port) if port else None,
            database=name or None,
        )
        return url.render_as_string(hide_password=False)
    raise ConfigurationError(
        f"the auth tables support SQLite and PostgreSQL databases, not {engine or 'this one'}"
    )


@mark_public  # the auth routes answer for themselves: their own token checks and errors
@csrf_exempt  # type: ignore[untyped-decorator]
def auth_view(request: HttpRequest, rest: str = "") -> HttpResponse:
    """Every request under ``/auth/`` and ``/.well-known/``, answered by the embedded auth.

    CSRF-exempt: the auth API authenticates with bearer tokens, and in cookie mode checks its
    own double-submit token, as the server does.
    """
    current = state()
    if current.auth is None:
        raise ConfigurationError(
            "jwtauth_urls needs a SIGNING_KEY, jwtauth[server] and a default database that is "
            "a SQLite file or PostgreSQL"
        )
    environ = dict(request.META)
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if 0 < length <= MAX_BODY or hasattr(request, "_body"):
        # Django may have read the body already (a middleware touched request.body).
        environ["wsgi.input"] = io.BytesIO(request.body)
        environ["CONTENT_LENGTH"] = str(len(request.body))
    reply = call_asgi(current.runtime, current.auth.app, environ)
    response = HttpResponse(reply.body, status=reply.status)
    for name, value in reply.headers:
        if name.lower() == "content-length":
            continue
        if name.lower() == "set-cookie":
            # Django keeps cookies apart from headers; one Set-Cookie line each.
            response.cookies.load(value)
            continue
        response[name] = value
    return response


jwtauth_urls = [
    re_path(r"^auth/(?P<rest>.*)$", auth_view, name="jwtauth-auth"),
    re_path(r"^\.well-known/(?P<rest>.*)$", auth_view, name="jwtauth-well-known"),
]
"""URL patterns of the auth API: ``path("", include(jwtauth_urls))`` in the root URLconf."""
