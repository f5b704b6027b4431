"""Three real `jwtauth serve` processes under a bounded load while Redis is killed (and comes
back empty), frozen (SIGSTOP), and PostgreSQL is crashed and restarted, each a private server of
the test's own (issue 14). Afterwards, checked on every process and on a fourth one started
after all of it:

- no answer was a 500 (a store that cannot answer is a 503);
- every logout that answered 204 is in force everywhere: the access token is refused and the
  session's refresh token cannot refresh;
- no refresh token was rotated twice: of two concurrent refreshes of one token on two
  processes, at most one won, and no token ever won twice.

The load: worker threads, each registering and logging in a user on a random process, then
refreshing twice on random processes, now and then refreshing another session's token on two
processes at once, then logging out; they run until the faults are over. The test waits for
the load to make progress (a count of finished cycles) between faults, never for a fixed time.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from jwtauth.stores.sql_database import upgrade
from tests.faults import PrivatePostgres, PrivateRedis, private_postgres, private_redis
from tests.fleet import Record, assert_nothing_lost, load, progressed, ready, wait_for
from tests.live import live_server


@pytest.fixture
def postgres() -> Iterator[PrivatePostgres]:
    with private_postgres() as server:
        yield server


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    with private_redis(tmp_path) as server:
        yield server


def test_three_processes_lose_no_logout_through_redis_and_postgres_faults(
    tmp_path: Path, postgres: PrivatePostgres, redis: PrivateRedis
) -> None:
    upgrade(postgres.url)
    env = {
        "JWTAUTH_DATABASE_URL": postgres.url,
        "JWTAUTH_REDIS_URL": redis.url,
        "JWTAUTH_ALGORITHM": "HS256",
        "JWTAUTH_SECRET": secrets.token_urlsafe(48),
        "JWTAUTH_ISSUER": "http://fleet.jwtauth.test",  # one deployment: one issuer
        "JWTAUTH_REVOCATION_POLL_INTERVAL": "1",
        "JWTAUTH_RATE_LIMITS": "false",
    }
    record = Record()
    with ExitStack() as stack:
        bases = []
        for name in ("a", "b", "c"):
            (tmp_path / name).mkdir()
            bases.append(stack.enter_context(live_server(tmp_path / name, env)))
        with load(bases, record):
            wait_for(progressed(record, 6), "load before the faults")
            redis.kill()  # every key and message gone with it
            wait_for(progressed(record, 6), "load with Redis down")
            redis.start()  # empty
            wait_for(lambda: all(ready(b) for b in bases), "ready after Redis came back")
            wait_for(progressed(record, 4), "load after Redis came back")
            redis.freeze()
            wait_for(progressed(record, 3), "load with Redis hung")
            redis.thaw()
            wait_for(lambda: all(ready(b) for b in bases), "ready after Redis thawed")
            postgres.stop()  # a crash: every connection cut
            wait_for(progressed(record, 2), "load with PostgreSQL down")
            postgres.start()
            wait_for(lambda: all(ready(b) for b in bases), "ready after PostgreSQL")
            wait_for(progressed(record, 6), "load after PostgreSQL came back")
        (tmp_path / "later").mkdir()
        later = stack.enter_context(live_server(tmp_path / "later", env))
        assert record.statuses["refresh", 503] + record.statuses["login", 503] > 0  # faults hit
        assert_nothing_lost(record, [*bases, later], later)
