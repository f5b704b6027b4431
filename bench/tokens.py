"""Issue and verify throughput of the jwtauth engine against PyJWT and joserfc, in one run.

"verify" is jwtauth with its verified-token cache off; "verify (cache miss)" is a first
verification with the cache on (its bookkeeping included); "verify (cached)" a repeat. Every
library verifies the same claims set (eight claims) with the same checks on: signature,
`exp`, `nbf`, `iat`, exact `iss`, `aud`. Each figure is the median over several interleaved
repeats, so a slow moment of the machine hits every library alike. Run: ``make bench``.
"""

from __future__ import annotations

import gc
import hashlib
import hmac
import itertools
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt as pyjwt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from joserfc import jwt as jose_jwt
from joserfc.jwk import ECKey as JoseECKey
from joserfc.jwk import OctKey, OKPKey

from jwtauth import KeyRing, RevocationList, TokenManager
from jwtauth.keys.key import ECKey, EdDSAKey, HMACKey

ISSUER = "https://auth.example.com"
AUDIENCE = "api"
REPEATS = 7
TARGETS = {  # (alg, operation) -> minimum ratio over PyJWT, from the foundation issue
    ("HS256", "verify"): 4.0,
    ("HS256", "verify (cache miss)"): 4.0,
    ("ES256", "verify"): 1.8,
    ("EdDSA", "verify"): 1.8,
    ("HS256", "issue"): 2.0,
    ("HS256", "verify (cached)"): 20.0,
    ("ES256", "verify (cached)"): 20.0,
    ("EdDSA", "verify (cached)"): 20.0,
}


@dataclass
class Case:
    alg: str
    operation: str
    library: str
    run: Callable[[], Any]
    batch: int
    rates: list[float]


def _rate(fn: Callable[[], Any], batch: int) -> float:
    gc.disable()
    try:
        start = time.perf_counter()
        for _ in range(batch):
            fn()
        return batch / (time.perf_counter() - start)
    finally:
        gc.enable()


def _keys(alg: str, secret: bytes) -> tuple[Any, Any, Any, Any]:
    """(jwtauth key, PyJWT signing key, PyJWT verifying key, joserfc key)."""
    if alg == "HS256":
        return HMACKey(secret, alg, kid="k1"), secret, secret, OctKey.import_key(secret)
    if alg == "ES256":
        private: Any = ec.generate_private_key(ec.SECP256R1())
        ours: Any = ECKey(private, alg, kid="k1")
        jose: Any = JoseECKey.import_key(private)
    else:
        private = ed25519.Ed25519PrivateKey.generate()
        ours = EdDSAKey(private, alg, kid="k1")
        jose = OKPKey.import_key(private)
    return ours, private, private.public_key(), jose


def _verify_quietly(fn: Callable[[], Any]) -> bool:
    fn()
    return True


def build_cases(alg: str, batch: int) -> list[Case]:
    secret = b"bench-only-" + bytes(range(64))
    ours_key, py_sign, py_verify, jose_key = _keys(alg, secret)
    extra = {"sid": "session-1234", "scope": "read write"}

    def manager(cache_size: int) -> TokenManager:
        return TokenManager(
            KeyRing(ours_key),
            issuer=ISSUER,
            audience=AUDIENCE,
            revocations=RevocationList(),
            cache_size=cache_size,
        )

    ours, ours_cached, ours_missing = manager(0), manager(4096), manager(1024)
    token = ours.issue("user-42", claims=extra)
    claims = dict(ours.verify(token))
    header = {"typ": "at+jwt", "kid": "k1"}
    py_token = pyjwt.encode(claims, py_sign, algorithm=alg, headers=header)
    jose_token = jose_jwt.encode({"alg": alg, **header}, claims, jose_key, algorithms=[alg])
    # Our `iat` keeps milliseconds; joserfc compares it with whole seconds, so a token issued in
    # the second half of a second is "in the future" for the rest of that second without leeway.
    registry = jose_jwt.JWTClaimsRegistry(
        leeway=2,
        iss={"essential": True, "value": ISSUER},
        aud={"essential": True, "value": AUDIENCE},
    )

    def py_verify_once() -> Any:
        return pyjwt.decode(
            py_token, py_verify, algorithms=[alg], audience=AUDIENCE, issuer=ISSUER,
            options={"require": ["exp", "iat", "nbf", "iss", "aud", "sub", "jti"]},
        )  # fmt: skip

    def jose_verify_once() -> Any:
        decoded = jose_jwt.decode(jose_token, jose_key, algorithms=[alg])
        registry.validate(decoded.claims)
        return decoded

    def py_issue_once() -> Any:
        now = int(time.time())
        payload = {"iss": ISSUER, "aud": AUDIENCE, "sub": "user-42", "iat": now, "nbf": now,
                   "exp": now + 300, "jti": "0123456789abcdef", **extra}  # fmt: skip
        return pyjwt.encode(payload, py_sign, algorithm=alg, headers=header)

    def jose_issue_once() -> Any:
        now = int(time.time())
        payload = {"iss": ISSUER, "aud": AUDIENCE, "sub": "user-42", "iat": now, "nbf": now,
                   "exp": now + 300, "jti": "0123456789abcdef", **extra}  # fmt: skip
        return jose_jwt.encode({"alg": alg, **header}, payload, jose_key, algorithms=[alg])

    def ours_verify_cached() -> Any:
        return ours_cached.verify(token)

    signing_input = token.rsplit(".", 1)[0].encode()

    def floor_verify_once() -> Any:
        """The signature primitive alone, on pre-built objects: no parsing, no claims."""
        if alg == "HS256":
            mac = hmac.digest(secret, signing_input, hashlib.sha256)
            return hmac.compare_digest(mac, b"x" * 32)
        if alg == "ES256":
            return _verify_quietly(
                lambda: py_verify.verify(der, signing_input, ec.ECDSA(hashes.SHA256()))
            )
        return _verify_quietly(lambda: py_verify.verify(raw_sig, signing_input))

    raw_sig = ours_key.sign(signing_input)
    der = py_sign.sign(signing_input, ec.ECDSA(hashes.SHA256())) if alg == "ES256" else b""
    # Twice as many distinct tokens as the cache holds, visited in a cycle: with FIFO eviction
    # every verification is a first one, paying for the cache's bookkeeping too.
    fresh_tokens = itertools.cycle([ours.issue("user-42", claims=extra) for _ in range(2048)])

    def ours_verify_miss() -> Any:
        return ours_missing.verify(next(fresh_tokens))

    ours_cached.verify(token)
    rows = [
        ("verify", "floor", floor_verify_once),
        ("verify", "jwtauth", lambda: ours.verify(token)),
        ("verify", "PyJWT", py_verify_once),
        ("verify", "joserfc", jose_verify_once),
        ("verify (cache miss)", "jwtauth", ours_verify_miss),
        ("verify (cached)", "jwtauth", ours_verify_cached),
        ("issue", "jwtauth", lambda: ours.issue("user-42", claims=extra)),
        ("issue", "PyJWT", py_issue_once),
        ("issue", "joserfc", jose_issue_once),
    ]
    return [
        Case(alg, op, lib, fn, batch * (20 if "cached" in op else 1), []) for op, lib, fn in rows
    ]


def main() -> int:
    # joserfc warns that RFC 9864 deprecates the `EdDSA` identifier; not what is measured here.
    warnings.simplefilter("ignore")
    quick = "--quick" in sys.argv
    repeats = 3 if quick else REPEATS
    cases = [
        c
        for alg, batch in (("HS256", 20_000), ("ES256", 2_000), ("EdDSA", 2_000))
        for c in build_cases(alg, batch // (10 if quick else 1))
    ]
    for case in cases:  # warm-up: imports, caches, first-call costs
        _rate(case.run, max(1, case.batch // 10))
    for _ in range(repeats):
        for case in cases:
            case.rates.append(_rate(case.run, case.batch))

    medians = {(c.alg, c.operation, c.library): statistics.median(c.rates) for c in cases}
    print(f"jwtauth token engine, Python {sys.version.split()[0]}, medians of {repeats} repeats")
    print("'floor': the signature primitive alone, on pre-built key objects; no engine passes it.")
    print(f"{'alg':<6} {'operation':<20} {'library':<8} {'ops/s':>10} {'vs PyJWT':>9}  target")
    missed = 0
    for case in cases:
        rate = medians[(case.alg, case.operation, case.library)]
        peer_op = "verify" if case.operation.startswith("verify") else case.operation
        ratio = rate / medians[(case.alg, peer_op, "PyJWT")]
        target = TARGETS.get((case.alg, case.operation)) if case.library == "jwtauth" else None
        verdict = ""
        if target is not None:
            verdict = f">= {target:.1f}x {'met' if ratio >= target else 'MISSED'}"
            missed += ratio < target
        print(
            f"{case.alg:<6} {case.operation:<20} {case.library:<8} {rate:>10,.0f} {ratio:>8.2f}x  "
            f"{verdict}"
        )
    for alg in ("HS256", "ES256", "EdDSA"):
        share = medians[(alg, "verify", "jwtauth")] / medians[(alg, "verify", "floor")]
        print(f"{alg}: jwtauth verify runs at {share:.0%} of the signature primitive's own rate")
    print(f"targets missed: {missed}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
