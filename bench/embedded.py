"""Login and refresh throughput of the auth API embedded in FastAPI, Flask and Django, beside
``jwtauth serve``'s, in one run, on one machine.

Every host is its own server process with one worker (``jwtauth serve`` is one process):
``jwtauth serve`` and the FastAPI host under uvicorn, the Flask and Django hosts under gunicorn
(gthread, :data:`THREADS` threads: a sync worker would answer one request at a time, which
measures gunicorn's worker class rather than the auth). The apps are ``bench/apps/embedded.py``
and ``bench/apps/embedded_django.py``; every host hashes with argon2id at jwtauth's default
cost (Django through its own argon2 hasher with the same parameters) and runs in development,
as ``jwtauth serve`` does with no ``JWTAUTH_ENV``.

Each host gets a database of its own, a SQLite file and, when both are reachable, a scratch
PostgreSQL database (dropped after) with Redis (flushed before each host); else those rows
say why not. Rate limits and lockout are off (``JWTAUTH_RATE_LIMITS=false``,
``JWTAUTH_LOCKOUT=false``): the bench logs one account in and refreshes far beyond them on
purpose, and lockout's bookkeeping would add its writes to every login.

* Login: ``wrk`` posts the bench account's credentials on :data:`LOGIN_CONNECTIONS`
  connections. A login is dominated by argon2, so the hash's own rate (the same parameters,
  as many threads as connections, in this process, no HTTP, measured just before each host
  starts) is a reference: a host's login rate over it shows what the host adds.
* Refresh: a refresh token is single-use, so ``bench/lua/refresh.lua`` keeps a queue of live
  tokens (the logins' own, then each answer's new one): every request rotates a distinct,
  unused token, and every connection rotates a chain. A failed request (a token that was not
  live answers 401) marks the figure invalid.

One run per cell (no repeats), so that ``make bench`` grows by about two minutes. Needs
``wrk`` (without it the run says so and exits 0). Run: ``make bench`` (or ``python -m
bench.embedded [--redis-url URL]``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import httpx
from argon2 import PasswordHasher as Argon2Hasher

from bench.apps.embedded import ARGON2
from bench.server import (
    CONNECTIONS,
    EMAIL,
    PASSWORD,
    PG,
    READY_DEADLINE,
    REDIS_URL,
    ROOT,
    Sample,
    _base_env,
    _free_port,
    _tail,
    parse_wrk,
    postgres_create,
    postgres_drop,
)

WORKERS = 1
THREADS = 8  # gunicorn gthread threads per worker
LOGIN_CONNECTIONS = 4
LOGIN_SECONDS = 6
REFRESH_SECONDS = 5
HASH_SECONDS = 2  # before every host, so that each is set against the machine's state then
SPARE = 8
WARM_CHAINS, WARM_LENGTH = 4, 10  # refreshes before the measured run, untimed
LUA = Path(__file__).resolve().parent / "lua"
ISSUER = "http://127.0.0.1:8000"  # Django's (its settings need one); the others use their own

SQLITE, POSTGRES = "SQLite file", "PostgreSQL + Redis"


@dataclass(frozen=True)
class Host:
    name: str
    server: str  # "uvicorn" or "gunicorn"
    target: str


SERVE = "jwtauth serve"
HOSTS = [
    Host(SERVE, "uvicorn", "bench.apps.jwtauth_server:app"),
    Host("FastAPI + include_router", "uvicorn", "bench.apps.embedded:fastapi_app"),
    Host("Flask + JWTAuth(app, auth)", "gunicorn", "bench.apps.embedded:flask_app()"),
    Host("Django + jwtauth_urls", "gunicorn", "bench.apps.embedded_django:application"),
]


@dataclass
class Cell:
    login: Sample
    refresh: Sample
    hashes: float = 0.0  # argon2id verifications a second, measured just before this host ran


# Servers ----------------------------------------------------------------------------------------


def _command(host: Host, port: int) -> list[str]:
    if host.server == "uvicorn":
        return [
            sys.executable, "-m", "uvicorn", host.target, "--factory", "--app-dir", str(ROOT),
            "--host", "127.0.0.1", "--port", str(port), "--workers", str(WORKERS),
            "--no-access-log", "--no-server-header", "--no-proxy-headers",
            "--log-level", "warning",
        ]  # fmt: skip
    return [
        sys.executable, "-m", "gunicorn", host.target, "--chdir", str(ROOT),
        "--bind", f"127.0.0.1:{port}", "--workers", str(WORKERS), "--worker-class", "gthread",
        "--threads", str(THREADS), "--log-level", "warning", "--backlog", "2048",
    ]  # fmt: skip


@contextlib.contextmanager
def running(host: Host, env: dict[str, str], workdir: Path) -> Iterator[str]:
    """Start ``host``, wait until its JWKS answers 200 (the auth is started), yield its base
    URL, terminate it."""
    with started(host, env, workdir) as (base, _):
        yield base


@contextlib.contextmanager
def started(
    host: Host, env: dict[str, str], workdir: Path, log_name: str = "server.log"
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """:func:`running`, also yielding the process (its pid for memory readings)."""
    port = _free_port()
    env = {**_base_env(), **env, "BENCH_HOST": "127.0.0.1", "BENCH_PORT": str(port)}
    log = workdir / log_name
    with log.open("wb") as out:
        # The working directory is scratch, so no .env file of the caller is read.
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            _command(host, port), cwd=workdir, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + READY_DEADLINE
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{host.name} exited with {process.returncode}:\n" + _tail(log))
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(base + "/.well-known/jwks.json", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{host.name} not ready:\n" + _tail(log))
            time.sleep(0.05)
        yield base, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def host_env(host: Host, store: str, workdir: Path, secret: str, redis_url: str) -> dict[str, str]:
    """The same ``JWTAUTH_*`` configuration for every host; Django's own settings on top."""
    slug = f"{HOSTS.index(host)}-{'pg' if store == POSTGRES else 'sqlite'}"
    env = {
        "JWTAUTH_ALGORITHM": "HS256",
        "JWTAUTH_SECRET": secret,
        "JWTAUTH_STATE_DIR": str(workdir / f"state-{slug}"),
        "JWTAUTH_RATE_LIMITS": "false",
        "JWTAUTH_LOCKOUT": "false",
    }
    if store == POSTGRES:
        database = f"{PG['user']}@{PG['host']}:{PG['port']}/{_pg_name(workdir, host)}"
        env["JWTAUTH_DATABASE_URL"] = f"postgresql+asyncpg://{database}"
        env["JWTAUTH_REDIS_URL"] = redis_url
        django_db = f"postgresql://{database}"
    else:
        sqlite = workdir / f"{slug}.sqlite3"
        env["JWTAUTH_DATABASE_URL"] = f"sqlite+aiosqlite:///{sqlite}"
        django_db = str(sqlite)
    if host.target.startswith("bench.apps.embedded_django"):
        env.update(BENCH_DB=django_db, BENCH_SECRET=secret, BENCH_ISSUER=ISSUER)
        if store == POSTGRES:
            env["BENCH_REDIS_URL"] = redis_url
    return env


def _pg_name(workdir: Path, host: Host) -> str:
    # Unique per run (the scratch directory's random suffix) and per host.
    suffix = "".join(c for c in workdir.name.lower() if c.isalnum())[-12:]
    return f"jwtauth_bench_embedded_{suffix}_{HOSTS.index(host)}"


# Load -------------------------------------------------------------------------------------------


def wrk_script(url: str, script: str, args: list[str], connections: int, seconds: int) -> Sample:
    command = [
        "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "--latency",
        "-s", str(LUA / script), url, "--", *args,
    ]  # fmt: skip
    result = subprocess.run(  # noqa: S603 - wrk with our own arguments
        command, capture_output=True, text=True, check=True
    )
    return parse_wrk(result.stdout)


def _refresh_tokens(client: httpx.Client, count: int) -> list[str]:
    """``count`` new sessions' refresh tokens, :data:`LOGIN_CONNECTIONS` logins at a time (a
    login costs an argon2 run: one at a time would take seconds on a busy machine)."""

    def one(_: int) -> str:
        answer = client.post("/auth/login", json={"email": EMAIL, "password": PASSWORD})
        answer.raise_for_status()
        token: str = answer.json()["refresh_token"]
        return token

    with ThreadPoolExecutor(LOGIN_CONNECTIONS) as pool:
        return list(pool.map(one, range(count)))


def measure(base: str, workdir: Path) -> Cell:
    """Register the bench account, then the login run, then the refresh run on the logins'
    refresh tokens."""
    tokens = workdir / "refresh-tokens"
    tokens.write_text("")
    credentials = {"email": EMAIL, "password": PASSWORD}
    with httpx.Client(base_url=base, timeout=30) as client:
        created = client.post("/auth/register", json=credentials)
        if created.status_code != 201:
            raise RuntimeError(f"register answered {created.status_code}: {created.text}")
        _refresh_tokens(client, 1)  # the first login warms the path, untimed

        body = json.dumps(credentials)
        login = wrk_script(
            base + "/auth/login", "login.lua", [body, str(tokens)], LOGIN_CONNECTIONS, LOGIN_SECONDS
        )

        queue = [t for t in tokens.read_text().splitlines() if t]
        # Every connection needs a token of its own at the start, and a few spare for requests
        # that a closing connection takes with it.
        queue += _refresh_tokens(client, max(0, CONNECTIONS + SPARE - len(queue)))
        # Untimed chains first, so that the measured run does not include the first rotations.
        for i in range(min(WARM_CHAINS, len(queue))):
            for _ in range(WARM_LENGTH):
                answer = client.post("/auth/refresh", json={"refresh_token": queue[i]})
                answer.raise_for_status()
                queue[i] = answer.json()["refresh_token"]
    tokens.write_text("\n".join(queue) + "\n")
    refresh = wrk_script(base + "/auth/refresh", "refresh.lua", [str(tokens)], CONNECTIONS,
                         REFRESH_SECONDS)  # fmt: skip
    return Cell(login, refresh)


def hash_rate(seconds: float) -> float:
    """Verifications a second of the bench account's argon2id hash, with jwtauth's default
    parameters, on :data:`LOGIN_CONNECTIONS` threads at once (argon2-cffi releases the GIL)."""
    hasher = Argon2Hasher(
        time_cost=ARGON2["time_cost"],
        memory_cost=ARGON2["memory_cost"],
        parallelism=ARGON2["parallelism"],
    )
    stored = hasher.hash(PASSWORD)
    counts = [0] * LOGIN_CONNECTIONS
    stop = time.perf_counter() + seconds

    def verify(i: int) -> None:
        while time.perf_counter() < stop:
            hasher.verify(stored, PASSWORD)
            counts[i] += 1

    began = time.perf_counter()
    threads = [threading.Thread(target=verify, args=(i,)) for i in range(LOGIN_CONNECTIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts) / (time.perf_counter() - began)


# Services ---------------------------------------------------------------------------------------


def redis_flush(url: str) -> str | None:
    """None when Redis at ``url`` answers (flushed), else why not."""
    import redis

    try:
        with redis.Redis.from_url(url, socket_timeout=3, socket_connect_timeout=3) as client:
            client.flushdb()
    except redis.RedisError as exc:
        return f"Redis at {url} unreachable ({type(exc).__name__})"
    return None


# The run ----------------------------------------------------------------------------------------


def _flag(sample: Sample) -> str:
    return f"  ({sample.errors} failed requests: figure invalid)" if sample.errors else ""


def report(results: dict[str, dict[str, Cell]], skipped: dict[str, str], load: str) -> None:
    versions = ", ".join(
        f"{name} {metadata.version(name)}"
        for name in ("uvicorn", "gunicorn", "fastapi", "flask", "django", "argon2-cffi")
    )
    argon2 = ", ".join(f"{k}={v}" for k, v in ARGON2.items())
    print(f"jwtauth embedded auth: login and refresh; Python {sys.version.split()[0]}, "
          f"{os.cpu_count()} CPUs")  # fmt: skip
    print(f"{versions}; load average {load} at the start")
    print(f"one worker process per host; gunicorn gthread with {THREADS} threads; one run per "
          "cell, on loopback; development mode, one database per host")  # fmt: skip
    print("rate limits and lockout OFF for the bench (JWTAUTH_RATE_LIMITS=false, "
          "JWTAUTH_LOCKOUT=false): one account logs in and refreshes far beyond them")  # fmt: skip
    print(f"login: wrk -c{LOGIN_CONNECTIONS} -d{LOGIN_SECONDS}s, POST /auth/login; argon2id "
          f"({argon2}) dominates it: the hash row is its ceiling")  # fmt: skip
    print(f"refresh: wrk -c{CONNECTIONS} -d{REFRESH_SECONDS}s, POST /auth/refresh, each request "
          "rotating a distinct live refresh token (chained: each answer's new token is sent "
          "next)")  # fmt: skip
    for store in (SQLITE, POSTGRES):
        print()
        if store in skipped:
            print(f"{store}: not measured: {skipped[store]}")
            continue
        cells = results[store]
        serve = cells[SERVE]
        print(f"{store}")
        print(f"{'host':<30} {'login/s':>8} {'p99 ms':>7} {'vs serve':>8} {'vs hash':>8}   "
              f"{'refresh/s':>9} {'p99 ms':>7} {'vs serve':>8}")  # fmt: skip
        hashes = statistics.median(cell.hashes for cell in cells.values())
        print(f"{'argon2id verify, no HTTP':<30} {hashes:>8.1f} {'':>7} {'':>8} {1:>7.2f}x")
        for host in HOSTS:
            cell = cells[host.name]
            login, refresh = cell.login, cell.refresh
            print(
                f"{host.name:<30} {login.rate:>8.1f} {login.p99_ms:>7.0f} "
                f"{login.rate / serve.login.rate:>7.2f}x {login.rate / cell.hashes:>7.2f}x   "
                f"{refresh.rate:>9,.0f} {refresh.p99_ms:>7.1f} "
                f"{refresh.rate / serve.refresh.rate:>7.2f}x{_flag(login)}{_flag(refresh)}"
            )
    print()
    print("vs serve: the host's rate over jwtauth serve's on the same store, in this run")
    print(f"argon2id verify: {LOGIN_CONNECTIONS} threads in this process, the same parameters, "
          f"{HASH_SECONDS} s before each host (the row: their median); vs hash: the host's login "
          "rate over the one measured just before it")  # fmt: skip


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.embedded")
    parser.add_argument("--redis-url", default=REDIS_URL, help="flushed: a database of its own")
    redis_url = parser.parse_args(argv).redis_url
    if shutil.which("wrk") is None:
        print("bench.embedded: wrk not found, figures skipped (apt-get install wrk)")
        return 0
    secret = secrets.token_urlsafe(48)
    results: dict[str, dict[str, Cell]] = {}
    skipped: dict[str, str] = {}
    load = " ".join(f"{n:.1f}" for n in os.getloadavg())
    with tempfile.TemporaryDirectory(prefix="jwtauth-bench-embedded-") as scratch:
        workdir = Path(scratch)
        created: list[str] = []
        reason = redis_flush(redis_url)
        for host in HOSTS if reason is None else []:
            reason = postgres_create(_pg_name(workdir, host))
            if reason is not None:
                break
            created.append(_pg_name(workdir, host))
        if reason is not None:
            skipped[POSTGRES] = reason
        try:
            for store in (SQLITE, POSTGRES):
                if store in skipped:
                    continue
                for host in HOSTS:
                    if store == POSTGRES:
                        redis_flush(redis_url)
                    env = host_env(host, store, workdir, secret, redis_url)
                    print(f"bench.embedded: {host.name}, {store}", file=sys.stderr, flush=True)
                    hashes = hash_rate(HASH_SECONDS)
                    with running(host, env, workdir) as base:
                        cell = measure(base, workdir)
                    cell.hashes = hashes
                    results.setdefault(store, {})[host.name] = cell
        finally:
            for name in created:
                postgres_drop(name)
            if POSTGRES not in skipped:
                redis_flush(redis_url)
    report(results, skipped, load)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
