"""Throughput of jwtauth's DRF and Flask integrations against bare endpoints and the usual
libraries (simplejwt, flask-jwt-extended), in one run, on one machine.

Each app is its own ``gunicorn`` process (one sync worker, access log off), loaded by ``wrk``
over loopback; figures are medians of interleaved repeats, and ``wrk``, the repeats and the
medians are ``bench.server``'s. Ratios are to the same framework's bare endpoint:

* DRF: a bare ``APIView``; simplejwt's ``JWTAuthentication`` (with its user query); jwtauth
  with the stateless user; jwtauth with the database user (cached): ``bench/apps/drf_project.py``
  on SQLite.
* Flask: bare; flask-jwt-extended; jwtauth's extension: ``bench/apps/flask_apps.py``.
* Every jwtauth row checks revocation, in process and again with Redis (db 14).

Every row presents the same token (one HS256 token carrying the claims each library expects).
Targets: jwtauth >= 0.85 of Flask bare, >= 0.9 of DRF bare (stateless), >= 0.6 of DRF bare
(database user). Needs ``wrk``. Run: ``make bench`` (or ``python -m bench.wsgi``).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import httpx

from bench.server import (
    AUDIENCE,
    DURATION,
    ISSUER,
    READY_DEADLINE,
    REDIS_URL,
    REPEATS,
    RESULTS,
    ROOT,
    WARMUP,
    _base_env,
    _free_port,
    _tail,
    record,
    redis_available,
    redis_flush,
    wrk,
)
from jwtauth import KeyRing, TokenManager
from jwtauth.keys.key import HMACKey

DRF_BARE, FLASK_BARE = "DRF bare APIView", "Flask bare"
_DRF, _FLASK = "bench.apps.drf_project:application", "bench.apps.flask_apps"


@dataclass(frozen=True)
class Row:
    """One measured app: its name, gunicorn target, path, bare peer, environment."""

    name: str
    target: str
    path: str
    peer: str
    env: dict[str, str] = field(default_factory=dict)
    redis: bool = False


ROWS = [
    Row(DRF_BARE, _DRF, "/", DRF_BARE, {"BENCH_DRF": "bare"}),
    Row("DRF + simplejwt (user query)", _DRF, "/claims", DRF_BARE, {"BENCH_DRF": "simplejwt"}),
    Row("DRF + jwtauth, stateless", _DRF, "/claims", DRF_BARE, {"BENCH_DRF": "stateless"}),
    Row(
        "DRF + jwtauth, stateless, Redis", _DRF, "/claims", DRF_BARE,
        {"BENCH_DRF": "stateless"}, redis=True,
    ),
    Row("DRF + jwtauth, database user", _DRF, "/claims", DRF_BARE, {"BENCH_DRF": "database"}),
    Row(
        "DRF + jwtauth, database, Redis", _DRF, "/claims", DRF_BARE,
        {"BENCH_DRF": "database"}, redis=True,
    ),
    Row(FLASK_BARE, f"{_FLASK}:bare_app()", "/", FLASK_BARE),
    Row("Flask + flask-jwt-extended", f"{_FLASK}:extended_app()", "/claims", FLASK_BARE),
    Row("Flask + jwtauth", f"{_FLASK}:jwtauth_app()", "/claims", FLASK_BARE),
    Row("Flask + jwtauth, Redis", f"{_FLASK}:jwtauth_app()", "/claims", FLASK_BARE, redis=True),
]  # fmt: skip
TARGETS = {
    "DRF + jwtauth, stateless": 0.9,
    "DRF + jwtauth, stateless, Redis": 0.9,
    "DRF + jwtauth, database user": 0.6,
    "DRF + jwtauth, database, Redis": 0.6,
    "Flask + jwtauth": 0.85,
    "Flask + jwtauth, Redis": 0.85,
}


def bench_token(secret: str) -> str:
    """One token every row accepts: jwtauth's claims (HS256, the key's own kid), subject "1"
    (the bench user), and the claims simplejwt and flask-jwt-extended look for."""
    manager = TokenManager(
        KeyRing(HMACKey(secret.encode(), "HS256")), issuer=ISSUER, audience=AUDIENCE, ttl=3600
    )
    extra = {"sid": secrets.token_hex(16), "token_type": "access", "user_id": 1}
    return manager.issue("1", claims={**extra, "type": "access", "fresh": False})


@contextlib.contextmanager
def running(row: Row, env: dict[str, str], workdir: Path, token: str) -> Iterator[str]:
    """Start ``row``'s gunicorn, wait until it answers 200 (bounded), yield its base URL."""
    port = _free_port()
    command = [
        sys.executable, "-m", "gunicorn", row.target, "--chdir", str(ROOT),
        "--bind", f"127.0.0.1:{port}", "--workers", "1", "--worker-class", "sync",
        "--log-level", "warning", "--backlog", "2048",
    ]  # fmt: skip
    log = workdir / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            command, cwd=workdir, env={**_base_env(), **env}, stdout=out, stderr=subprocess.STDOUT
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + READY_DEADLINE
        headers = {"Authorization": f"Bearer {token}"}
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{row.name} exited with {process.returncode}:\n" + _tail(log))
            with contextlib.suppress(httpx.TransportError):
                status = httpx.get(base + row.path, headers=headers, timeout=2).status_code
                if status == 200:
                    break
                raise RuntimeError(f"{row.name} answered {status}:\n" + _tail(log))
            if time.monotonic() > deadline:
                raise RuntimeError(f"{row.name} not ready:\n" + _tail(log))
            time.sleep(0.05)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def run(secret: str, token: str, rows: list[Row]) -> None:
    with tempfile.TemporaryDirectory(prefix="jwtauth-bench-wsgi-") as scratch:
        workdir = Path(scratch)
        common = {
            "BENCH_SECRET": secret,
            "BENCH_ISSUER": ISSUER,
            "BENCH_AUDIENCE": AUDIENCE,
            "BENCH_DB": str(workdir / "bench.sqlite3"),
        }
        for _ in range(REPEATS):
            for row in rows:
                env = {**common, **row.env}
                if row.redis:
                    redis_flush()
                    env["BENCH_REDIS_URL"] = REDIS_URL
                with running(row, env, workdir, token) as base:
                    wrk(base + row.path, token, WARMUP)
                    record(row.name, wrk(base + row.path, token))


def report(rows: list[Row], skipped: str | None) -> int:
    versions = ", ".join(
        f"{name} {metadata.version(name)}"
        for name in ("django", "djangorestframework", "flask", "gunicorn")
    )
    print(f"jwtauth WSGI integrations; Python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    print(f"{versions}; one sync gunicorn worker each; wrk -d{DURATION}s on loopback;")
    print(f"medians of {REPEATS} interleaved runs")
    print(f"{'app':<34} {'req/s':>9} {'p99 ms':>7} {'vs bare':>8}  target")
    missed = 0
    for row in ROWS:
        measured = RESULTS.get(row.name)
        if measured is None:
            print(f"{row.name:<34} not measured: {skipped}")
            continue
        ratio = measured.rate / RESULTS[row.peer].rate
        target = TARGETS.get(row.name)
        verdict = ""
        if target is not None:
            ok = ratio >= target and not measured.errors
            missed += not ok
            verdict = f">= {target:.2f} {'met' if ok else 'MISSED'}"
        errors = f"  ({measured.errors} failed requests: invalid)" if measured.errors else ""
        print(
            f"{row.name:<34} {measured.rate:>9,.0f} {measured.p99_ms:>7.1f} {ratio:>7.2f}x  "
            f"{verdict}{errors}"
        )
    print(f"targets missed: {missed}")
    return 0


def main() -> int:
    if shutil.which("wrk") is None:
        print("bench.wsgi: wrk not found, figures skipped (apt-get install wrk)")
        return 0
    secret = secrets.token_urlsafe(48)
    skipped = redis_available()
    rows = [r for r in ROWS if not (r.redis and skipped)]
    try:
        run(secret, bench_token(secret), rows)
    finally:
        if skipped is None:
            redis_flush()
    return report(rows, skipped)


if __name__ == "__main__":
    raise SystemExit(main())
