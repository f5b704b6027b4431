"""Issuance cost of a Vault/OpenBao Transit-signed token against local ES256 and EdDSA keys.

Starts ``bao server -dev`` on a free loopback port, creates non-exportable ``ecdsa-p256`` and
``ed25519`` Transit keys, and issues the same access token (eight claims) with four managers:
Transit ES256, Transit EdDSA, local ES256, local EdDSA. Each token's issuance is timed on its
own; the figure is the median (and 90th percentile) over every token of every round, the rounds
interleaved so that a slow moment of the machine hits every case alike. Transit issuance is one
HTTP round trip on loopback plus a local check of the returned signature. Run: ``make bench``.
"""

from __future__ import annotations

import gc
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import hvac  # type: ignore[import-untyped]

from jwtauth import KeyRing, TokenManager
from jwtauth.keys.key import generate_key
from jwtauth.lifecycle.transit import load_transit_keyring

ISSUER = "https://auth.example.com"
AUDIENCE = "api"
ROUNDS = 5


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/v1/sys/health", timeout=1) as response:  # noqa: S310
            return bool(response.status == 200)
    except OSError:
        return False


@contextmanager
def bao_dev() -> Iterator[tuple[str, str]]:
    """``bao server -dev`` on a free port: yields (url, root token)."""
    binary = Path(sys.executable).parent / "bao"
    port, token = _free_port(), secrets.token_urlsafe(24)
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as home:
        process = subprocess.Popen(  # noqa: S603 - our own binary, fixed arguments
            [str(binary), "server", "-dev", f"-dev-root-token-id={token}",
             f"-dev-listen-address=127.0.0.1:{port}", "-dev-no-store-token"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "HOME": home},
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 30
            while not _healthy(url):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("bao server -dev did not start")
                time.sleep(0.05)
            yield url, token
        finally:
            process.terminate()
            process.wait(timeout=10)


def _timings(issue: Callable[[], Any], count: int) -> list[float]:
    """Microseconds for each of ``count`` issuances, timed one by one."""
    out: list[float] = []
    gc.disable()
    try:
        for _ in range(count):
            start = time.perf_counter_ns()
            issue()
            out.append((time.perf_counter_ns() - start) / 1000)
    finally:
        gc.enable()
    return out


def main() -> int:
    quick = "--quick" in sys.argv
    per_round = {"transit": 100 if quick else 400, "local": 1000 if quick else 4000}
    extra = {"sid": "session-1234", "scope": "read write"}
    with bao_dev() as (url, token):
        client = hvac.Client(url=url, token=token, timeout=5)
        client.sys.enable_secrets_engine("transit", path="transit")
        managers: dict[str, TokenManager] = {}
        for alg, key_type in (("ES256", "ecdsa-p256"), ("EdDSA", "ed25519")):
            name = f"bench-{alg.lower()}"
            client.secrets.transit.create_key(name=name, key_type=key_type)
            managers[f"transit {alg}"] = TokenManager(
                load_transit_keyring(client, name), issuer=ISSUER, audience=AUDIENCE
            )
            managers[f"local {alg}"] = TokenManager(
                KeyRing(generate_key(alg)), issuer=ISSUER, audience=AUDIENCE
            )
        samples: dict[str, list[float]] = {case: [] for case in managers}
        issuers = {case: partial(m.issue, "user-42", claims=extra) for case, m in managers.items()}
        for issue in issuers.values():  # warm-up: connections, caches, first calls
            _timings(issue, 50)
        for _ in range(ROUNDS):
            for case, issue in issuers.items():
                samples[case] += _timings(issue, per_round[case.split()[0]])

    medians = {case: statistics.median(values) for case, values in samples.items()}
    print(f"jwtauth token issuance, Python {sys.version.split()[0]}, OpenBao dev on loopback")
    print(f"{'case':<14} {'tokens':>7} {'median µs':>10} {'p90 µs':>9} {'vs local':>9}")
    for case, values in samples.items():
        p90 = statistics.quantiles(values, n=10)[-1]
        local = medians["local " + case.split()[1]]
        print(
            f"{case:<14} {len(values):>7} {medians[case]:>10.1f} {p90:>9.1f} "
            f"{medians[case] / local:>8.1f}x"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
