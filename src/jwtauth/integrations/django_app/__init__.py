"""The Django app of the DRF integration (``INSTALLED_APPS``: ``jwtauth.integrations.django_app``):
settings, deny-by-default defaults, user-change signals, system checks and ``manage.py
jwtauth_audit``. The DRF classes themselves are in :mod:`jwtauth.integrations.drf`."""

__all__: list[str] = []
