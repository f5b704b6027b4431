"""Real OpenBao (``bao server -dev``) and moto (``moto_server``) processes for the
secrets-manager and Transit tests.

Each is started on a free loopback port, polled until its health endpoint answers (with a
deadline) and stopped at the end. A missing binary means `service_unavailable`.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import service_unavailable

__all__ = ["Bao", "Moto", "bao", "moto", "running_bao", "running_moto", "wait_for"]

BIN = Path(sys.executable).parent
START_DEADLINE = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for(condition: Callable[[], bool], deadline: float, what: str) -> None:
    """Poll ``condition`` until it holds; fail after ``deadline`` seconds."""
    end = time.monotonic() + deadline
    while not condition():
        if time.monotonic() > end:
            pytest.fail(f"{what} did not happen within {deadline} s")
        time.sleep(0.05)  # a polling interval, not a stand-in for synchronisation


def _answers(url: str, accept: Callable[[int], bool]) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1.0) as response:  # noqa: S310 - loopback
            return accept(response.status)
    except urllib.error.HTTPError as exc:
        return accept(exc.code)
    except OSError:
        return False


@contextmanager
def _process(
    name: str, argv: list[str], url: str, accept: Callable[[int], bool], workdir: Path
) -> Iterator[subprocess.Popen[bytes]]:
    if not Path(argv[0]).exists():
        service_unavailable(name, f"{argv[0]} is not installed")
    log = (workdir / f"{name}.log").open("wb")
    # HOME points at the scratch directory: bao's token helper must not touch ~/.vault-token.
    env = {**os.environ, "HOME": str(workdir)}
    process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env)  # noqa: S603
    try:

        def ready() -> bool:
            if process.poll() is not None:
                service_unavailable(name, f"it exited with status {process.returncode}")
            return _answers(url, accept)

        wait_for(ready, START_DEADLINE, f"{name} answering on {url}")
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@dataclass(frozen=True)
class Bao:
    """A running OpenBao dev server: its URL, root token and process."""

    url: str
    token: str
    process: subprocess.Popen[bytes]

    def client(self) -> Any:
        import hvac  # type: ignore[import-untyped]

        return hvac.Client(url=self.url, token=self.token, timeout=5)


@contextmanager
def running_bao(workdir: Path) -> Iterator[Bao]:
    """``bao server -dev`` with a random root token on a free port; KV v2 at ``secret/`` and
    Transit at ``transit/``."""
    port = free_port()
    token = secrets.token_urlsafe(24)
    url = f"http://127.0.0.1:{port}"
    argv = [str(BIN / "bao"), "server", "-dev", f"-dev-root-token-id={token}",
            f"-dev-listen-address=127.0.0.1:{port}", "-dev-no-store-token"]  # fmt: skip
    # /v1/sys/health answers 200 once the server is initialised, unsealed and active.
    with _process("OpenBao", argv, f"{url}/v1/sys/health", lambda s: s == 200, workdir) as proc:
        server = Bao(url, token, proc)
        server.client().sys.enable_secrets_engine("transit", path="transit")
        yield server


@dataclass(frozen=True)
class Moto:
    """A running moto server (AWS APIs) and its process."""

    url: str
    process: subprocess.Popen[bytes]

    def client(self) -> Any:
        import boto3  # type: ignore[import-untyped]

        return boto3.session.Session().client(
            "secretsmanager", region_name="us-east-1", endpoint_url=self.url
        )


@contextmanager
def running_moto(workdir: Path) -> Iterator[Moto]:
    """``moto_server`` on a free port."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)]
    with _process("moto", argv, f"{url}/moto-api/", lambda s: s < 500, workdir) as proc:
        yield Moto(url, proc)


@pytest.fixture(scope="session")
def bao(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bao]:
    """One OpenBao dev server for the session."""
    with running_bao(tmp_path_factory.mktemp("bao")) as server:
        yield server


@pytest.fixture(scope="session")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Moto]:
    """One moto server for the session."""
    with running_moto(tmp_path_factory.mktemp("moto")) as server:
        yield server


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Fake AWS credentials for moto, and no shared AWS config from the machine."""
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                        ("AWS_SESSION_TOKEN", "testing"), ("AWS_DEFAULT_REGION", "us-east-1"),
                        ("AWS_CONFIG_FILE", str(tmp_path / "none")),
                        ("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))):  # fmt: skip
        monkeypatch.setenv(name, value)
