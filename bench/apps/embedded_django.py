# mypy: disable-error-code="import-untyped,misc"
# (Django and DRF ship no type information.)
"""The Django + DRF host ``bench.embedded`` measures: the auth API by ``include(jwtauth_urls)``
(``gunicorn bench.apps.embedded_django:application``). The module is its own URLconf.

* ``BENCH_DB``: a SQLite file path, or a ``postgresql://user@host:port/name`` URL.
* ``BENCH_SECRET``, ``BENCH_ISSUER``: the signing key and issuer (``JWTAUTH`` settings);
  ``BENCH_REDIS_URL``, when set, its ``REDIS_URL``.
* Passwords: Django's argon2 hasher with jwtauth's default parameters, so that a login costs
  the hash it costs in the other hosts.

``DEBUG`` is on because it is what makes the embedded auth run in development, as every other
host of the bench does (off, the auth would refuse plain HTTP, as production must). Django's
and the auth's tables are migrated at import; one worker process, so no migration race.
"""

import os
from typing import Any
from urllib.parse import urlsplit

import django
from django.conf import settings
from django.contrib.auth.hashers import Argon2PasswordHasher

from bench.apps.embedded import ARGON2

__all__ = ["BenchArgon2Hasher", "application", "urlpatterns"]


class BenchArgon2Hasher(Argon2PasswordHasher):
    """Django's argon2id hasher with jwtauth's default cost."""

    time_cost = ARGON2["time_cost"]
    memory_cost = ARGON2["memory_cost"]
    parallelism = ARGON2["parallelism"]


def _database(value: str) -> dict[str, Any]:
    if not value.startswith("postgresql://"):
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": value}
    url = urlsplit(value)
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": url.path.lstrip("/"),
        "USER": url.username or "",
        "HOST": url.hostname or "",
        "PORT": str(url.port or ""),
    }


_jwtauth: dict[str, Any] = {
    "SIGNING_KEY": os.environ["BENCH_SECRET"],
    "ISSUER": os.environ["BENCH_ISSUER"],
    "AUDIENCE": "jwtauth",
}
if os.environ.get("BENCH_REDIS_URL"):
    _jwtauth["REDIS_URL"] = os.environ["BENCH_REDIS_URL"]

settings.configure(
    DEBUG=True,
    SECRET_KEY="bench-only-" + "d" * 50,  # pragma: allowlist secret
    ALLOWED_HOSTS=["127.0.0.1"],
    ROOT_URLCONF=__name__,
    INSTALLED_APPS=[
        "django.contrib.contenttypes",
        "django.contrib.auth",
        "rest_framework",
        "jwtauth.integrations.django_app",
    ],
    MIDDLEWARE=["django.middleware.common.CommonMiddleware"],
    APPEND_SLASH=False,
    DATABASES={"default": _database(os.environ["BENCH_DB"])},
    DEFAULT_AUTO_FIELD="django.db.models.AutoField",
    PASSWORD_HASHERS=[f"{__name__}.BenchArgon2Hasher"],
    USE_TZ=True,
    JWTAUTH=_jwtauth,
)
django.setup()

from django.core.management import call_command  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.urls import include, path  # noqa: E402
from rest_framework.response import Response  # noqa: E402
from rest_framework.views import APIView  # noqa: E402

from jwtauth.integrations.django_app.auth_api import jwtauth_urls  # noqa: E402

call_command("migrate", verbosity=0)


class OrdersView(APIView):
    """The host's own API, protected by the integration's defaults (deny by default)."""

    def get(self, request: Any) -> Response:
        return Response(["o-1"])


urlpatterns = [path("orders", OrdersView.as_view()), path("", include(jwtauth_urls))]
application = get_wsgi_application()
