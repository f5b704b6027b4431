"""The local topology of ``deploy/`` (three ``jwtauth serve`` processes on a Redis Cluster of
three primaries and three replicas, and PostgreSQL), started as its README says, under the
fault tests' bounded load while the cluster's nodes fail (issue 14):

- the primary that owns the deployment's slot is killed: the cluster fails it over, and the
  killed node comes back as a replica;
- the new owner is frozen (SIGSTOP) past the node timeout: failed over again, then thawed.

Afterwards, as in ``tests/server/test_fleet_faults.py``: no 500; every 204 logout is refused by
every process and by a fourth started afterwards, and its refresh token is dead; no refresh
token won twice.
"""

from __future__ import annotations

import random
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from deploy.topology import topology

from jwtauth.redis_namespace import redis_namespace
from tests.conftest import service_unavailable
from tests.server.test_fleet_faults import Record, cycle, post, progressed, ready, wait_for

WORKERS = 4


def test_the_documented_topology_loses_nothing_through_cluster_failovers(
    tmp_path: Path, postgres_url: str
) -> None:
    if shutil.which("redis-server") is None or shutil.which("redis-cli") is None:
        service_unavailable("redis-server and redis-cli", "the binaries are not on PATH")
    # One client address drives every user: the per-address limits would refuse the load.
    unlimited = {"JWTAUTH_RATE_LIMITS": "false"}
    with topology(tmp_path, postgres_url, 3, unlimited) as (cluster, fleet):
        bases = list(fleet.bases)
        issuer = fleet.env["JWTAUTH_ISSUER"]
        slot_key = f"jwtauth:{{{redis_namespace(None, issuer)}}}:rev:x"
        record = Record()
        stop = threading.Event()

        def work(seed: int) -> None:
            rng = random.Random(seed)  # noqa: S311 - load shape, not a secret
            while not stop.is_set():
                cycle(bases, record, rng)
                with record.lock:
                    record.cycles += 1

        def owner_is_not(node: object) -> bool:
            try:
                return cluster.primary_for(slot_key) is not node
            except RuntimeError:  # mid-failover: nobody owns the slot for a moment
                return False

        def all_ready() -> bool:
            return cluster.healthy() and all(ready(base) for base in bases)

        with ThreadPoolExecutor(WORKERS) as pool:
            futures = [pool.submit(work, seed) for seed in range(WORKERS)]
            try:
                wait_for(progressed(record, 6), "load before the faults")
                owner = cluster.primary_for(slot_key)
                owner.kill()
                wait_for(progressed(record, 4), "load through the failover")
                cluster.wait_healthy()
                owner.start()  # its nodes.conf brings it back, as a replica now
                wait_for(all_ready, "ready after the killed primary came back")
                wait_for(progressed(record, 4), "load after the first failover")
                frozen = cluster.primary_for(slot_key)
                frozen.freeze()
                wait_for(lambda: owner_is_not(frozen), "second failover")
                wait_for(progressed(record, 4), "load with the old owner frozen")
                frozen.thaw()
                wait_for(all_ready, "ready after the thaw")
                wait_for(progressed(record, 4), "load after it all")
            finally:
                stop.set()
            for future in futures:
                future.result()
        later = fleet.start_one("later")
        assert record.unexpected == [], record.statuses
        assert record.statuses["logout", 204] > 10, record.statuses
        assert max(record.won.values()) <= 1  # no refresh token rotated twice
        for tokens in record.logged_out:
            access = {"Authorization": f"Bearer {tokens['access_token']}"}
            for base in [*bases, later]:
                deadline = time.monotonic() + 10.0
                while (
                    status := httpx.get(f"{base}/auth/me", headers=access, timeout=15).status_code
                ) != 401:
                    assert status in (200, 503), status
                    assert time.monotonic() < deadline, f"{base} still accepts a logged-out token"
                    time.sleep(0.05)
            refreshed = post(later, "/auth/refresh", {"refresh_token": tokens["refresh_token"]})
            assert refreshed.status_code == 401


@pytest.mark.parametrize("argv", [["--help"]])
def test_the_topology_command_documents_itself(argv: list[str]) -> None:
    from deploy.topology import main

    with pytest.raises(SystemExit) as done:
        main(argv)
    assert done.value.code == 0
