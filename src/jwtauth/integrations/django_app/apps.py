"""The Django app: settings, deny-by-default DRF defaults, user signals, checks, the audit.

Add ``"jwtauth.integrations.django_app"`` to ``INSTALLED_APPS`` (after ``rest_framework``).
On start-up it fills in what ``REST_FRAMEWORK`` leaves unset: jwtauth's authentication, its
deny-by-default permission and its problem+json exception handler. What the project sets
explicitly is kept, and the system check (``manage.py check``) reports a default that lets
anonymous requests through.
"""

from __future__ import annotations

import logging
import threading
import time
import warnings
from typing import Any

from django.apps import AppConfig  # type: ignore[import-untyped]
from django.conf import settings  # type: ignore[import-untyped]
from django.core.exceptions import ImproperlyConfigured  # type: ignore[import-untyped]
from django.core.signals import setting_changed  # type: ignore[import-untyped]
from django.db import transaction  # type: ignore[import-untyped]
from django.db.models.signals import post_delete, post_save  # type: ignore[import-untyped]

from jwtauth.errors import ConfigurationError, JWTAuthError, SecurityWarning
from jwtauth.hygiene.redaction import install_redaction
from jwtauth.integrations._sync import SyncRuntime
from jwtauth.integrations.django_app.conf import (
    SETTINGS_NAMES,
    Options,
    build_runtime,
    parse,
    settings_of,
)
from jwtauth.integrations.django_app.state import State, state
from jwtauth.integrations.django_app.users import UserCache
from jwtauth.sources.strength import assess_secret

__all__ = ["DRF_DEFAULTS", "JWTAuthConfig", "State", "state"]

_log = logging.getLogger("jwtauth.integrations.django")

DRF_DEFAULTS = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["jwtauth.integrations.drf.JWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["jwtauth.integrations.drf.IsAuthenticatedUnlessPublic"],
    "EXCEPTION_HANDLER": "jwtauth.integrations.drf.exception_handler",
}


class JWTAuthConfig(AppConfig):  # type: ignore[misc]
    """``jwtauth.integrations.django_app``: see the module docstring."""

    name = "jwtauth.integrations.django_app"
    label = "jwtauth"
    verbose_name = "jwtauth"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._state: State | None = None
        self._lock = threading.Lock()

    def ready(self) -> None:
        from jwtauth.integrations.django_app import checks  # noqa: F401, PLC0415 - registers

        _fill_drf_defaults()
        setting_changed.connect(self._setting_changed, dispatch_uid="jwtauth-settings")
        user_model = settings.AUTH_USER_MODEL
        post_save.connect(self._user_saved, sender=user_model, dispatch_uid="jwtauth-save")
        post_delete.connect(self._user_deleted, sender=user_model, dispatch_uid="jwtauth-del")
        self._check_at_start()

    def _check_at_start(self) -> None:
        """Refuse at start what would make every request fail, or what ``jwtauth serve``
        refuses: the settings are parsed and the key built now, and an HMAC secret that is a
        placeholder, low in entropy or key material stops a project with ``DEBUG`` off (a
        warning with it on, as ``serve`` does in development)."""
        try:
            current = self.state()
        except JWTAuthError as exc:  # the message names the setting, never its value
            raise ImproperlyConfigured(f"jwtauth: {exc}") from None
        key = settings_of(settings)[1].get("SIGNING_KEY")
        if not current.options.can_sign or not isinstance(key, str) or "-----BEGIN" in key:
            return
        strength = assess_secret(key.encode("utf-8"))
        if strength.ok:
            return
        message = f"jwtauth: {current.options.source}['SIGNING_KEY']: {strength.reason}"
        if not settings.DEBUG:
            raise ImproperlyConfigured(message)
        warnings.warn(message, SecurityWarning, stacklevel=2)

    # State ----------------------------------------------------------------------------------

    def state(self) -> State:
        """The integration's state, built from the settings on first use."""
        current = self._state
        if current is not None:
            return current
        with self._lock:
            if self._state is None:
                source, raw = settings_of(settings)
                options = parse(source, raw, secret_key=getattr(settings, "SECRET_KEY", None))
                # The project's key is no jwtauth Settings field: name it to the redaction
                # filter, as `jwtauth serve` names its own secret (decision 019).
                signing = raw.get("SIGNING_KEY")
                install_redaction(secrets=[signing] if isinstance(signing, str | bytes) else [])
                cache = UserCache(options.user_cache_seconds, options.user_cache_size)
                auth, unavailable = _embedded_auth(options)
                if auth is None:
                    runtime = build_runtime(options)
                else:
                    runtime = SyncRuntime(auth.authenticator, revocations=auth.revocations)
                self._state = State(options, runtime, cache, auth, unavailable)
            return self._state

    def install(self, runtime: SyncRuntime) -> State:
        """Verify with ``runtime`` (an authenticator of your own: a JWKS client, a keyring
        from a secrets manager) instead of the one the settings describe; the settings still
        give the header, user and view options. The previous runtime is closed."""
        source, raw = settings_of(settings)
        options = parse(source, raw, secret_key=getattr(settings, "SECRET_KEY", None))
        self.reset()
        with self._lock:
            cache = UserCache(options.user_cache_seconds, options.user_cache_size)
            self._state = State(options, runtime, cache)
            return self._state

    def reset(self) -> None:
        """Forget the state (its runtime closed); the next request rebuilds it from settings."""
        with self._lock:
            current, self._state = self._state, None
        if current is not None:
            current.runtime.close()

    def _setting_changed(self, *, setting: str, **kwargs: Any) -> None:
        if setting in SETTINGS_NAMES or setting == "SECRET_KEY":
            self.reset()
        elif setting == "REST_FRAMEWORK":
            _fill_drf_defaults()

    # Users ----------------------------------------------------------------------------------

    def _user_saved(self, *, instance: Any, using: str | None = None, **kwargs: Any) -> None:
        self._after_commit(instance, using, gone=not getattr(instance, "is_active", True))

    def _user_deleted(self, *, instance: Any, using: str | None = None, **kwargs: Any) -> None:
        self._after_commit(instance, using, gone=True)

    def _after_commit(self, user: Any, using: str | None, *, gone: bool) -> None:
        """:meth:`user_changed` once the save or delete is committed (at once in autocommit).

        Never inside the project's transaction: the cut-off is written by the auth's own
        connection to the same database, which on SQLite waits for the write lock that the
        transaction holds until this handler returns (a delete blocked for the store's timeout,
        then left unrevoked). A rolled-back change revokes nothing, as it should."""
        current = self._state
        if current is None:
            return
        # Now as well: this process stops serving the cached row before the commit.
        current.users.discard(str(getattr(user, current.options.user_id_field)))
        transaction.on_commit(lambda: self.user_changed(user, gone=gone), using=using)

    def user_changed(self, user: Any, *, gone: bool) -> None:
        """Drop ``user`` from this process's cache; when deactivated or deleted, also revoke
        every token issued to it so far, in every process (a subject cut-off)."""
        current = self._state
        if current is None:
            return
        subject = str(getattr(user, current.options.user_id_field))
        current.users.discard(subject)
        store = current.runtime.revocations
        if not gone or store is None:
            return
        issuer = current.options.issuer
        try:
            current.runtime.call(store.revoke_subject(issuer, subject, time.time()))
        except Exception as exc:  # the save itself has happened; say loudly what did not
            _log.error(  # no traceback: it could carry connection details
                "jwtauth: could not revoke the tokens of a deactivated user (%s)",
                type(exc).__name__,
            )


def _embedded_auth(options: Options) -> tuple[Any, str | None]:
    """The embedded auth API for ``options``: the same token manager, the project's users and
    passwords, the project's default database (decision 022); or ``None`` and why not, in one
    line naming what is missing."""
    if not options.can_sign or options.jwk_url is not None:
        return None, f"{options.source} has no SIGNING_KEY (these settings only verify tokens)"
    try:
        from jwtauth.auth.service import load_claims_hook  # noqa: PLC0415 - the server extra
        from jwtauth.config import Settings  # noqa: PLC0415 - pydantic-settings, core
        from jwtauth.integrations.django_app.auth_api import (  # noqa: PLC0415 - the server extra
            DjangoPasswordHasher,
            DjangoUsers,
            database_url,
        )
        from jwtauth.server.embedded import EmbeddedAuth  # noqa: PLC0415 - the server extra
    except ImportError:  # without jwtauth[server]: verification only
        return None, "jwtauth[server] is not installed: pip install 'jwtauth[django,server]'"
    try:
        url = database_url(settings.DATABASES)
    except ConfigurationError as exc:  # an in-memory SQLite, or another engine
        return None, f"DATABASES['default']: {exc}"
    overrides: dict[str, Any] = {
        "env": "development" if settings.DEBUG else "production",
        "issuer": options.issuer,
        "access_ttl": options.access_lifetime,
        "refresh_ttl": options.refresh_lifetime,
        "database_url": url,
        "redis_url": options.redis_url,
        # One namespace for the auth API and the runtime: REDIS_NAMESPACE, else the issuer's.
        "redis_namespace": options.redis_namespace,
    }
    if options.audience is not None:
        overrides["audience"] = options.audience
    loaded = Settings.load(**overrides)
    fallback = load_claims_hook(loaded.claims_hook) if loaded.claims_hook else None

    async def claims_hook(user: Any) -> Any:
        # ObtainView.claims_for of the mounted obtain view (else JWTAUTH_CLAIMS_HOOK), at
        # every login and refresh of the token views and of the auth API alike.
        from jwtauth.integrations.django_app.views import view_claims  # noqa: PLC0415 - DRF

        return await view_claims(user, fallback)

    return EmbeddedAuth(
        loaded,
        tokens=options.manager,
        users=DjangoUsers(options.user_id_field),
        hasher=DjangoPasswordHasher(),
        claims_hook=claims_hook,
        # REALM on the auth API's 401s and, through auth.authenticator, on the DRF views'.
        realm=options.realm,
    ), None


def _fill_drf_defaults() -> None:
    configured = dict(getattr(settings, "REST_FRAMEWORK", None) or {})
    missing = {k: v for k, v in DRF_DEFAULTS.items() if k not in configured}
    if not missing:
        return
    settings.REST_FRAMEWORK = {**configured, **missing}
    from rest_framework.settings import api_settings  # type: ignore[import-untyped]  # noqa: PLC0415

    api_settings.reload()
