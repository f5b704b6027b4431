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

from pathlib import Path

import pytest
from deploy.topology import topology

from jwtauth.redis_namespace import redis_namespace
from tests.faults import redis_binaries
from tests.fleet import Record, assert_nothing_lost, load, progressed, ready, wait_for


def test_the_documented_topology_loses_nothing_through_cluster_failovers(
    tmp_path: Path, postgres_url: str
) -> None:
    redis_binaries()  # skips, or fails under JWTAUTH_REQUIRE_SERVICES, without them
    # One client address drives every user: the per-address limits would refuse the load.
    unlimited = {"JWTAUTH_RATE_LIMITS": "false"}
    with topology(tmp_path, postgres_url, 3, unlimited) as (cluster, fleet):
        bases = list(fleet.bases)
        issuer = fleet.env["JWTAUTH_ISSUER"]
        slot_key = f"jwtauth:{{{redis_namespace(None, issuer)}}}:rev:x"
        record = Record()

        def owner_is_not(node: object) -> bool:
            try:
                return cluster.primary_for(slot_key) is not node
            except RuntimeError:  # mid-failover: nobody owns the slot for a moment
                return False

        def all_ready() -> bool:
            return cluster.healthy() and all(ready(base) for base in bases)

        with load(bases, record):
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
        later = fleet.start_one("later")
        assert_nothing_lost(record, [*bases, later], later)


@pytest.mark.parametrize("argv", [["--help"]])
def test_the_topology_command_documents_itself(argv: list[str]) -> None:
    from deploy.topology import main

    with pytest.raises(SystemExit) as done:
        main(argv)
    assert done.value.code == 0
