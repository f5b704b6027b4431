"""Fixtures of these tests: real OpenBao and moto servers (tests/managers.py)."""

from tests.managers import aws_credentials, bao, moto

__all__ = ["aws_credentials", "bao", "moto"]
