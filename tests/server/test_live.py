"""The README walkthrough, pasted as written, against a live `jwtauth serve` process."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live import live_server as live

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[str]:
    """`jwtauth serve` on a free port, with development defaults in a scratch directory."""
    with live(tmp_path) as base:
        yield base


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
