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
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from deploy.topology import Cluster as PrivateCluster
from deploy.topology import RedisNode as PrivateRedis
from deploy.topology import free_port

from tests.conftest import service_unavailable

__all__ = [
    "PrivateCluster",
    "PrivatePostgres",
    "PrivateRedis",
    "PrivateSentinel",
    "free_port",
    "private_cluster",
    "private_postgres",
    "private_redis",
    "private_sentinel",
    "redis_binaries",
]


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
    server = PrivateRedis(directory, binary)
    server.start()
    try:
        yield server
    finally:
        server.close()


class PrivateSentinel:
    """A primary, its replica and one sentinel (quorum 1) of the test's own, on loopback: the
    sentinel fails the primary over once it has been silent for ``down_after_ms``."""

    SERVICE = "jwtauth"

    def __init__(self, directory: Path, binary: str, cli: str, down_after_ms: int) -> None:
        self.binary, self.cli, self.directory = binary, cli, directory
        self.down_after_ms = down_after_ms
        for name in ("primary", "replica", "sentinel"):
            (directory / name).mkdir(parents=True)
        self.primary = PrivateRedis(directory / "primary", binary)
        self.replica = PrivateRedis(directory / "replica", binary)
        self.sentinel_port = free_port()
        self.sentinel: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis+sentinel://127.0.0.1:{self.sentinel_port}/{self.SERVICE}/0"

    def ask(self, port: int, *command: str) -> str:
        return subprocess.run(  # noqa: S603 - the PATH's redis-cli, our own ports
            [self.cli, "-p", str(port), *command],
            capture_output=True, text=True, timeout=10, check=False,
        ).stdout  # fmt: skip

    def start(self) -> None:
        self.primary.start()
        self.replica.extra = ("--replicaof", "127.0.0.1", str(self.primary.port))
        self.replica.start()
        config = self.directory / "sentinel" / "sentinel.conf"
        config.write_text(
            f"port {self.sentinel_port}\nbind 127.0.0.1\ndir {config.parent}\n"
            f"sentinel monitor {self.SERVICE} 127.0.0.1 {self.primary.port} 1\n"
            f"sentinel down-after-milliseconds {self.SERVICE} {self.down_after_ms}\n"
            f"sentinel failover-timeout {self.SERVICE} 2000\n"
        )
        self.sentinel = subprocess.Popen(  # noqa: S603 - the PATH's redis-server, our config
            [self.binary, str(config), "--sentinel"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self.wait(lambda: self.primary_port() == self.primary.port and self.replica_known())

    def primary_port(self) -> int | None:
        answer = self.ask(self.sentinel_port, "sentinel", "get-master-addr-by-name", self.SERVICE)
        lines = answer.split()
        return int(lines[1]) if len(lines) == 2 and lines[1].isdigit() else None

    def replica_known(self) -> bool:
        """The sentinel knows a synced replica it could promote."""
        synced = "master_link_status:up" in self.ask(self.replica.port, "info", "replication")
        return synced and "127.0.0.1" in self.ask(
            self.sentinel_port, "sentinel", "replicas", self.SERVICE
        )

    def wait(self, condition: Callable[[], bool], timeout: float = 60.0) -> None:
        """Wait (polling, with a deadline) until ``condition``."""
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise RuntimeError("the Sentinel topology did not reach the expected state")
            time.sleep(0.1)

    def close(self) -> None:
        if self.sentinel is not None:
            self.sentinel.kill()
            self.sentinel.wait()
            self.sentinel = None
        self.replica.close()
        self.primary.close()


def redis_binaries() -> tuple[str, str]:
    """``redis-server`` and ``redis-cli`` from the PATH, else the service is unavailable."""
    binary, cli = shutil.which("redis-server"), shutil.which("redis-cli")
    if binary is None or cli is None:
        service_unavailable("redis-server and redis-cli", "the binaries are not on PATH")
    return binary, cli


@contextmanager
def private_sentinel(directory: Path, down_after_ms: int = 500) -> Iterator[PrivateSentinel]:
    topology = PrivateSentinel(directory, *redis_binaries(), down_after_ms)
    try:
        topology.start()
        yield topology
    finally:
        topology.close()


@contextmanager
def private_cluster(directory: Path, node_timeout_ms: int = 1000) -> Iterator[PrivateCluster]:
    cluster = PrivateCluster(directory, *redis_binaries(), node_timeout_ms)
    try:
        cluster.create()
        yield cluster
    finally:
        cluster.close()


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
