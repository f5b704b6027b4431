"""The load of the fault tests (``tests/server/test_fleet_faults.py``, ``tests/test_deploy.py``):
worker threads that each register and log in a user on a random process, refresh twice on
random processes, now and then refresh another session's token on two processes at once, and
log out, recording every answer; and the checks made once the faults are over.
"""

from __future__ import annotations

import random
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx

__all__ = [
    "Record", "assert_nothing_lost", "load", "post", "progressed", "ready", "wait_for",
]  # fmt: skip

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


@contextmanager
def load(bases: list[str], record: Record, workers: int = WORKERS) -> Iterator[None]:
    """Run the load on ``bases`` while the block runs; then stop it and re-raise a worker's
    own failure."""
    stop = threading.Event()

    def work(seed: int) -> None:
        rng = random.Random(seed)  # noqa: S311 - load shape, not a secret
        while not stop.is_set():
            cycle(bases, record, rng)
            with record.lock:
                record.cycles += 1

    with ThreadPoolExecutor(workers) as pool:
        futures = [pool.submit(work, seed) for seed in range(workers)]
        try:
            yield
        finally:
            stop.set()
        for future in futures:
            future.result()


def assert_nothing_lost(record: Record, everyone: list[str], later: str) -> None:
    """No answer outside :data:`ALLOWED` (no 500); every 204 logout refused by every process
    in ``everyone`` and its refresh token dead at ``later`` (started after the faults); no
    refresh token won twice."""
    assert record.unexpected == [], record.statuses
    assert record.statuses["logout", 204] > 10, record.statuses
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
