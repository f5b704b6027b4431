"""Settings of a small DRF shop on djangorestframework-simplejwt, written the way simplejwt's
documentation writes one: its authentication as DRF's default, rotation with the blacklist app,
and a custom obtain view adding a claim.

``tests/integrations/test_migrating_simplejwt.py`` runs it as it is, then migrates a copy with
the steps of ``docs/migrating-from-simplejwt.md`` and runs that on the same database. The
environment gives ``SAMPLE_SECRET_KEY`` and ``SAMPLE_DB`` (a SQLite file).
"""

import os
from datetime import timedelta

SECRET_KEY = os.environ["SAMPLE_SECRET_KEY"]
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
]
ROOT_URLCONF = "shop.urls"
WSGI_APPLICATION = "shop.wsgi.application"
DATABASES = {
    "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["SAMPLE_DB"]},
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": (
        "rest_framework_simplejwt.authentication.JWTAuthentication",
    ),
    "DEFAULT_PERMISSION_CLASSES": ("rest_framework.permissions.IsAuthenticated",),
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=5),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=1),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "ALGORITHM": "HS256",
    "AUDIENCE": "shop-api",
    "AUTH_HEADER_TYPES": ("Bearer",),
}
