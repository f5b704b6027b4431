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

import random
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from jwtauth.stores.sql_database import upgrade
from tests.faults import PrivatePostgres, PrivateRedis, private_postgres, private_redis
from tests.live import live_server

PASSWORD = "correct horse battery staple"  # a test user's  # pragma: allowlist secret
WORKERS = 4
ALLOWED = {
    "register": {201, 503},
    "login": {200, 503},
    "refresh": {200, 401, 503},  # 401: a token retried after a 503 may count as a reuse
    "logout": {204, 503},
}


@dataclass
class Record:
    """What the load saw; shared by the worker threads under ``lock``."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    unexpected: list[str] = field(default_factory=list)
    won: Counter[str] = field(default_factory=Counter)  # refresh token -> 200 answers
    logged_out: list[dict[str, str]] = field(default_factory=list)
    cycles: int = 0

    def saw(self, what: str, status: int) -> None:
        with self.lock:
            self.statuses[what, status] += 1
            if status not in ALLOWED[what]:
                self.unexpected.append(f"{what} {status}")


def post(base: str, path: str, body: dict[str, str], access: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {access}"} if access else {}
    return httpx.post(f"{base}{path}", json=body, headers=headers, timeout=15)


def refresh(bases: list[str], record: Record, token: str, processes: int) -> list[httpx.Response]:
    """Refresh ``token`` on ``processes`` random processes at once; record who won."""
    body = {"refresh_token": token}
    targets = random.sample(bases, processes)
    with ThreadPoolExecutor(processes) as pool:
        answers = list(pool.map(post, targets, ["/auth/refresh"] * processes, [body] * processes))
    for reply in answers:
        record.saw("refresh", reply.status_code)
    with record.lock:
        record.won[token] += sum(reply.status_code == 200 for reply in answers)
    return answers


def cycle(bases: list[str], record: Record, rng: random.Random) -> None:
    email = f"u{secrets.token_hex(6)}@example.com"
    credentials = {"email": email, "password": PASSWORD}
    answer = post(rng.choice(bases), "/auth/register", credentials)
    record.saw("register", answer.status_code)
    if answer.status_code != 201:
        return
    answer = post(rng.choice(bases), "/auth/login", credentials)
    record.saw("login", answer.status_code)
    if answer.status_code != 200:
        return
    tokens = answer.json()
    for _ in range(2):
        (reply,) = refresh(bases, record, tokens["refresh_token"], 1)
        if reply.status_code == 401:
            return  # a token retried after a 503 counted as a reuse: the family is over
        if reply.status_code == 200:
            tokens = reply.json()
    if rng.random() < 0.3:
        # Another session of the user, its token refreshed on two processes at once: one may
        # win, the loser's use is a reuse and ends that session (not the one logged out below).
        second = post(rng.choice(bases), "/auth/login", credentials)
        record.saw("login", second.status_code)
        if second.status_code == 200:
            refresh(bases, record, second.json()["refresh_token"], 2)
    answer = post(rng.choice(bases), "/auth/logout", {}, access=tokens["access_token"])
    record.saw("logout", answer.status_code)
    if answer.status_code == 204:
        with record.lock:
            record.logged_out.append(tokens)


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 120.0) -> None:
    """Poll ``condition`` (every 50 ms) with a deadline: the state awaited, not a duration."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what}: not within {timeout:.0f} s"
        time.sleep(0.05)


def progressed(record: Record, cycles: int) -> Callable[[], bool]:
    start = record.cycles
    return lambda: record.cycles >= start + cycles


def ready(base: str) -> bool:
    try:
        return httpx.get(f"{base}/readyz", timeout=5).status_code == 200
    except httpx.TransportError:
        return False


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
    stop = threading.Event()
    with ExitStack() as stack:
        bases = []
        for name in ("a", "b", "c"):
            (tmp_path / name).mkdir()
            bases.append(stack.enter_context(live_server(tmp_path / name, env)))

        def work(seed: int) -> None:
            rng = random.Random(seed)  # noqa: S311 - load shape, not a secret
            while not stop.is_set():
                cycle(bases, record, rng)
                with record.lock:
                    record.cycles += 1

        with ThreadPoolExecutor(WORKERS) as pool:
            futures = [pool.submit(work, seed) for seed in range(WORKERS)]
            try:
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
            finally:
                stop.set()
            for future in futures:
                future.result()  # a worker's own failure fails the test
        (tmp_path / "later").mkdir()
        later = stack.enter_context(live_server(tmp_path / "later", env))
        everyone = [*bases, later]
        assert record.unexpected == [], record.statuses
        assert record.statuses["logout", 204] > 10, record.statuses
        assert record.statuses["refresh", 503] + record.statuses["login", 503] > 0  # faults hit
        assert max(record.won.values()) <= 1  # no refresh token rotated twice
        for tokens in record.logged_out:
            access = {"Authorization": f"Bearer {tokens['access_token']}"}
            for base in everyone:
                deadline = time.monotonic() + 10.0  # one poll at most, on a loaded machine
                while (
                    status := httpx.get(f"{base}/auth/me", headers=access, timeout=15).status_code
                ) != 401:
                    assert status in (200, 503), status
                    assert time.monotonic() < deadline, f"{base} still accepts a logged-out token"
                    time.sleep(0.05)
            refreshed = post(later, "/auth/refresh", {"refresh_token": tokens["refresh_token"]})
            assert refreshed.status_code == 401  # the session ended with its logout
