"""Fixtures of these tests: real OpenBao and moto servers (tests/managers.py), and the store
tests' migrated database on SQLite and PostgreSQL (the keyring's SQL storage lives here)."""

from tests.managers import aws_credentials, bao, moto
from tests.stores.conftest import database_url

__all__ = ["aws_credentials", "bao", "database_url", "moto"]
