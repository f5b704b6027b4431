"""The jwtauth server as ``jwtauth serve`` builds it, for ``uvicorn --factory``.

``jwtauth serve`` always logs every request; the benchmark runs every server under the same
uvicorn command line (access log off), so it builds the app the way the command does and
leaves the serving to uvicorn. Configuration comes from the ``JWTAUTH_*`` environment, as for
the command; ``BENCH_HOST`` and ``BENCH_PORT`` say where uvicorn listens (the default issuer).
"""

from __future__ import annotations

import os

from fastapi import FastAPI

from jwtauth.config import Settings
from jwtauth.server import create_app

__all__ = ["app"]


def app() -> FastAPI:
    """``create_app(Settings.load(), host=..., port=...)``, as `jwtauth serve` calls it."""
    host = os.environ.get("BENCH_HOST", "127.0.0.1")
    port = int(os.environ.get("BENCH_PORT", "8000"))
    return create_app(Settings.load(), host=host, port=port)
