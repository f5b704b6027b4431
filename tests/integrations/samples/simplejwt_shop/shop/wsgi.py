# Django ships no type information.
# mypy: disable-error-code="import-untyped"
"""The shop's WSGI application: ``shop.wsgi:application``."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
application = get_wsgi_application()
