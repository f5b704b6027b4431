"""A Django + DRF project embedding the auth API (``include(jwtauth_urls)``), for gunicorn."""
