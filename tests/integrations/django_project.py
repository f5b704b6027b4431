# mypy: disable-error-code="import-untyped,misc,untyped-decorator"
# (Django and DRF ship no type information.)
"""A Django project for the DRF tests: configured once per test process, SQLite in a temporary
file, the URLconf (this module's ``urlpatterns``) with the contract's three routes and a few more.

Call :func:`configure` before importing anything of DRF (its views read settings on import).
"""

from __future__ import annotations

import atexit
import secrets
import shutil
import tempfile
from pathlib import Path
from typing import Any

import django
from django.conf import settings

from tests.integrations.contract import AUDIENCE, ISSUER, REALM

SIGNING_KEY = secrets.token_urlsafe(48)  # HS256; strong, as the start-up check requires
SECRET_KEY = "django-test-secret-key-not-the-signing-key-0123456789"


def jwtauth_settings(**overrides: Any) -> dict[str, Any]:
    """The test project's ``JWTAUTH`` dict, with ``overrides``."""
    return {
        "SIGNING_KEY": SIGNING_KEY,
        "ISSUER": ISSUER,
        "AUDIENCE": AUDIENCE,
        "REALM": REALM,
        **overrides,
    }


def configure() -> None:
    """Configure Django for this process (once) and create the tables."""
    if settings.configured:
        return
    scratch = Path(tempfile.mkdtemp(prefix="jwtauth-drf-"))
    atexit.register(shutil.rmtree, scratch, ignore_errors=True)
    settings.configure(
        DEBUG=False,
        SECRET_KEY=SECRET_KEY,
        ALLOWED_HOSTS=["testserver"],
        ROOT_URLCONF="tests.integrations.drf_urls",
        INSTALLED_APPS=[
            "django.contrib.contenttypes",
            "django.contrib.auth",
            "rest_framework",
            "jwtauth.integrations.django_app",
        ],
        DATABASES={
            "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(scratch / "db.sqlite3")}
        },
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        # Test speed only: the password hasher is not what these tests are about.
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        USE_TZ=True,
        JWTAUTH=jwtauth_settings(),
    )
    django.setup()
    from django.core.management import call_command

    call_command("migrate", run_syncdb=True, verbosity=0)
