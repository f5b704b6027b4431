"""Two auth servers on one database and a Redis Cluster (a private one, tests/faults.py), as
two processes behind one load balancer (issue 14): a logout on one is refused by the other
through the cluster's sharded Pub/Sub, well before the database poll (60 s here) could bring it,
and the login limit is one limit across both.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from jwtauth.config import Settings
from tests.faults import PrivateCluster, private_cluster
from tests.server.support import PASSWORD, Api, bearer, serve

pytestmark = pytest.mark.anyio


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[PrivateCluster]:
    with private_cluster(tmp_path / "cluster") as running:
        yield running


async def test_two_servers_on_a_cluster_share_logouts_and_limits(
    tmp_path: Path, clean_env: None, cluster: PrivateCluster
) -> None:
    settings = Settings.load(
        state_dir=tmp_path / "state",
        redis_url=cluster.url,
        revocation_poll_interval=60.0,  # only Redis can bring the logout in time
        rate_limits=True,
    )
    async with serve(settings) as first, serve(settings) as second:
        tokens = await Api(first).register_and_login()
        access = tokens["access_token"]
        assert (await Api(second).me(access)).status_code == 200
        assert (await first.post("/auth/logout", headers=bearer(access))).status_code == 204
        deadline = time.monotonic() + 5.0
        while (status := (await Api(second).me(access)).status_code) != 401:
            assert status == 200
            assert time.monotonic() < deadline, "the other server still accepts the token"
            await asyncio.sleep(0.01)
        # login-account: 5 a minute for one account, whichever server counts it.
        answers = []
        wrong = {"email": "alice@example.com", "password": PASSWORD + "!"}
        for index in range(8):
            client = first if index % 2 else second
            login = await client.post("/auth/login", json=wrong)
            answers.append(login.status_code)
        assert 429 in answers
        assert answers.count(401) <= 5
