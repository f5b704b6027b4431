"""The README walkthrough, pasted as written, against a live `jwtauth serve` process."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
JWTAUTH = Path(sys.executable).parent / "jwtauth"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[str]:
    """`jwtauth serve` on a free port, with development defaults in a scratch directory."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("JWTAUTH_")}
    process = subprocess.Popen(  # noqa: S603 - our own console script, fixed arguments
        [str(JWTAUTH), "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:  # readiness is polled, bounded by the deadline
            if process.poll() is not None:
                output = process.stdout.read().decode() if process.stdout else ""
                pytest.fail(f"jwtauth serve exited with {process.returncode}:\n{output}")
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("jwtauth serve did not become ready within 30 s")
            time.sleep(0.05)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


def test_readme_walkthrough_runs_against_a_live_server(live_server: str) -> None:
    if shutil.which("curl") is None:
        pytest.skip("the walkthrough needs curl, which this machine lacks")
    text = README.read_text(encoding="utf-8")
    block = re.search(r"<!-- walkthrough:start -->\s*```sh\n(.*?)```", text, re.DOTALL)
    assert block is not None, "README lost its walkthrough block"
    script = block.group(1).replace("http://127.0.0.1:8000", live_server)
    result = subprocess.run(  # noqa: S603 - the README's own script
        ["bash", "-euo", "pipefail", "-c", script],  # noqa: S607
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert '"email":"alice@example.com"' in lines[0]
    assert lines[1] == lines[2]  # /auth/me before and after the refresh
    assert '"email":"alice@example.com"' in lines[1]
    assert lines[3] == "logout: 204"
    assert lines[4] == "me after logout: 401"
