"""Throughput of jwtauth's FastAPI dependency and Starlette middleware against bare endpoints and
PyJWT recipes, in one run, on one machine.

Each app is its own ``uvicorn`` process (one worker, access log off), loaded by ``wrk`` over
loopback, medians of interleaved repeats: the servers, load and medians of ``bench.server``,
imported from it. Ratios are to the same framework's bare endpoint (``bench/apps/peers.py``):

* FastAPI: bare; ``HTTPBearer`` + PyJWT (the usual recipe); ``JWTAuth.protect`` +
  ``Depends(current_claims)``, with in-process and with Redis revocation.
* Starlette: bare; a minimal PyJWT check in the endpoint; ``JWTAuthMiddleware``, both stores.

Targets: the dependency >= 0.75 of FastAPI bare, the middleware >= 0.7 of Starlette bare.

Without ``wrk``, ``--in-process`` still measures the same apps by calling them as ASGI
applications in this process (no server, no sockets, no HTTP parsing): an indicator of the
framework-level cost only, printed as such. Run: ``make bench`` (or ``python -m
bench.integrations [--in-process]``).
"""

from __future__ import annotations

import asyncio
import importlib
import os
import secrets
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.server import (
    AUDIENCE,
    DURATION,
    ISSUER,
    REDIS_URL,
    REPEATS,
    RESULTS,
    WARMUP,
    Server,
    recipe_token,
    record,
    redis_available,
    redis_flush,
    running,
    wrk,
)

FASTAPI_BARE, STARLETTE_BARE = "FastAPI bare", "Starlette bare"
_FA, _ST = "bench.apps.peers", "bench.apps.integrations"
ROWS: list[tuple[str, str, str, str, bool]] = [
    # (row, app factory, path, bare peer, uses Redis)
    (FASTAPI_BARE, f"{_FA}:fastapi_app", "/", FASTAPI_BARE, False),
    ("FastAPI + HTTPBearer + PyJWT", f"{_FA}:pyjwt_app", "/claims", FASTAPI_BARE, False),
    ("FastAPI + jwtauth", f"{_ST}:fastapi_app", "/claims", FASTAPI_BARE, False),
    ("FastAPI + jwtauth, Redis", f"{_ST}:fastapi_app", "/claims", FASTAPI_BARE, True),
    (STARLETTE_BARE, f"{_FA}:starlette_app", "/", STARLETTE_BARE, False),
    ("Starlette + PyJWT", f"{_ST}:starlette_pyjwt_app", "/claims", STARLETTE_BARE, False),
    ("Starlette + jwtauth", f"{_ST}:starlette_app", "/claims", STARLETTE_BARE, False),
    ("Starlette + jwtauth, Redis", f"{_ST}:starlette_app", "/claims", STARLETTE_BARE, True),
]
TARGETS = {
    "FastAPI + jwtauth": 0.75,
    "FastAPI + jwtauth, Redis": 0.75,
    "Starlette + jwtauth": 0.7,
    "Starlette + jwtauth, Redis": 0.7,
}
IN_PROCESS_CALLS = 4000


def _env(secret: str, redis: bool) -> dict[str, str]:
    env = {"BENCH_SECRET": secret, "BENCH_ISSUER": ISSUER, "BENCH_AUDIENCE": AUDIENCE}
    if redis:
        env["BENCH_REDIS_URL"] = REDIS_URL
    return env


def run_wrk(secret: str, token: str, rows: list[tuple[str, str, str, str, bool]]) -> None:
    with tempfile.TemporaryDirectory(prefix="jwtauth-bench-") as scratch:
        for _ in range(REPEATS):
            for name, factory, path, _peer, redis in rows:
                if redis:
                    redis_flush()
                with running(Server(factory, _env(secret, redis)), Path(scratch)) as base:
                    wrk(base + path, token, WARMUP)
                    record(name, wrk(base + path, token))


# In process -------------------------------------------------------------------------------------


async def _measure_in_process(factory: str, path: str, token: str) -> float:
    module, _, name = factory.partition(":")
    app = getattr(importlib.import_module(module), name)()
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    life = asyncio.create_task(
        app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, inbox.get, outbox.put)
    )
    await inbox.put({"type": "lifespan.startup"})
    started = await outbox.get()
    if started["type"] != "lifespan.startup.complete":
        raise RuntimeError(f"{factory}: {started}")
    scope: dict[str, Any] = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": path, "raw_path": path.encode(), "root_path": "",
        "query_string": b"", "client": ("127.0.0.1", 40000), "server": ("127.0.0.1", 80),
        "headers": [(b"host", b"bench"), (b"authorization", f"Bearer {token}".encode())],
    }  # fmt: skip
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    async def calls(count: int) -> float:
        began = time.perf_counter()
        for _ in range(count):
            await app({**scope, "state": {}}, receive, send)
        return count / (time.perf_counter() - began)

    await calls(IN_PROCESS_CALLS // 4)
    rate = await calls(IN_PROCESS_CALLS)
    await inbox.put({"type": "lifespan.shutdown"})
    await outbox.get()
    await life
    if set(statuses) != {200}:
        raise RuntimeError(f"{factory} answered {sorted(set(statuses))}")
    return rate


def run_in_process(secret: str, token: str, rows: list[tuple[str, str, str, str, bool]]) -> None:
    from bench.server import Sample

    for _ in range(REPEATS):
        for name, factory, path, _peer, redis in rows:
            saved = dict(os.environ)
            os.environ.update(_env(secret, redis))
            if redis:
                redis_flush()
            try:
                rate = asyncio.run(_measure_in_process(factory, path, token))
            finally:
                os.environ.clear()
                os.environ.update(saved)
            record(name, Sample(rate, 0.0, IN_PROCESS_CALLS, 0))


def report(rows: list[tuple[str, str, str, str, bool]], skipped: str | None, how: str) -> int:
    print(f"jwtauth framework integrations; Python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    print(how)
    print(f"{'app':<30} {'req/s':>9} {'vs bare':>8}  target")
    missed = 0
    for name, _factory, _path, peer, _redis in ROWS:
        row = RESULTS.get(name)
        if row is None:
            print(f"{name:<30} not measured: {skipped}")
            continue
        ratio = row.rate / RESULTS[peer].rate
        target = TARGETS.get(name)
        verdict = ""
        if target is not None:
            ok = ratio >= target and not row.errors
            missed += not ok
            verdict = f">= {target:.2f} {'met' if ok else 'MISSED'}"
        errors = f"  ({row.errors} failed requests: figure invalid)" if row.errors else ""
        print(f"{name:<30} {row.rate:>9,.0f} {ratio:>7.2f}x  {verdict}{errors}")
    print(f"targets missed: {missed}")
    return 0


def main(argv: list[str]) -> int:
    in_process = "--in-process" in argv
    if not in_process and shutil.which("wrk") is None:
        print("bench.integrations: wrk not found, HTTP figures skipped (apt-get install wrk);")
        print("python -m bench.integrations --in-process measures the apps without a server")
        return 0
    secret = secrets.token_urlsafe(48)
    token = recipe_token(secret)
    skipped = redis_available()
    rows = [r for r in ROWS if not (r[4] and skipped)]
    measure: Callable[[str, str, list[Any]], None] = run_in_process if in_process else run_wrk
    try:
        measure(secret, token, rows)
    finally:
        if skipped is None:
            redis_flush()
    if in_process:
        how = (
            f"IN-PROCESS ASGI calls ({IN_PROCESS_CALLS} per run, no server, no sockets, no HTTP "
            "parsing): framework cost only, not the wrk figure; "
            f"medians of {REPEATS} interleaved runs"
        )
    else:
        how = f"one uvicorn worker each; wrk -d{DURATION}s on loopback; medians of {REPEATS} runs"
    return report(rows, skipped, how)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
