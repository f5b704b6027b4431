"""Private Redis and PostgreSQL servers for fault tests: started on a free port in a temporary
directory, then killed, frozen (SIGSTOP) and restarted by the test, so that an outage never
touches the machine's shared services other tests are using.

They need the server binaries (`redis-server`; PostgreSQL's `initdb` and `pg_ctl`, run as the
`postgres` user when the tests run as root, since PostgreSQL refuses to run as root); without
them the tests skip, or fail under JWTAUTH_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.conftest import service_unavailable

__all__ = ["PrivatePostgres", "PrivateRedis", "free_port", "private_postgres", "private_redis"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class PrivateRedis:
    """A ``redis-server`` of the test's own, persisting nothing (as the machine's Redis)."""

    def __init__(self, directory: Path, binary: str) -> None:
        self.port = free_port()
        self.directory = directory
        self.binary = binary
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - fixed arguments, the PATH's redis-server
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.directory)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        assert self.process.stdout is not None
        # It says when it accepts connections: read up to that line rather than poll the port.
        for line in self.process.stdout:
            if b"Ready to accept connections" in line:
                break
        else:
            raise RuntimeError(f"redis-server exited with {self.process.wait()} at start")
        self.process.stdout.close()

    def kill(self) -> None:
        """SIGKILL: every connection drops, everything in memory is gone."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def freeze(self) -> None:
        """SIGSTOP: the port stays open and nothing answers (a hung server)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def close(self) -> None:
        if self.process is not None:
            self.thaw()
            self.kill()


class PrivatePostgres:
    """A PostgreSQL cluster of the test's own (``initdb`` + ``pg_ctl``), trust auth on
    loopback, database ``postgres``."""

    def __init__(self, directory: Path, binaries: Path) -> None:
        self.port = free_port()
        self.directory = directory
        self.data = directory / "data"
        self.binaries = binaries
        self.user = "postgres" if os.geteuid() == 0 else None

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *command: str) -> None:
        prefix = ["runuser", "-u", self.user, "--"] if self.user else []
        # Fixed arguments: PostgreSQL's own binaries and our temporary directory.
        subprocess.run([*prefix, *command], check=True, capture_output=True, timeout=60)  # noqa: S603

    def init(self) -> None:
        if self.user:
            shutil.chown(self.directory, self.user)
        self._run(
            str(self.binaries / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres"
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            str(self.binaries / "pg_ctl"), "-D", str(self.data), "-o", options, "-w",
            "-l", str(self.directory / "log"), "start",
        )  # fmt: skip  # -w: pg_ctl returns once the server accepts connections

    def stop(self, mode: str = "immediate") -> None:
        """``immediate``: as a crash, every connection cut at once."""
        self._run(str(self.binaries / "pg_ctl"), "-D", str(self.data), "-m", mode, "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def close(self) -> None:
        if self.running():
            self.stop()


@contextmanager
def private_redis(directory: Path) -> Iterator[PrivateRedis]:
    binary = shutil.which("redis-server")
    if binary is None:
        service_unavailable("redis-server", "the binary is not on PATH")
        return
    server = PrivateRedis(directory, binary)
    server.start()
    try:
        yield server
    finally:
        server.close()


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    """A private PostgreSQL in a directory of its own (pytest's are private to root, and
    PostgreSQL runs as ``postgres``), removed afterwards."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        service_unavailable("PostgreSQL binaries", "no /usr/lib/postgresql/*/bin/initdb")
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            service_unavailable("PostgreSQL binaries", "running as root without a postgres user")
    directory = Path(tempfile.mkdtemp(prefix="jwtauth-pg-"))
    server = PrivatePostgres(directory, Path(found[-1]).parent)
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.close()
        shutil.rmtree(directory, ignore_errors=True)
