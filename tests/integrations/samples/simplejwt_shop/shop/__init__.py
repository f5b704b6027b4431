"""A small Django REST framework shop on djangorestframework-simplejwt (see settings.py)."""
