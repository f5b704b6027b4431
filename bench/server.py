"""HTTP throughput and tail latency of the jwtauth server against bare and recipe peers, in one run.

Every server is its own ``uvicorn`` process (one worker, access log off, the same command line
for all), started on a free loopback port, polled until ready and terminated after; only one
runs at a time. ``wrk -t1 -c32 -d5s --latency`` loads it over loopback. Each figure is the median
of three repeats, interleaved across servers (round 1 of every server, then round 2, ...), so a
slow moment of the machine hits every server alike.

* Ceilings: a bare Starlette and a bare FastAPI JSON endpoint (``bench/apps/peers.py``).
* Peer recipe: FastAPI + ``HTTPBearer`` + an async dependency calling PyJWT's ``jwt.decode``.
* jwtauth ``GET /auth/claims`` with a valid HS256 access token, with in-process revocation and
  with Redis revocation (db 14, flushed before and after).
* ``GET /auth/me`` and ``POST /auth/refresh`` on SQLite and on PostgreSQL (a scratch database,
  dropped after). A refresh token is single-use, so every refresh presents the token the
  previous one returned: refresh is driven by an asyncio + httpx client (32 sessions, each
  refreshing in a loop on a connection of its own). That client shares the machine, so its
  figure is a floor; the output shows how much CPU it took.
* The p99 of ``GET /auth/me`` while logins (argon2id at default cost) run back to back.

Needs ``wrk`` (without it the run says so and exits 0). Run: ``make bench``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import metadata, util
from pathlib import Path

import httpx

from jwtauth import KeyRing, TokenManager
from jwtauth.keys.key import HMACKey

ROOT = Path(__file__).resolve().parent.parent
REPEATS = 3
DURATION = 5  # seconds of every measured run
WARMUP = 1  # seconds of load before each measured endpoint, not counted
CONNECTIONS = 32
READY_DEADLINE = 30.0
AUDIENCE = "jwtauth"
ISSUER = "http://127.0.0.1:8000"  # the recipe's; jwtauth's is its own address, as in development
EMAIL = "bench@example.com"
PASSWORD = "bench-only correct horse battery staple"
REDIS_URL = "redis://127.0.0.1:6379/14"
PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}

STARLETTE, FASTAPI, RECIPE = "Starlette (bare)", "FastAPI (bare)", "FastAPI + PyJWT recipe"
CLAIMS, CLAIMS_REDIS = "jwtauth, in-process", "jwtauth, Redis revocation"
TARGETS = {  # (row, peer) -> minimum ratio of req/s
    (CLAIMS, FASTAPI): 0.8,
    (CLAIMS_REDIS, FASTAPI): 0.65,
    (CLAIMS, RECIPE): 1.6,
    (CLAIMS_REDIS, RECIPE): 1.6,
}


# Measurements ---------------------------------------------------------------------------------


@dataclass
class Sample:
    rate: float  # requests per second
    p99_ms: float
    requests: int
    errors: int  # non-2xx answers and socket errors


@dataclass
class Row:
    samples: list[Sample] = field(default_factory=list)
    notes: dict[str, list[float]] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return statistics.median(s.rate for s in self.samples)

    @property
    def p99_ms(self) -> float:
        return statistics.median(s.p99_ms for s in self.samples)

    @property
    def errors(self) -> int:
        return sum(s.errors for s in self.samples)

    def note(self, name: str) -> float:
        return statistics.median(self.notes[name])


RESULTS: dict[str, Row] = {}


def record(key: str, sample: Sample, **notes: float) -> None:
    row = RESULTS.setdefault(key, Row())
    row.samples.append(sample)
    for name, value in notes.items():
        row.notes.setdefault(name, []).append(value)


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def _wrk_command(url: str, seconds: int, token: str | None) -> list[str]:
    command = ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", url]
    if token is not None:
        command += ["-H", f"Authorization: Bearer {token}"]
    return command


def parse_wrk(output: str) -> Sample:
    """Requests/sec, the 99% latency, the request count and the errors of a wrk report."""
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.MULTILINE)
    count = re.search(r"(\d+) requests in", output)
    if rate is None or p99 is None or count is None:
        raise RuntimeError(f"unexpected wrk output:\n{output}")
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    failed = int(errors.group(1)) if errors else 0
    failed += sum(int(n) for n in sockets.groups()) if sockets else 0
    return Sample(
        float(rate.group(1)),
        float(p99.group(1)) * _UNITS[p99.group(2)],
        int(count.group(1)),
        failed,
    )


def wrk(url: str, token: str | None = None, seconds: int = DURATION) -> Sample:
    result = subprocess.run(  # noqa: S603 - wrk with our own arguments
        _wrk_command(url, seconds, token), capture_output=True, text=True, check=True
    )
    return parse_wrk(result.stdout)


# Server processes -----------------------------------------------------------------------------


@dataclass
class Server:
    """One uvicorn process: an app factory, its environment, and where readiness is asked."""

    app: str  # "module:factory"
    env: dict[str, str] = field(default_factory=dict)
    ready_path: str = "/"
    ready_status: int | None = None  # None: any HTTP answer means ready


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _base_env() -> dict[str, str]:
    # The runs configure jwtauth themselves: nothing from the caller's JWTAUTH_* may leak in.
    return {k: v for k, v in os.environ.items() if not k.startswith(("JWTAUTH_", "BENCH_"))}


@contextlib.contextmanager
def running(server: Server, workdir: Path) -> Iterator[str]:
    """Start ``server``, wait until it answers (bounded), yield its base URL, terminate it."""
    port = _free_port()
    env = {**_base_env(), **server.env, "BENCH_HOST": "127.0.0.1", "BENCH_PORT": str(port)}
    command = [
        sys.executable, "-m", "uvicorn", server.app, "--factory", "--app-dir", str(ROOT),
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1", "--no-access-log",
        "--no-server-header", "--no-proxy-headers", "--log-level", "warning",
    ]  # fmt: skip
    log = workdir / "server.log"
    with log.open("wb") as out:
        # The working directory is scratch, so no .env file of the caller is read.
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            command, cwd=workdir, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + READY_DEADLINE
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{server.app} exited with {process.returncode}:\n" + _tail(log))
            with contextlib.suppress(httpx.TransportError):
                status = httpx.get(base + server.ready_path, timeout=1).status_code
                if server.ready_status is None or status == server.ready_status:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{server.app} not ready within {READY_DEADLINE:.0f} s:\n" + _tail(log)
                )
            time.sleep(0.05)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _tail(log: Path) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-20:])


# Clients of the jwtauth server ----------------------------------------------------------------


def login(base: str) -> str:
    """Register the bench account if needed, log in, return the access token."""
    with httpx.Client(base_url=base, timeout=30) as client:
        credentials = {"email": EMAIL, "password": PASSWORD}
        created = client.post("/auth/register", json=credentials)
        if created.status_code not in {201, 409}:
            raise RuntimeError(f"register answered {created.status_code}: {created.text}")
        answer = client.post("/auth/login", json=credentials)
        answer.raise_for_status()
        token: str = answer.json()["access_token"]
        return token


async def _open_sessions(base: str, count: int) -> list[str]:
    """``count`` new sessions (one login each, four at a time); their refresh tokens."""
    gate = asyncio.Semaphore(4)
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:

        async def one() -> str:
            async with gate:
                answer = await client.post(
                    "/auth/login", json={"email": EMAIL, "password": PASSWORD}
                )
            answer.raise_for_status()
            token: str = answer.json()["refresh_token"]
            return token

        return list(await asyncio.gather(*(one() for _ in range(count))))


async def _refresh_load(base: str, chains: list[str], seconds: float) -> Sample:
    """Every chain refreshes its own token back to back for ``seconds``; ``chains`` is updated
    in place with the newest token of each (a chain whose refresh fails is left empty).

    Each chain has a client of its own with one connection: httpcore's pool rescans every
    connection for every request, which with 32 in one pool costs milliseconds of the client's
    CPU per request on this same machine."""
    latencies: list[float] = []
    failures = 0
    stop = time.perf_counter() + seconds

    async def chain(i: int) -> None:
        nonlocal failures
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as client:
            await client.get("/healthz")  # connect before the clock starts
            await ready.wait()
            while time.perf_counter() < stop:
                start = time.perf_counter()
                answer = await client.post("/auth/refresh", json={"refresh_token": chains[i]})
                latencies.append(time.perf_counter() - start)
                if answer.status_code != 200:
                    failures += 1
                    chains[i] = ""
                    return
                chains[i] = answer.json()["refresh_token"]

    ready = asyncio.Event()
    tasks = [asyncio.create_task(chain(i)) for i in range(len(chains))]
    await asyncio.sleep(0.2)
    began = time.perf_counter()
    stop = began + seconds
    ready.set()
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - began
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1e3 if latencies else 0
    return Sample(len(latencies) / elapsed, p99, len(latencies), failures)


def refresh_load(base: str, chains: list[str], seconds: float) -> tuple[Sample, float]:
    """Top ``chains`` up to CONNECTIONS live sessions, then run :func:`_refresh_load`; the
    sample, and the share of one CPU the client itself used meanwhile."""
    chains[:] = [c for c in chains if c]
    if len(chains) < CONNECTIONS:
        chains += asyncio.run(_open_sessions(base, CONNECTIONS - len(chains)))
    cpu, wall = time.process_time(), time.perf_counter()
    sample = asyncio.run(_refresh_load(base, chains, seconds))
    return sample, (time.process_time() - cpu) / (time.perf_counter() - wall)


async def _logins_until(base: str, process: subprocess.Popen[str]) -> list[float]:
    """Log in back to back, one at a time, until ``process`` ends; each login's seconds."""
    took: list[float] = []
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        while process.poll() is None:
            start = time.perf_counter()
            answer = await client.post("/auth/login", json={"email": EMAIL, "password": PASSWORD})
            answer.raise_for_status()
            took.append(time.perf_counter() - start)
    return took


def wrk_during_logins(url: str, token: str) -> tuple[Sample, list[float]]:
    """wrk on ``url`` while this process keeps one login in flight for the whole run."""
    process = subprocess.Popen(  # noqa: S603 - wrk with our own arguments
        _wrk_command(url, DURATION, token), stdout=subprocess.PIPE, text=True
    )
    took = asyncio.run(_logins_until(url.split("/auth/", maxsplit=1)[0], process))
    output, _ = process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"wrk failed with {process.returncode}")
    return parse_wrk(output), took


# Services -------------------------------------------------------------------------------------


def redis_available() -> str | None:
    """None when Redis db 14 answers (flushed), else why not."""
    import redis

    try:
        client = redis.Redis.from_url(REDIS_URL, socket_timeout=3, socket_connect_timeout=3)
        with client:
            client.flushdb()
    except redis.RedisError as exc:
        return f"Redis at {REDIS_URL} unreachable ({type(exc).__name__})"
    return None


def redis_flush() -> None:
    import redis

    with contextlib.suppress(redis.RedisError), redis.Redis.from_url(REDIS_URL) as client:
        client.flushdb()


async def _postgres(statement: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(database="postgres", timeout=5, **PG)  # type: ignore[no-untyped-call]
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def postgres_create(name: str) -> str | None:
    """None when the scratch database ``name`` was created, else why not."""
    try:
        asyncio.run(_postgres(f'CREATE DATABASE "{name}"'))
    except (OSError, TimeoutError) as exc:
        return f"PostgreSQL at {PG['host']}:{PG['port']} unreachable ({type(exc).__name__})"
    except Exception as exc:  # asyncpg's own errors: reported, the rows skipped
        return f"PostgreSQL refused CREATE DATABASE ({type(exc).__name__})"
    return None


def postgres_drop(name: str) -> None:
    with contextlib.suppress(Exception):
        asyncio.run(_postgres(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


# The run --------------------------------------------------------------------------------------


@dataclass
class Plan:
    """What one round measures; ``chains`` keeps each database's refresh tokens across rounds."""

    workdir: Path
    secret: str
    recipe_token: str
    redis_skip: str | None
    postgres_url: str | None
    postgres_skip: str | None
    chains: dict[str, list[str]] = field(default_factory=lambda: {"SQLite": [], "PostgreSQL": []})

    def jwtauth(self, *, redis: bool = False, database_url: str | None = None) -> Server:
        env = {
            "JWTAUTH_ALGORITHM": "HS256",
            "JWTAUTH_SECRET": self.secret,
            "JWTAUTH_STATE_DIR": str(self.workdir / "state"),
            # The bench logs in and refreshes far beyond the per-user limits on purpose.
            "JWTAUTH_RATE_LIMITS": "false",
        }
        if redis:
            env["JWTAUTH_REDIS_URL"] = REDIS_URL
        if database_url is not None:
            env["JWTAUTH_DATABASE_URL"] = database_url
        return Server("bench.apps.jwtauth_server:app", env, "/readyz", 200)


def run_round(plan: Plan) -> None:
    peers = [
        (STARLETTE, Server("bench.apps.peers:starlette_app"), "/", None),
        (FASTAPI, Server("bench.apps.peers:fastapi_app"), "/", None),
        (
            RECIPE,
            Server(
                "bench.apps.peers:pyjwt_app",
                {"BENCH_SECRET": plan.secret, "BENCH_ISSUER": ISSUER, "BENCH_AUDIENCE": AUDIENCE},
            ),
            "/claims",
            plan.recipe_token,
        ),
    ]
    for name, server, path, token in peers:
        with running(server, plan.workdir) as base:
            wrk(base + path, token, WARMUP)
            record(name, wrk(base + path, token))

    with running(plan.jwtauth(), plan.workdir) as base:
        token = login(base)
        wrk(base + "/auth/claims", token, WARMUP)
        record(CLAIMS, wrk(base + "/auth/claims", token))
        store_rows(base, token, "SQLite", plan.chains["SQLite"])
        # Right after the quiet /auth/me run of store_rows, on the same process.
        busy, took = wrk_during_logins(base + "/auth/me", token)
        record("me during logins", busy, logins=len(took), login_ms=statistics.mean(took) * 1e3)

    if plan.redis_skip is None:
        redis_flush()
        with running(plan.jwtauth(redis=True), plan.workdir) as base:
            token = login(base)
            wrk(base + "/auth/claims", token, WARMUP)
            record(CLAIMS_REDIS, wrk(base + "/auth/claims", token))

    if plan.postgres_url is not None:
        with running(plan.jwtauth(database_url=plan.postgres_url), plan.workdir) as base:
            store_rows(base, login(base), "PostgreSQL", plan.chains["PostgreSQL"])


def store_rows(base: str, token: str, store: str, chains: list[str]) -> None:
    refresh_load(base, chains, WARMUP)
    sample, client_cpu = refresh_load(base, chains, DURATION)
    record(f"{store} refresh", sample, client_cpu=client_cpu)
    wrk(base + "/auth/me", token, WARMUP)
    record(f"{store} me", wrk(base + "/auth/me", token))


def recipe_token(secret: str) -> str:
    """An access token for the recipe, minted by jwtauth so that its claims have our shape."""
    manager = TokenManager(
        KeyRing(HMACKey(secret.encode(), "HS256", kid="bench")),
        issuer=ISSUER,
        audience=AUDIENCE,
        ttl=3600,
    )
    return manager.issue(secrets.token_hex(16), claims={"sid": secrets.token_hex(16)})


def _versions() -> str:
    loop = "uvloop" if util.find_spec("uvloop") else "asyncio"
    http = "httptools" if util.find_spec("httptools") else "h11"
    return (
        f"Python {platform.python_version()}, uvicorn {metadata.version('uvicorn')} "
        f"({loop} loop, {http}), FastAPI {metadata.version('fastapi')}, "
        f"Starlette {metadata.version('starlette')}, PyJWT {metadata.version('pyjwt')}, "
        f"{os.cpu_count()} CPUs"
    )


def _flag(row: Row) -> str:
    return f"  ({row.errors} failed requests: figure invalid)" if row.errors else ""


def report(plan: Plan) -> int:
    print(f"jwtauth HTTP server, {_versions()}")
    print(
        f"one uvicorn worker per server, access log off; wrk -t1 -c{CONNECTIONS} -d{DURATION}s "
        f"on loopback; medians of {REPEATS} interleaved repeats"
    )
    print(
        "bare endpoints answer a constant claims-shaped object; the recipe and jwtauth verify an "
        "HS256 token (jwtauth's verified-token cache on, as deployed; PyJWT decodes every time)"
    )
    print(
        "jwtauth's GET /auth/claims is a plain Starlette route inside the FastAPI app (its "
        "middleware and error handlers included),\nso both ceilings are shown; the targets are "
        "set against the app's framework, FastAPI"
    )
    print(f"{'server':<26} {'endpoint':<17} {'req/s':>8} {'p99 ms':>7} {'vs Starlette':>12} "
          f"{'vs FastAPI':>10} {'vs recipe':>9}  target")  # fmt: skip
    endpoints = {STARLETTE: "GET /", FASTAPI: "GET /", RECIPE: "GET /claims"}
    endpoints_with_auth = (RECIPE, CLAIMS, CLAIMS_REDIS)
    missed = unmeasured = 0
    for name in (STARLETTE, FASTAPI, RECIPE, CLAIMS, CLAIMS_REDIS):
        row = RESULTS.get(name)
        if row is None:
            print(f"{name:<26} {'GET /auth/claims':<17} not measured: {plan.redis_skip}")
            unmeasured += sum(1 for (n, _) in TARGETS if n == name)
            continue
        verdicts = []
        for peer in (FASTAPI, RECIPE):
            target = TARGETS.get((name, peer))
            if target is not None:
                ok = row.rate / RESULTS[peer].rate >= target and not row.errors
                missed += not ok
                short = "FastAPI" if peer == FASTAPI else "recipe"
                verdicts.append(f">= {target:.2f}x {short} {'met' if ok else 'MISSED'}")
        vs_starlette = f"{row.rate / RESULTS[STARLETTE].rate:.2f}x"
        vs_fastapi = f"{row.rate / RESULTS[FASTAPI].rate:.2f}x"
        vs_recipe = f"{row.rate / RESULTS[RECIPE].rate:.2f}x" if name in endpoints_with_auth else ""
        print(
            f"{name:<26} {endpoints.get(name, 'GET /auth/claims'):<17} {row.rate:>8,.0f} "
            f"{row.p99_ms:>7.1f} {vs_starlette:>12} {vs_fastapi:>10} {vs_recipe:>9}  "
            f"{'; '.join(verdicts)}{_flag(row)}"
        )

    print()
    print("jwtauth endpoints by store (in-process revocation). A refresh token is single-use, so")
    print(f"refresh is driven by an asyncio + httpx client in this process, not wrk: {CONNECTIONS}")
    print("sessions, each presenting the token its previous refresh returned. The client shares")
    print("the CPUs with the server (its share is shown), so refresh figures are floors.")
    print(f"{'store':<11} {'endpoint':<18} {'req/s':>8} {'p99 ms':>7}  load")
    for store in ("SQLite", "PostgreSQL"):
        for endpoint, load in (("GET /auth/me", "wrk"), ("POST /auth/refresh", "httpx")):
            key = f"{store} {endpoint.split('/')[-1]}"
            row = RESULTS.get(key)
            if row is None:
                print(f"{store:<11} {endpoint:<18} not measured: {plan.postgres_skip}")
                continue
            figures = f"{row.rate:>8,.0f} {row.p99_ms:>7.1f}"
            client = ""
            if "client_cpu" in row.notes:
                client = f" (client used {row.note('client_cpu'):.0%} of a CPU)"
            print(f"{store:<11} {endpoint:<18} {figures}  {load}{client}{_flag(row)}")

    quiet, busy = RESULTS["SQLite me"], RESULTS["me during logins"]
    print()
    print("GET /auth/me (SQLite) with and without logins running (argon2id, default cost, one")
    print("login in flight at a time for the whole wrk run), same server process")
    print(f"{'':<15} {'req/s':>8} {'p99 ms':>7}")
    print(f"{'no logins':<15} {quiet.rate:>8,.0f} {quiet.p99_ms:>7.1f}{_flag(quiet)}")
    print(f"{'logins running':<15} {busy.rate:>8,.0f} {busy.p99_ms:>7.1f}{_flag(busy)}")
    print(
        f"p99 x{busy.p99_ms / quiet.p99_ms:.2f} under logins; {busy.note('logins'):.0f} logins "
        f"per {DURATION} s run, {busy.note('login_ms'):.0f} ms each (median of run means)"
    )
    print(f"targets missed: {missed}" + (f" ({unmeasured} not measured)" if unmeasured else ""))
    return 0


def main() -> int:
    if shutil.which("wrk") is None:
        print(
            "bench.server: wrk not found, HTTP figures skipped "
            "(apt-get install wrk / brew install wrk)"
        )
        return 0
    with tempfile.TemporaryDirectory(prefix="jwtauth-bench-") as scratch:
        secret = secrets.token_urlsafe(48)
        database = f"jwtauth_bench_{secrets.token_hex(6)}"
        postgres_skip = postgres_create(database)
        postgres_url = None
        if postgres_skip is None:
            postgres_url = f"postgresql+asyncpg://{PG['user']}@{PG['host']}:{PG['port']}/{database}"
        plan = Plan(
            Path(scratch),
            secret,
            recipe_token(secret),
            redis_available(),
            postgres_url,
            postgres_skip,
        )
        try:
            for _ in range(REPEATS):
                run_round(plan)
        finally:
            if plan.redis_skip is None:
                redis_flush()
            if postgres_url is not None:
                postgres_drop(database)
        return report(plan)


if __name__ == "__main__":
    raise SystemExit(main())
