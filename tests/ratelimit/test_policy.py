"""Policies, decisions, key hashing and the IETF header rendering: the pure parts."""

from __future__ import annotations

import hashlib
import hmac
import re
import subprocess
import sys
from typing import Any

import pytest

from jwtauth.ratelimit import (
    DEFAULT_POLICIES,
    Penalty,
    RateDecision,
    RatePolicy,
    hash_key,
    rate_limit_headers,
)

LOGIN = RatePolicy("login", 5, 60)
ACCOUNT = RatePolicy("login-account", 5, 60)

# One structured-field Item as the draft uses it: a String, then `;key=integer` parameters.
SF_ITEM = r'"[A-Za-z0-9._-]+"(;[a-z]+=[0-9]+)+'


def decision(policy: RatePolicy, *, allowed: bool, remaining: int, reset: int) -> RateDecision:
    return RateDecision(allowed, policy, remaining, reset, 0 if allowed else reset)


# Policies -------------------------------------------------------------------------------------


def test_default_policies_are_those_of_the_api_contract() -> None:
    quotas = {name: (p.limit, p.period) for name, p in DEFAULT_POLICIES.items()}
    assert quotas == {
        "login-ip": (5, 60),
        "login-account": (5, 60),
        "register-ip": (3, 60),
        "refresh-user": (10, 60),
        # An addition (docs/api.md): refresh tokens that cannot refresh, per client address.
        "refresh-ip": (10, 60),
    }
    assert all(p.penalty == Penalty() for p in DEFAULT_POLICIES.values())


def test_default_policies_cannot_be_changed_in_place() -> None:
    with pytest.raises(TypeError):
        DEFAULT_POLICIES["login-ip"] = RatePolicy("login-ip", 500, 60)  # type: ignore[index]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"name": ""},
        {"name": "login ip"},
        {"name": 'lo"gin'},  # would break out of the structured-field String
        {"name": "login:ip"},  # ':' separates the parts of a Redis key
        {"name": "-login"},
        {"name": "x" * 65},
        {"limit": 0},
        {"period": 0},
        {"limit": 1001, "period": 1},  # more than one hit per millisecond
    ],
)
def test_invalid_policies_are_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="policy"):
        RatePolicy(**{"name": "login", "limit": 5, "period": 60, **kwargs})


@pytest.mark.parametrize(
    "kwargs",
    [{"base": 0}, {"factor": 0.5}, {"base": 60, "cap": 30}, {"decay": 0}],
)
def test_invalid_penalties_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="penalty"):
        Penalty(**kwargs)


def test_a_decision_carries_the_policy_quota_and_window() -> None:
    made = decision(LOGIN, allowed=True, remaining=4, reset=12)
    assert (made.limit, made.window, made.policy.name) == (5, 60, "login")


# Key hashing ----------------------------------------------------------------------------------


def test_keys_are_hashed_with_sha256_or_hmac_with_a_secret() -> None:
    email = "Alice@Example.com"
    assert hash_key(email) == hashlib.sha256(email.encode()).hexdigest()
    keyed = hash_key(email, b"k" * 32)
    assert keyed == hmac.new(b"k" * 32, email.encode(), hashlib.sha256).hexdigest()
    assert keyed != hash_key(email)
    assert hash_key(email, b"j" * 32) != keyed
    assert hash_key("\udcff") != hash_key("")  # lone surrogates (from bad input) do not raise


# Headers (draft-ietf-httpapi-ratelimit-headers) -----------------------------------------------


def test_an_allowed_hit_gets_policy_and_ratelimit_fields_but_no_retry_after() -> None:
    headers = rate_limit_headers(decision(LOGIN, allowed=True, remaining=4, reset=12))
    assert headers == {"RateLimit-Policy": '"login";q=5;w=60', "RateLimit": '"login";r=4;t=12'}


def test_a_refused_hit_gets_retry_after_equal_to_the_reset() -> None:
    headers = rate_limit_headers(decision(LOGIN, allowed=False, remaining=0, reset=37))
    assert headers == {
        "RateLimit-Policy": '"login";q=5;w=60',
        "RateLimit": '"login";r=0;t=37',
        "Retry-After": "37",
    }


def test_several_policies_become_one_list_and_the_longest_wait_wins() -> None:
    headers = rate_limit_headers(
        decision(LOGIN, allowed=True, remaining=3, reset=12),
        decision(ACCOUNT, allowed=False, remaining=0, reset=240),
        decision(RatePolicy("other", 9, 9), allowed=False, remaining=0, reset=2),
    )
    assert headers["RateLimit-Policy"] == (
        '"login";q=5;w=60, "login-account";q=5;w=60, "other";q=9;w=9'
    )
    assert headers["RateLimit"] == '"login";r=3;t=12, "login-account";r=0;t=240, "other";r=0;t=2'
    assert headers["Retry-After"] == "240"
    for field in ("RateLimit-Policy", "RateLimit"):
        assert re.fullmatch(rf"{SF_ITEM}(, {SF_ITEM})*", headers[field]), field


def test_one_policy_decided_for_two_keys_is_advertised_once() -> None:
    headers = rate_limit_headers(
        decision(LOGIN, allowed=True, remaining=3, reset=12),
        decision(LOGIN, allowed=True, remaining=1, reset=12),
    )
    assert headers["RateLimit-Policy"] == '"login";q=5;w=60'
    assert headers["RateLimit"] == '"login";r=3;t=12, "login";r=1;t=12'


def test_headers_need_a_decision() -> None:
    with pytest.raises(ValueError, match="at least one"):
        rate_limit_headers()


# Layering -------------------------------------------------------------------------------------


def test_the_package_imports_no_redis() -> None:
    code = "import sys, jwtauth.ratelimit; print('redis' in sys.modules)"
    result = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def test_the_interval_is_rounded_up_so_the_rate_is_never_more_generous() -> None:
    from jwtauth.ratelimit.gcra import Params

    params = Params.of(RatePolicy("odd", 3, 10))  # 3333.3 ms per hit
    assert (params.interval, params.window) == (3334, 10_002)
    assert Params.of(RatePolicy("even", 5, 60)).interval == 12_000
