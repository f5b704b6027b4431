"""Fixtures of the key tests: real OpenBao and moto servers (tests/keys/servers.py)."""

from tests.keys.servers import aws_credentials, bao, moto

__all__ = ["aws_credentials", "bao", "moto"]
