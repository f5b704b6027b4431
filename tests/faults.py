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
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

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
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class PrivateRedis:
    """A ``redis-server`` of the test's own, persisting nothing (as the machine's Redis)."""

    def __init__(self, directory: Path, binary: str, extra: tuple[str, ...] = ()) -> None:
        self.port = free_port()
        self.directory = directory
        self.binary = binary
        self.extra = extra
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - fixed arguments, the PATH's redis-server
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.directory), *self.extra],
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


def _free_cluster_port() -> int:
    """A port free with its cluster-bus port (port + 10000), both below 65536: the kernel's
    ephemeral ports (32768 and up) often have no room for the bus."""
    for _ in range(200):
        port = random.randrange(20000, 30000)  # noqa: S311 - a port, not a secret
        try:
            with socket.socket() as one, socket.socket() as bus:
                one.bind(("127.0.0.1", port))
                bus.bind(("127.0.0.1", port + 10000))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port pair for a cluster node")


class PrivateCluster:
    """A Redis Cluster of the test's own: three primaries and a replica each, on loopback,
    persisting nothing; a node silent for ``node_timeout_ms`` is failed over."""

    def __init__(self, directory: Path, binary: str, cli: str, node_timeout_ms: int) -> None:
        self.cli = cli
        self.nodes: list[PrivateRedis] = []
        for index in range(6):
            node_dir = directory / f"node-{index}"
            node_dir.mkdir(parents=True)
            extra = ("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                     "--cluster-node-timeout", str(node_timeout_ms))  # fmt: skip
            node = PrivateRedis(node_dir, binary, extra)
            node.port = _free_cluster_port()
            self.nodes.append(node)

    @property
    def url(self) -> str:
        """Two startup nodes; the client finds the others."""
        first, second = self.nodes[0].port, self.nodes[1].port
        return f"redis+cluster://127.0.0.1:{first}?node=127.0.0.1:{second}"

    def ask(self, port: int, *command: str) -> str:
        # Fixed arguments: the PATH's redis-cli, our own ports.
        answer = subprocess.run(  # noqa: S603
            [self.cli, "-p", str(port), *command],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        return answer.stdout

    def create(self) -> None:
        for node in self.nodes:
            node.start()
        addresses = [f"127.0.0.1:{node.port}" for node in self.nodes]
        subprocess.run(  # noqa: S603 - the PATH's redis-cli, our own ports
            [self.cli, "--cluster", "create", *addresses, "--cluster-replicas", "1",
             "--cluster-yes"],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        self.wait_healthy()

    def alive(self) -> list[PrivateRedis]:
        return [node for node in self.nodes if node.process is not None]

    def healthy(self) -> bool:
        """Every live node says the cluster is ok and names three primaries, all of them live
        (a killed primary is still named until the others have failed it over), and every live
        replica has synced with its primary."""
        live = {node.port for node in self.alive()}
        for port in live:
            if "cluster_state:ok" not in self.ask(port, "cluster", "info"):
                return False
            primaries = {
                int(fields[1].split("@")[0].rpartition(":")[2])
                for fields in map(str.split, self.ask(port, "cluster", "nodes").splitlines())
                if "master" in fields[2] and "fail" not in fields[2]
            }
            if len(primaries) != 3 or not primaries <= live:
                return False
            replication = self.ask(port, "info", "replication")
            # A replica that has not synced yet could not take over from its primary.
            if "role:slave" in replication and "master_link_status:up" not in replication:
                return False
        return True

    def wait_healthy(self, timeout: float = 60.0) -> None:
        """Wait (polling, with a deadline) until :meth:`healthy`."""
        deadline = time.monotonic() + timeout
        while not self.healthy():
            if time.monotonic() > deadline:
                raise RuntimeError("the Redis Cluster did not become healthy")
            time.sleep(0.1)

    def primary_for(self, key: str) -> PrivateRedis:
        """The live node that owns ``key``'s slot now."""
        any_node = self.alive()[0].port
        slot = int(self.ask(any_node, "cluster", "keyslot", key).strip())
        for line in self.ask(any_node, "cluster", "nodes").splitlines():
            fields = line.split()
            if "master" not in fields[2] or "fail" in fields[2]:
                continue
            for span in fields[8:]:
                low, _, high = span.partition("-")
                if low.isdigit() and int(low) <= slot <= int(high or low):
                    port = int(fields[1].split("@")[0].rpartition(":")[2])
                    return next(node for node in self.nodes if node.port == port)
        raise RuntimeError(f"no live primary owns slot {slot}")

    def close(self) -> None:
        for node in self.nodes:
            node.close()


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


@contextmanager
def private_sentinel(directory: Path, down_after_ms: int = 500) -> Iterator[PrivateSentinel]:
    binary, cli = shutil.which("redis-server"), shutil.which("redis-cli")
    if binary is None or cli is None:
        service_unavailable("redis-server and redis-cli", "the binaries are not on PATH")
        return
    topology = PrivateSentinel(directory, binary, cli, down_after_ms)
    try:
        topology.start()
        yield topology
    finally:
        topology.close()


@contextmanager
def private_cluster(directory: Path, node_timeout_ms: int = 1000) -> Iterator[PrivateCluster]:
    binary, cli = shutil.which("redis-server"), shutil.which("redis-cli")
    if binary is None or cli is None:
        service_unavailable("redis-server and redis-cli", "the binaries are not on PATH")
        return
    cluster = PrivateCluster(directory, binary, cli, node_timeout_ms)
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
