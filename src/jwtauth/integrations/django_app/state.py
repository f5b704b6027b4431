"""What the Django integration runs on (:class:`State`), and :func:`state` to reach it.

Apart from the app config (:mod:`jwtauth.integrations.django_app.apps`), which builds it, so
that the views, the DRF classes and the auth API can read it without importing the app config,
which imports them in turn (checks, routes, views: issue 18's import circle).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from django.apps import apps  # type: ignore[import-untyped]

from jwtauth.errors import ConfigurationError
from jwtauth.integrations._sync import SyncRuntime
from jwtauth.integrations.django_app.conf import Options
from jwtauth.integrations.django_app.users import UserCache

__all__ = ["State", "state"]


@dataclass(frozen=True, slots=True)
class State:
    """What the integration runs on, built once from the settings."""

    options: Options
    runtime: SyncRuntime
    users: UserCache
    # The auth server's API over the project's users and database (``jwtauth_urls`` and the
    # token views): built when the settings can sign, the server extra is installed and the
    # default database can hold its tables; else ``None``, and ``auth_unavailable`` says why
    # (``None`` too after ``install()``, which brings a runtime of its own and no auth).
    auth: Any = None
    auth_unavailable: str | None = None


class _HoldsState(Protocol):
    """The installed app config (``JWTAuthConfig``), as far as :func:`state` needs it."""

    def state(self) -> State: ...


def state() -> State:
    """The installed app's :class:`State`.

    Raises:
        ConfigurationError: the app is not in ``INSTALLED_APPS``, or the settings are invalid.
    """
    try:
        config: _HoldsState = apps.get_app_config("jwtauth")
    except LookupError:
        raise ConfigurationError(
            "add 'jwtauth.integrations.django_app' to INSTALLED_APPS"
        ) from None
    return config.state()
