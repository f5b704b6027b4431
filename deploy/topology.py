"""A local production-like topology: a Redis Cluster of three primaries and three replicas on
loopback ports, and N ``jwtauth serve`` processes behind them on one PostgreSQL database, as a
deployment behind a load balancer runs them (one issuer, one HS256 secret, one namespace).

Run it (``deploy/README.md``)::

    .venv/bin/python -m deploy.topology --database-url postgresql+asyncpg://postgres@127.0.0.1/test

The fault tests start the same topology from Python (:class:`Cluster`, :class:`Fleet`): they
kill, freeze and restart its nodes and processes (``tests/test_deploy.py``). Only the standard
library, ``redis-server``/``redis-cli`` from the PATH and the venv's ``jwtauth`` are used.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path

__all__ = ["Cluster", "Fleet", "RedisNode", "free_cluster_port", "free_port", "main"]

JWTAUTH = Path(sys.executable).parent / "jwtauth"
READY_DEADLINE = 60.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class RedisNode:
    """One ``redis-server`` on loopback, persisting nothing, that can be killed, frozen and
    restarted (the fault tests do)."""

    def __init__(self, directory: Path, binary: str, extra: tuple[str, ...] = ()) -> None:
        self.port = free_port()
        self.directory = directory
        self.binary = binary
        self.extra = extra
        self.process: subprocess.Popen[bytes] | None = None
        self.frozen = False

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
        if self.process.stdout is None:  # pragma: no cover - stdout=PIPE above
            raise RuntimeError("redis-server's output is not readable")
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
        self._running().send_signal(signal.SIGSTOP)
        self.frozen = True

    def thaw(self) -> None:
        self._running().send_signal(signal.SIGCONT)
        self.frozen = False

    def _running(self) -> subprocess.Popen[bytes]:
        if self.process is None:
            raise RuntimeError("the node is not running")
        return self.process

    def close(self) -> None:
        if self.process is not None:
            self.thaw()
            self.kill()


def free_cluster_port() -> int:
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


class Cluster:
    """A Redis Cluster on loopback: three primaries and a replica each, persisting nothing; a
    node silent for ``node_timeout_ms`` is failed over."""

    def __init__(self, directory: Path, binary: str, cli: str, node_timeout_ms: int) -> None:
        self.cli = cli
        self.nodes: list[RedisNode] = []
        for index in range(6):
            node_dir = directory / f"node-{index}"
            node_dir.mkdir(parents=True)
            extra = ("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                     "--cluster-node-timeout", str(node_timeout_ms))  # fmt: skip
            node = RedisNode(node_dir, binary, extra)
            node.port = free_cluster_port()
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

    def alive(self) -> list[RedisNode]:
        """The nodes running and answering (neither killed nor frozen)."""
        return [node for node in self.nodes if node.process is not None and not node.frozen]

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

    def primary_for(self, key: str) -> RedisNode:
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


class Fleet:
    """``count`` ``jwtauth serve`` processes on free loopback ports, each in a working directory
    of its own under ``directory``, all with ``env`` (``JWTAUTH_*``; the caller's own are
    dropped)."""

    def __init__(self, directory: Path, env: Mapping[str, str], count: int = 3) -> None:
        self.directory = directory
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("JWTAUTH_")},
            **env,
        }
        self.count = count
        self.processes: list[subprocess.Popen[bytes]] = []
        self.bases: list[str] = []

    def start_one(self, name: str) -> str:
        """Start one more process; its base URL once ``/readyz`` answers 200."""
        workdir = self.directory / name
        workdir.mkdir(parents=True, exist_ok=True)
        port = free_port()
        log = (workdir / "serve.log").open("wb")
        process = subprocess.Popen(  # noqa: S603 - the venv's own console script
            [str(JWTAUTH), "serve", "--port", str(port)],
            cwd=workdir, env=self.env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        log.close()
        self.processes.append(process)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + READY_DEADLINE
        while not _answers(f"{base}/readyz"):
            if process.poll() is not None:
                tail = (workdir / "serve.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"jwtauth serve exited with {process.returncode}:\n{tail}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"jwtauth serve at {base} not ready")
            time.sleep(0.05)
        self.bases.append(base)
        return base

    def start(self) -> list[str]:
        return [self.start_one(f"serve-{index}") for index in range(self.count)]

    def close(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:  # noqa: S310 - our own http URL
            return bool(answer.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def environment(database_url: str, redis_url: str) -> dict[str, str]:
    """One deployment's settings for every process: one issuer, one secret, one namespace."""
    return {
        "JWTAUTH_DATABASE_URL": database_url,
        "JWTAUTH_REDIS_URL": redis_url,
        "JWTAUTH_ALGORITHM": "HS256",
        "JWTAUTH_SECRET": secrets.token_urlsafe(48),
        "JWTAUTH_ISSUER": "http://local.jwtauth.deploy",
    }


@contextlib.contextmanager
def topology(
    directory: Path,
    database_url: str,
    processes: int = 3,
    settings: Mapping[str, str] | None = None,
) -> Iterator[tuple[Cluster, Fleet]]:
    """The cluster, then the processes on it (``settings``: more ``JWTAUTH_*`` for all of
    them); everything stopped afterwards."""
    binary, cli = shutil.which("redis-server"), shutil.which("redis-cli")
    if binary is None or cli is None:
        raise RuntimeError("redis-server and redis-cli must be on the PATH")
    cluster = Cluster(directory / "redis", binary, cli, node_timeout_ms=1000)
    fleet: Fleet | None = None
    try:
        cluster.create()
        subprocess.run(  # noqa: S603 - the venv's own console script
            [str(JWTAUTH), "db", "upgrade"], check=True, capture_output=True,
            env={**os.environ, "JWTAUTH_DATABASE_URL": database_url},
        )  # fmt: skip
        env = {**environment(database_url, cluster.url), **(settings or {})}
        fleet = Fleet(directory / "servers", env, processes)
        fleet.start()
        yield cluster, fleet
    finally:
        if fleet is not None:
            fleet.close()
        cluster.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Start the local topology until Ctrl-C.")
    parser.add_argument("--database-url", required=True, help="a PostgreSQL SQLAlchemy URL")
    parser.add_argument("--processes", type=int, default=3)
    args = parser.parse_args(argv)
    with (
        tempfile.TemporaryDirectory(prefix="jwtauth-deploy-") as scratch,
        topology(Path(scratch), args.database_url, args.processes) as (cluster, fleet),
    ):
        print(f"Redis Cluster: {cluster.url}")
        for base in fleet.bases:
            print(f"jwtauth serve: {base}")
        print("Ctrl-C stops everything.", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            signal.pause()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
