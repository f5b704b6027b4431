"""Live `jwtauth serve` processes for the tests that need a real server over a real socket."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

JWTAUTH = Path(sys.executable).parent / "jwtauth"


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_ready(process: subprocess.Popen[bytes], url: str, what: str) -> None:
    """Poll ``url`` until it answers 200, failing the test if ``process`` exits first or 30 s
    pass; the deadline bounds the wait, nothing is timed."""
    deadline = time.monotonic() + 30
    while True:
        if process.poll() is not None:
            output = process.stdout.read().decode() if process.stdout else ""
            pytest.fail(f"{what} exited with {process.returncode}:\n{output}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not become ready within 30 s")
        time.sleep(0.05)


@contextmanager
def live_server(cwd: Path, env: Mapping[str, str] | None = None) -> Iterator[str]:
    """`jwtauth serve` on a free port in ``cwd``, configured by ``env`` (``JWTAUTH_*`` only; the
    caller's own ``JWTAUTH_*`` variables are dropped); yields its base URL once it is ready."""
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("JWTAUTH_")}
    environment.update(env or {})
    process = subprocess.Popen(  # noqa: S603 - our own console script, fixed arguments
        [str(JWTAUTH), "serve", "--port", str(port)],
        cwd=cwd,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(process, f"{base}/readyz", "jwtauth serve")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()
