# mypy: disable-error-code="import-untyped,misc"
# (Django, DRF and simplejwt ship no type information.)
"""The Django REST framework apps ``bench.wsgi`` measures: one per process, chosen by
``BENCH_DRF`` (``gunicorn bench.apps.drf_project:application``).

* ``bare``: an ``APIView`` with no authentication and ``AllowAny``, answering a constant.
* ``simplejwt``: simplejwt's ``JWTAuthentication`` (its user query per request) and
  ``IsAuthenticated``, answering the token's claims.
* ``stateless`` / ``database``: jwtauth's app installed (deny by default), ``USER`` as named,
  answering the claims; ``BENCH_REDIS_URL`` makes revocation go through Redis.

Every variant uses SQLite at ``BENCH_DB``, with the bench user (id 1) created on start-up.
"""

import os

import django
from django.conf import settings

__all__ = ["application"]

MODE = os.environ.get("BENCH_DRF", "bare")
SECRET = os.environ.get("BENCH_SECRET", "")
_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "rest_framework"]

if MODE == "simplejwt":
    extra: dict[str, object] = {
        "SIMPLE_JWT": {
            "SIGNING_KEY": SECRET,
            "ALGORITHM": "HS256",
            "AUDIENCE": os.environ.get("BENCH_AUDIENCE"),
            "ISSUER": os.environ.get("BENCH_ISSUER"),
        },
        "REST_FRAMEWORK": {
            "DEFAULT_AUTHENTICATION_CLASSES": [
                "rest_framework_simplejwt.authentication.JWTAuthentication"
            ],
            "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
        },
    }
elif MODE in ("stateless", "database"):
    jwtauth: dict[str, object] = {
        "SIGNING_KEY": SECRET,
        "ISSUER": os.environ.get("BENCH_ISSUER"),
        "AUDIENCE": os.environ.get("BENCH_AUDIENCE"),
        "USER": MODE,
    }
    if os.environ.get("BENCH_REDIS_URL"):
        jwtauth["REDIS_URL"] = os.environ["BENCH_REDIS_URL"]
    extra = {"JWTAUTH": jwtauth}
    # DEBUG off is production, whose embedded auth refuses an http:// issuer; the bench serves
    # plain HTTP on loopback, as behind a TLS-terminating proxy (its production warning is
    # expected in the log).
    os.environ.setdefault("JWTAUTH_HTTPS", "off")
    _APPS.append("jwtauth.integrations.django_app")
else:
    extra = {}

settings.configure(
    DEBUG=False,
    SECRET_KEY="bench-only-" + "s" * 50,
    ALLOWED_HOSTS=["*"],
    ROOT_URLCONF="bench.apps.drf_urls",
    INSTALLED_APPS=_APPS,
    MIDDLEWARE=[],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["BENCH_DB"]}},
    DEFAULT_AUTO_FIELD="django.db.models.AutoField",
    USE_TZ=True,
    **extra,
)
django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402

call_command("migrate", run_syncdb=True, verbosity=0, skip_checks=True)
if not get_user_model().objects.filter(pk=1).exists():
    get_user_model().objects.create_user("bench", pk=1)

application = get_wsgi_application()
