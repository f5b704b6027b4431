"""Settings of the example shop: DRF protected by jwtauth, deny by default.

Development values are generated when the environment gives none: a random signing key (every
token is void after a restart) and a random SECRET_KEY. ``EXAMPLE_DB`` names the SQLite file.
"""

import os
import secrets
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = os.environ.get("EXAMPLE_SECRET_KEY") or secrets.token_urlsafe(50)
DEBUG = os.environ.get("EXAMPLE_DEBUG") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "rest_framework",
    "jwtauth.integrations.django_app",  # deny by default, checks, manage.py jwtauth_audit
    "orders",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
]
ROOT_URLCONF = "shop.urls"
WSGI_APPLICATION = "shop.wsgi.application"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("EXAMPLE_DB", str(BASE_DIR / "db.sqlite3")),
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True

# What a simplejwt project had under SIMPLE_JWT, under jwtauth's own key (SIMPLE_JWT works too).
JWTAUTH = {
    "SIGNING_KEY": os.environ.get("EXAMPLE_SIGNING_KEY") or secrets.token_urlsafe(64),
    "ALGORITHM": "HS256",
    "ISSUER": "https://shop.example",
    "AUDIENCE": "shop-api",
    "REDIS_URL": os.environ.get("EXAMPLE_REDIS_URL"),  # None: revocations in this process only
}
if JWTAUTH["REDIS_URL"] is None:
    del JWTAUTH["REDIS_URL"]
