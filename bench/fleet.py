"""Throughput and p99 of 1, 2 and 3 ``jwtauth serve`` processes on one PostgreSQL database and
one Redis, on verify-heavy traffic, and each process's memory after the load (issue 14).

The traffic (``bench/lua/mixed.lua``): 90% ``GET /auth/claims`` (a verification), 8% ``POST
/auth/refresh`` (a rotation, one database transaction), 2% ``POST /auth/login`` (one argon2id
run at jwtauth's default cost). Every process gets its own ``wrk`` with
:data:`CONNECTIONS_PER_PROCESS` connections, all at once; the row's rate is their sum and its
p99 the worst of theirs. Every process is ``jwtauth serve``'s app under uvicorn with one worker,
all with one issuer and one HS256 secret (a deployment behind a load balancer), on a fresh
scratch PostgreSQL database and a flushed Redis database per row. Rate limits and lockout are
off (``JWTAUTH_RATE_LIMITS=false``, ``JWTAUTH_LOCKOUT=false``): one account logs in far beyond
them on purpose.

On a 2-CPU machine the load generators and the servers share the two CPUs, and argon2 takes
most of them (2% logins at about 10 a second per process use a CPU), so more processes add
contention rather than capacity here: the rows say what one host does, not how a fleet scales.

``--soak SECONDS`` adds a row: 3 processes under the same load for that long (600 for the
10-minute soak), each one's RSS after a 10 s warm-up and at the end. Needs ``wrk``, PostgreSQL
and Redis (else it says why and exits 0). Run: ``python -m bench.fleet [--soak 600]``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.embedded import HOSTS, LUA, started
from bench.server import (
    EMAIL,
    PASSWORD,
    PG,
    REDIS_URL,
    Sample,
    parse_wrk,
    postgres_create,
    postgres_drop,
    redis_available,
    redis_flush,
)

PROCESSES = (1, 2, 3)
CONNECTIONS_PER_PROCESS = 16
SECONDS = 10
WARMUP = 10  # seconds of load before the soak's first memory reading
SESSIONS = 40  # refresh chains per process, more than its connections can hold in flight
ISSUER = "http://fleet.jwtauth.bench"


@dataclass
class Result:
    processes: int
    rate: float
    p99_ms: float
    errors: int
    rss_mib: list[float]
    rss_before_mib: list[float] | None = None


def rss_mib(pid: int) -> float:
    """Resident memory of ``pid`` from /proc, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def fleet_env(workdir: Path, secret: str, database: str) -> dict[str, str]:
    return {
        "JWTAUTH_ALGORITHM": "HS256",
        "JWTAUTH_SECRET": secret,
        "JWTAUTH_ISSUER": ISSUER,
        "JWTAUTH_STATE_DIR": str(workdir / "state"),
        "JWTAUTH_DATABASE_URL": f"postgresql+asyncpg://{PG['user']}@{PG['host']}:{PG['port']}/{database}",
        "JWTAUTH_REDIS_URL": REDIS_URL,
        "JWTAUTH_RATE_LIMITS": "false",
        "JWTAUTH_LOCKOUT": "false",
    }


def sessions(base: str, count: int) -> list[str]:
    """``count`` logins on ``base`` (four at a time), as "ACCESS REFRESH" lines."""
    credentials = {"email": EMAIL, "password": PASSWORD}
    with httpx.Client(base_url=base, timeout=60) as client:
        created = client.post("/auth/register", json=credentials)
        if created.status_code not in (201, 409):
            raise RuntimeError(f"register answered {created.status_code}")

        def one(_: int) -> str:
            answer = client.post("/auth/login", json=credentials)
            answer.raise_for_status()
            pair = answer.json()
            return f"{pair['access_token']} {pair['refresh_token']}"

        with ThreadPoolExecutor(4) as pool:
            return list(pool.map(one, range(count)))


def mixed_load(base: str, tokens: Path, seconds: int) -> Sample:
    body = json.dumps({"email": EMAIL, "password": PASSWORD})
    command = [
        "wrk", "-t1", f"-c{CONNECTIONS_PER_PROCESS}", f"-d{seconds}s", "--timeout", "10s",
        "--latency", "-s", str(LUA / "mixed.lua"), base, "--", str(tokens), body,
    ]  # fmt: skip
    result = subprocess.run(  # noqa: S603 - wrk with our own arguments
        command, capture_output=True, text=True, check=True
    )
    return parse_wrk(result.stdout)


def run(processes: int, workdir: Path, secret: str, seconds: int, soak: bool = False) -> Result:
    database = f"jwtauth_bench_fleet_{workdir.name[-8:].lower()}_{processes}{'s' if soak else ''}"
    database = "".join(c for c in database if c.isalnum() or c == "_")
    reason = postgres_create(database)
    if reason is not None:
        raise RuntimeError(reason)
    redis_flush()
    try:
        with contextlib.ExitStack() as stack:
            fleet = [
                stack.enter_context(
                    started(
                        HOSTS[0], fleet_env(workdir, secret, database), workdir, f"serve-{i}.log"
                    )
                )
                for i in range(processes)
            ]
            files = []
            for index, (base, _) in enumerate(fleet):
                path = workdir / f"tokens-{processes}-{index}"
                path.write_text("\n".join(sessions(base, SESSIONS)) + "\n")
                files.append(path)
            before = None
            if soak:
                with ThreadPoolExecutor(processes) as pool:
                    list(
                        pool.map(
                            lambda i: mixed_load(fleet[i][0], files[i], WARMUP), range(processes)
                        )
                    )
                before = [rss_mib(process.pid) for _, process in fleet]
                for index, (base, _) in enumerate(fleet):  # fresh chains: the warm-up used them
                    files[index].write_text("\n".join(sessions(base, SESSIONS)) + "\n")
            with ThreadPoolExecutor(processes) as pool:
                samples = list(
                    pool.map(lambda i: mixed_load(fleet[i][0], files[i], seconds), range(processes))
                )
            after = [rss_mib(process.pid) for _, process in fleet]
    finally:
        postgres_drop(database)
    return Result(
        processes,
        sum(s.rate for s in samples),
        max(s.p99_ms for s in samples),
        sum(s.errors for s in samples),
        after,
        before,
    )


def report(results: list[Result], soak: Result | None, soak_seconds: int) -> None:
    print("jwtauth serve fleet: verify-heavy traffic on PostgreSQL + Redis")
    print(
        f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs; one uvicorn worker per process;"
    )
    print(
        f"per process: wrk -c{CONNECTIONS_PER_PROCESS} -d{SECONDS}s with bench/lua/mixed.lua "
        "(90% GET /auth/claims, 8% POST /auth/refresh, 2% POST /auth/login), all at once"
    )
    print("rate limits and lockout OFF for the bench; one issuer, one HS256 secret, one database")
    print(f"{'processes':<10} {'req/s':>8} {'vs 1':>6} {'p99 ms':>8} {'errors':>7}  RSS MiB after")
    one = results[0].rate
    for r in results:
        rss = ", ".join(f"{m:.0f}" for m in r.rss_mib)
        flag = "  (failed requests: invalid)" if r.errors else ""
        print(
            f"{r.processes:<10} {r.rate:>8,.0f} {r.rate / one:>5.2f}x {r.p99_ms:>8.1f} "
            f"{r.errors:>7}  {rss}{flag}"
        )
    if soak is not None and soak.rss_before_mib is not None:
        print(
            f"soak: 3 processes, {soak_seconds} s of the same load after a {WARMUP} s warm-up: "
            f"{soak.rate:,.0f} req/s, p99 {soak.p99_ms:.1f} ms, {soak.errors} errors"
        )
        for index, (start, end) in enumerate(zip(soak.rss_before_mib, soak.rss_mib, strict=True)):
            print(
                f"  process {index + 1}: RSS {start:.0f} MiB after the warm-up, {end:.0f} MiB "
                f"at the end ({end - start:+.0f} MiB)"
            )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--soak", type=int, default=0, help="seconds of a 3-process soak; 0: none")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        print("bench.fleet: wrk not found, figures skipped (apt-get install wrk)")
        return 0
    missing = redis_available()
    if missing is not None:
        print(f"bench.fleet: {missing}; figures skipped")
        return 0
    secret = secrets.token_urlsafe(48)
    with tempfile.TemporaryDirectory(prefix="jwtauth-fleet-") as scratch:
        workdir = Path(scratch)
        try:
            results = [run(n, workdir, secret, SECONDS) for n in PROCESSES]
            soak = run(3, workdir, secret, args.soak, soak=True) if args.soak else None
        except RuntimeError as exc:
            if "unreachable" in str(exc) or "refused" in str(exc):
                print(f"bench.fleet: {exc}; figures skipped")
                return 0
            raise
        finally:
            redis_flush()
    report(results, soak, args.soak)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
