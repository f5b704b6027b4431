# mypy: disable-error-code="import-untyped,misc"
# (Django and DRF ship no type information.)
"""The host's WSGI application: ``tests.hosts.django_host.wsgi:application``."""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

__all__ = ["application"]

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.hosts.django_host.settings")
application = get_wsgi_application()
