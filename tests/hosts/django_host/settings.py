"""Settings of the Django host, from the environment the live test gives it:
``HOST_DATABASE`` (a SQLite path, or ``postgres://`` parts), ``HOST_REDIS_URL``,
``HOST_SIGNING_KEY`` (an HMAC secret, or a PEM private key with ``HOST_ALGORITHM``)."""

from __future__ import annotations

import os
from datetime import timedelta
from urllib.parse import urlsplit

__all__: list[str] = []

DEBUG = True  # development: the auth tables are created at start, as in `jwtauth serve`
SECRET_KEY = os.environ["HOST_SECRET_KEY"]
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "tests.hosts.django_host.urls"
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "rest_framework",
    "jwtauth.integrations.django_app",
]
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
APPEND_SLASH = False
_database = os.environ["HOST_DATABASE"]
if _database.startswith("postgres"):
    _url = urlsplit(_database)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": _url.path.lstrip("/"),
            "USER": _url.username or "",
            "HOST": _url.hostname or "",
            "PORT": str(_url.port or ""),
        }
    }
else:
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": _database}}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
# Test speed only: the password hasher is not what the live tests are about.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
USE_TZ = True
JWTAUTH = {
    "SIGNING_KEY": os.environ["HOST_SIGNING_KEY"],
    "ALGORITHM": os.environ.get("HOST_ALGORITHM", "HS256"),
    "ISSUER": "http://127.0.0.1:8000",
    "AUDIENCE": "jwtauth",
    # The auth server's default, which the contract table asserts (simplejwt's is one day).
    "REFRESH_TOKEN_LIFETIME": timedelta(days=14),
    **({"REDIS_URL": os.environ["HOST_REDIS_URL"]} if os.environ.get("HOST_REDIS_URL") else {}),
}
