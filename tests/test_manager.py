"""TokenManager: issue/verify, token types, the verified-token cache, revocation and rotation."""

from __future__ import annotations

import secrets
from dataclasses import replace
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from jwtauth.errors import (
    AlgorithmError,
    AudienceError,
    BadSignatureError,
    ClaimError,
    ConfigurationError,
    ExpiredTokenError,
    ImmatureTokenError,
    IssuerError,
    MalformedTokenError,
    MissingClaimError,
    RevokedTokenError,
    TokenError,
    TokenTypeError,
    UnknownKeyError,
)
from jwtauth.keys.algorithms import Algorithm
from jwtauth.keys.key import HMACKey, Key, RSAKey, generate_key, key_from_jwk
from jwtauth.keys.keyring import KeyRing
from jwtauth.manager import TokenManager
from jwtauth.revocation import RevocationList
from jwtauth.testing import FrozenClock
from jwtauth.tokens.encoding import b64url_decode, b64url_encode, json_dumps, json_loads_object
from jwtauth.tokens.token_type import ACCESS, TokenType

ISS = "https://auth.test"
AUD = "api"
REFRESH = TokenType("refresh", "rt+jwt")


@pytest.fixture(scope="module")
def rsa_private() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(65537, 2048)


@pytest.fixture(scope="module")
def other_rsa_private() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(65537, 2048)


def make_key(alg: Algorithm | str, rsa_private: rsa.RSAPrivateKey | None = None) -> Key:
    alg = Algorithm(alg)
    if alg.family == "HS":
        # A fixed first byte keeps random secrets away from 0x30 (DER); see tests/keys/test_key.py.
        return HMACKey(b"k" + secrets.token_bytes(63), alg)
    if alg.family in ("RS", "PS"):
        if rsa_private is None:
            return generate_key(alg, rsa_bits=2048)
        return RSAKey(rsa_private, alg)
    return generate_key(alg)


def manager(
    key: Key | None = None,
    *,
    clock: FrozenClock | None = None,
    revocations: RevocationList | None = None,
    **options: Any,
) -> TokenManager:
    return TokenManager(
        KeyRing(key if key is not None else make_key("ES256")),
        issuer=ISS,
        audience=AUD,
        clock=clock if clock is not None else FrozenClock(),
        revocations=revocations,
        **options,
    )


def header_of(token: str) -> dict[str, Any]:
    return json_loads_object(b64url_decode(token.split(".", maxsplit=1)[0]))


def payload_of(token: str) -> dict[str, Any]:
    return json_loads_object(b64url_decode(token.split(".")[1]))


# Roundtrip ------------------------------------------------------------------------------------


@pytest.mark.parametrize("alg", list(Algorithm))
def test_issue_verify_roundtrip(
    rsa_private: rsa.RSAPrivateKey, other_rsa_private: rsa.RSAPrivateKey, alg: Algorithm
) -> None:
    key = make_key(alg, rsa_private)
    clock = FrozenClock()
    tm = manager(key, clock=clock)
    token = tm.issue("alice", claims={"role": "admin"})
    assert header_of(token) == {"alg": alg.value, "typ": "at+jwt", "kid": key.kid}
    claims = tm.verify(token)
    assert claims["sub"] == "alice"
    assert claims["role"] == "admin"
    assert claims["iss"] == ISS
    assert claims["aud"] == AUD
    assert claims["iat"] == int(clock())
    assert claims["exp"] == int(clock()) + 300
    assert dict(claims) == payload_of(token)
    # A second, independent manager with the same key verifies it from scratch.
    assert dict(manager(key, clock=clock).verify(token)) == dict(claims)
    # A manager with another key of the same algorithm does not.
    with pytest.raises(UnknownKeyError):
        manager(make_key(alg, other_rsa_private), clock=clock).verify(token)


def test_issue_honours_ttl() -> None:
    clock = FrozenClock()
    tm = manager(clock=clock, ttl=60)
    assert payload_of(tm.issue("a"))["exp"] == int(clock()) + 60
    assert payload_of(tm.issue("a", ttl=5))["exp"] == int(clock()) + 5
    with pytest.raises(ValueError, match="lifetime"):
        tm.issue("a", ttl=0)
    with pytest.raises(ValueError, match="registered"):
        tm.issue("a", claims={"exp": 10**12})


def test_wrong_issuer_and_audience_are_refused() -> None:
    key = make_key("HS256")
    clock = FrozenClock()
    token = manager(key, clock=clock).issue("alice")
    other_issuer = TokenManager(KeyRing(key), issuer="https://other", audience=AUD, clock=clock)
    with pytest.raises(IssuerError):
        other_issuer.verify(token)
    other_audience = TokenManager(KeyRing(key), issuer=ISS, audience="other", clock=clock)
    with pytest.raises(AudienceError):
        other_audience.verify(token)


def test_verify_only_manager_verifies_but_cannot_issue() -> None:
    signer = make_key("ES256")
    clock = FrozenClock()
    token = manager(signer, clock=clock).issue("alice")
    public = key_from_jwk(signer.public_jwk())
    verifier = TokenManager(KeyRing(None, [public]), issuer=ISS, audience=AUD, clock=clock)
    assert verifier.verify(token)["sub"] == "alice"
    with pytest.raises(ConfigurationError):
        verifier.issue("bob")


def test_algorithm_in_header_must_match_the_key() -> None:
    key = make_key("HS256")
    tm = manager(key)
    token = tm.issue("alice")
    _, payload, _ = token.split(".")
    for alg in ("HS384", "HS512", "RS256", "none", "hs256"):
        header = b64url_encode(json_dumps({"alg": alg, "typ": "at+jwt", "kid": key.kid}))
        signing_input = f"{header}.{payload}".encode()
        forged = f"{header}.{payload}.{b64url_encode(key.sign(signing_input))}"
        with pytest.raises(AlgorithmError):
            tm.verify(forged)


@pytest.mark.parametrize(
    "value",
    [None, b"a.b.c", 5, ["a", "b", "c"], {"token": "a.b.c"}],
    ids=["none", "bytes", "int", "list", "dict"],
)
def test_non_string_tokens_are_malformed(value: Any) -> None:
    with pytest.raises(MalformedTokenError):
        manager().verify(value)


def test_returned_claims_are_read_only() -> None:
    tm = manager()
    token = tm.issue("alice", claims={"roles": ["user"]})
    for claims in (tm.verify(token), tm.verify(token)):  # fresh, then cached
        with pytest.raises(TypeError):
            claims["sub"] = "mallory"  # type: ignore[index]
        with pytest.raises(TypeError):
            del claims["sub"]  # type: ignore[attr-defined]
        with pytest.raises(AttributeError):
            claims.update(sub="mallory")  # type: ignore[attr-defined]
    assert tm.verify(token)["sub"] == "alice"


# Token types ----------------------------------------------------------------------------------


def test_refresh_and_access_tokens_are_kept_apart() -> None:
    tm = manager()
    access = tm.issue("alice")
    refresh = tm.issue("alice", token_type=REFRESH)
    assert header_of(refresh)["typ"] == "rt+jwt"
    with pytest.raises(TokenTypeError):
        tm.verify(refresh)
    with pytest.raises(TokenTypeError):
        tm.verify(access, token_type=REFRESH)
    assert tm.verify(access)["sub"] == "alice"
    assert tm.verify(refresh, token_type=REFRESH)["sub"] == "alice"


@pytest.mark.parametrize("cache_size", [4096, 0])
def test_token_type_is_checked_on_cache_hits(cache_size: int) -> None:
    tm = manager(cache_size=cache_size)
    access = tm.issue("alice")
    refresh = tm.issue("alice", token_type=REFRESH)
    # Verified (and cached) once as its own type ...
    assert tm.verify(access)["sub"] == "alice"
    assert tm.verify(refresh, token_type=REFRESH)["sub"] == "alice"
    # ... then presented as the other type.
    with pytest.raises(TokenTypeError):
        tm.verify(access, token_type=REFRESH)
    with pytest.raises(TokenTypeError):
        tm.verify(refresh, token_type=ACCESS)
    with pytest.raises(TokenTypeError):
        tm.verify(refresh)
    # The failed attempts do not evict or poison the right answers.
    assert tm.verify(access)["sub"] == "alice"
    assert tm.verify(refresh, token_type=REFRESH)["sub"] == "alice"


def test_token_types_are_identified_by_typ_on_cache_hits_too() -> None:
    # A TokenType is identified by its `typ`; the cache must give the answer a fresh
    # verification gives, whichever TokenType object (or name) the caller uses.
    bearer = TokenType("bearer", "at+jwt")
    cached = manager()
    fresh = manager(cached.keyring.signing_key, cache_size=0)
    token = cached.issue("alice")
    assert fresh.verify(token, token_type=bearer)["sub"] == "alice"
    cached.verify(token)  # cached as ACCESS
    assert cached.verify(token, token_type=bearer)["sub"] == "alice"
    assert cached.verify(token, token_type=TokenType("access", "at+jwt"))["sub"] == "alice"


def test_type_check_uses_the_signed_typ_header() -> None:
    key = make_key("HS256")
    tm = manager(key)
    _, payload, _ = tm.issue("alice").split(".")
    for typ, ok in [
        ("at+jwt", True),
        ("AT+JWT", True),
        ("application/at+jwt", True),
        ("JWT", False),
        ("rt+jwt", False),
        ("at+jwt ", False),
        (None, False),
    ]:
        params: dict[str, Any] = {"alg": "HS256", "kid": key.kid}
        if typ is not None:
            params["typ"] = typ
        header = b64url_encode(json_dumps(params))
        signing_input = f"{header}.{payload}".encode()
        token = f"{header}.{payload}.{b64url_encode(key.sign(signing_input))}"
        if ok:
            assert tm.verify(token)["sub"] == "alice"
        else:
            with pytest.raises(TokenTypeError):
                tm.verify(token)


# The cache: expiry ----------------------------------------------------------------------------


def test_cached_token_still_expires() -> None:
    clock = FrozenClock()
    tm = manager(clock=clock, ttl=300)
    token = tm.issue("alice")
    tm.verify(token)
    clock.advance(299)
    assert tm.verify(token)["sub"] == "alice"
    clock.advance(1)  # now == exp
    with pytest.raises(ExpiredTokenError) as info:
        tm.verify(token)
    assert info.value.claim == "exp"
    # And stays expired, whether answered from the cache or not.
    with pytest.raises(ExpiredTokenError):
        tm.verify(token)


def test_cached_token_expiry_honours_leeway() -> None:
    clock = FrozenClock()
    tm = manager(clock=clock, ttl=300, leeway=30)
    token = tm.issue("alice")
    tm.verify(token)
    clock.advance(329)
    assert tm.verify(token)["sub"] == "alice"
    clock.advance(1)
    with pytest.raises(ExpiredTokenError):
        tm.verify(token)


@pytest.mark.parametrize("leeway", [0, 10])
def test_cached_token_expires_at_max_age_exactly_like_a_fresh_one(leeway: int) -> None:
    # The cache may change speed, never the answer: at every instant a cached token and the
    # same token verified from scratch get the same outcome.
    clock = FrozenClock()
    cached = manager(clock=clock, ttl=3600, leeway=leeway)
    key = cached.keyring.signing_key
    fresh = manager(key, clock=clock, ttl=3600, leeway=leeway, cache_size=0)
    for tm in (cached, fresh):
        tm.policy = replace(tm.policy, max_age=60)
    token = cached.issue("alice")
    cached.verify(token)
    for step in (59, 60, 61):
        clock.now = payload_of(token)["iat"] + step + leeway
        outcomes = []
        for tm in (fresh, cached):
            try:
                outcomes.append(tm.verify(token)["sub"])
            except ExpiredTokenError:
                outcomes.append("expired")
        assert outcomes[0] == outcomes[1], (step, outcomes)
        assert outcomes[0] == ("alice" if step < 60 else "expired")


# The cache: revocation ------------------------------------------------------------------------


def test_cached_token_honours_jti_revocation() -> None:
    clock = FrozenClock()
    revocations = RevocationList(clock)
    tm = manager(clock=clock, revocations=revocations)
    token, other = tm.issue("alice"), tm.issue("alice")
    claims = tm.verify(token)
    tm.verify(other)
    revocations.revoke(ISS, claims["jti"], claims["exp"])
    with pytest.raises(RevokedTokenError):
        tm.verify(token)
    assert tm.verify(other)["sub"] == "alice"  # only that jti
    # The same jti from another issuer is another token.
    revocations.revoke("https://other", tm.verify(other)["jti"], claims["exp"])
    assert tm.verify(other)["sub"] == "alice"


def test_cached_token_honours_subject_revocation() -> None:
    clock = FrozenClock()
    revocations = RevocationList(clock)
    tm = manager(clock=clock, revocations=revocations)
    alice, bob = tm.issue("alice"), tm.issue("bob")
    tm.verify(alice)
    tm.verify(bob)
    clock.advance(1)
    revocations.revoke_subject(ISS, "alice", clock())
    with pytest.raises(RevokedTokenError):
        tm.verify(alice)
    assert tm.verify(bob)["sub"] == "bob"
    # A token issued after the cut-off is fine.
    clock.advance(1)
    fresh = tm.issue("alice")
    assert tm.verify(fresh)["sub"] == "alice"
    assert tm.verify(fresh)["sub"] == "alice"


def test_cached_token_honours_global_revocation() -> None:
    clock = FrozenClock()
    revocations = RevocationList(clock)
    tm = manager(clock=clock, revocations=revocations)
    tokens = [tm.issue(f"user-{i}") for i in range(3)]
    for token in tokens:
        tm.verify(token)
    clock.advance(1)
    revocations.revoke_all(clock())
    for token in tokens:
        with pytest.raises(RevokedTokenError):
            tm.verify(token)
    clock.advance(1)
    fresh = tm.issue("user-0")
    assert tm.verify(fresh)["sub"] == "user-0"


def test_revocation_is_checked_on_first_verification_too() -> None:
    clock = FrozenClock()
    revocations = RevocationList(clock)
    tm = manager(clock=clock, revocations=revocations)
    token = tm.issue("alice")
    jti, exp = payload_of(token)["jti"], payload_of(token)["exp"]
    revocations.revoke(ISS, jti, exp)
    with pytest.raises(RevokedTokenError):
        tm.verify(token)


@pytest.mark.parametrize("warm_cache", [True, False], ids=["cached", "fresh"])
def test_revoked_token_stays_revoked_within_the_leeway(warm_cache: bool) -> None:
    # A token is accepted until exp + leeway, so its revocation must last that long too:
    # revoking with the token's own `exp` (as RevocationList.revoke documents) must not let it
    # verify again in the leeway window.
    clock = FrozenClock()
    revocations = RevocationList(clock)
    tm = manager(clock=clock, revocations=revocations, ttl=300, leeway=30)
    token = tm.issue("alice")
    if warm_cache:
        tm.verify(token)
    payload = payload_of(token)
    revocations.revoke(ISS, payload["jti"], payload["exp"])
    clock.advance(310)  # past exp, inside the leeway
    with pytest.raises((RevokedTokenError, ExpiredTokenError)):
        tm.verify(token)


# The cache: rotation and key removal ----------------------------------------------------------


def test_rotation_keeps_old_tokens_valid_while_the_old_key_is_held() -> None:
    old, new = make_key("ES256"), make_key("EdDSA")
    clock = FrozenClock()
    tm = manager(old, clock=clock)
    cached_old = tm.issue("alice")
    uncached_old = tm.issue("bob")
    tm.verify(cached_old)
    tm.keyring = tm.keyring.with_key(new).with_signing(new.kid)
    new_token = tm.issue("carol")
    assert header_of(new_token)["kid"] == new.kid
    assert header_of(new_token)["alg"] == "EdDSA"
    assert tm.verify(cached_old)["sub"] == "alice"
    assert tm.verify(uncached_old)["sub"] == "bob"
    assert tm.verify(new_token)["sub"] == "carol"


def test_removed_key_stops_verifying_even_from_the_cache() -> None:
    old, new = make_key("HS256"), make_key("HS256")
    clock = FrozenClock()
    tm = manager(old, clock=clock)
    cached_old = tm.issue("alice")
    uncached_old = tm.issue("bob")
    assert tm.verify(cached_old)["sub"] == "alice"
    tm.keyring = tm.keyring.with_key(new).with_signing(new.kid)
    new_token = tm.issue("carol")
    assert tm.verify(new_token)["sub"] == "carol"
    assert tm.verify(cached_old)["sub"] == "alice"
    tm.keyring = tm.keyring.without(old.kid)
    with pytest.raises(UnknownKeyError):
        tm.verify(cached_old)
    with pytest.raises(UnknownKeyError):
        tm.verify(cached_old)
    with pytest.raises(UnknownKeyError):
        tm.verify(uncached_old)
    assert tm.verify(new_token)["sub"] == "carol"
    assert tm.verify(new_token)["sub"] == "carol"


def test_key_replaced_under_the_same_kid_does_not_serve_cached_tokens() -> None:
    original = make_key("HS256")
    impostor = HMACKey(b"k" + secrets.token_bytes(63), "HS256", kid=original.kid)
    signer = make_key("HS256")
    tm = manager(original)
    token = tm.issue("alice")
    tm.verify(token)
    tm.keyring = KeyRing(signer, [impostor])
    with pytest.raises(BadSignatureError):
        tm.verify(token)


def test_manager_built_on_a_new_keyring_without_the_key_refuses() -> None:
    old = make_key("ES256")
    tm = manager(old)
    token = tm.issue("alice")
    tm.verify(token)
    tm.keyring = KeyRing(make_key("ES256"))
    with pytest.raises(UnknownKeyError):
        tm.verify(token)


# The cache: bounds ----------------------------------------------------------------------------


def test_cache_is_bounded() -> None:
    tm = manager(cache_size=3)
    tokens = [tm.issue(f"user-{i}") for i in range(10)]
    for token in tokens:
        tm.verify(token)
        assert len(tm._cache) <= 3
    assert len(tm._cache) == 3
    # Evicted tokens still verify (from scratch).
    for i, token in enumerate(tokens):
        assert tm.verify(token)["sub"] == f"user-{i}"
    assert len(tm._cache) <= 3


def test_cache_can_be_disabled() -> None:
    tm = manager(cache_size=0)
    token = tm.issue("alice")
    for _ in range(3):
        assert tm.verify(token)["sub"] == "alice"
    assert len(tm._cache) == 0


def test_failed_verifications_are_not_cached() -> None:
    clock = FrozenClock()
    tm = manager(clock=clock)
    token = tm.issue("alice")
    header, payload, signature = token.split(".")
    bad = f"{header}.{payload}.{signature[:-4]}AAAA"
    for _ in range(2):
        with pytest.raises(TokenError):
            tm.verify(bad)
    assert len(tm._cache) == 0
    with pytest.raises(TokenTypeError):
        tm.verify(token, token_type=REFRESH)
    assert len(tm._cache) == 0


def test_cache_entry_of_a_clock_skewed_token_is_not_reused_early() -> None:
    # A token whose nbf is in the future is refused, and that refusal is not cached as success.
    clock = FrozenClock()
    tm = manager(clock=clock)
    clock.advance(100)
    future = tm.issue("alice")
    clock.advance(-100)
    with pytest.raises(ImmatureTokenError):
        tm.verify(future)
    clock.advance(100)
    assert tm.verify(future)["sub"] == "alice"


# Cached and fresh answers never differ; cached claims cannot be altered ----------------------


def test_nested_claims_are_read_only_and_the_cache_keeps_the_original() -> None:
    tm = manager()
    token = tm.issue("alice", claims={"roles": ["user"], "org": {"id": 1, "tags": ["a"]}})
    claims = tm.verify(token)
    assert claims["roles"] == ["user"]  # still equal to a plain list
    with pytest.raises(TypeError):
        claims["roles"].append("admin")
    with pytest.raises(TypeError):
        claims["roles"][0] = "admin"
    with pytest.raises(TypeError):
        claims["org"]["id"] = 999
    with pytest.raises(TypeError):
        claims["org"]["tags"].extend(["b"])
    again = tm.verify(token)
    assert again["roles"] == ["user"]
    assert again["org"] == {"id": 1, "tags": ["a"]}


def test_switching_kidless_off_refuses_a_cached_kidless_token() -> None:
    key = make_key("ES256")
    tm = TokenManager(KeyRing(key, kidless=key.kid), issuer=ISS, audience=AUD, clock=FrozenClock())
    payload = json_dumps(tm.factory.make("alice"))
    header = b64url_encode(json_dumps({"alg": "ES256", "typ": "at+jwt"}))
    signing_input = f"{header}.{b64url_encode(payload)}"
    token = f"{signing_input}.{b64url_encode(key.sign(signing_input.encode()))}"
    assert tm.verify(token)["sub"] == "alice"
    tm.keyring = KeyRing(key)  # the same key, but tokens without kid no longer resolve to it
    with pytest.raises(UnknownKeyError):
        tm.verify(token)


def test_replacing_the_policy_forgets_cached_verifications() -> None:
    tm = manager()
    token = tm.issue("alice")
    tm.verify(token)
    tm.policy = replace(tm.policy, issuer="https://someone-else.test")
    with pytest.raises(IssuerError):
        tm.verify(token)


def test_clock_stepping_back_before_nbf_is_refused_like_a_fresh_verification() -> None:
    clock = FrozenClock()
    tm = manager(clock=clock)
    token = tm.issue("alice")
    tm.verify(token)
    clock.now -= 60
    with pytest.raises(ImmatureTokenError):
        tm.verify(token)


def test_large_or_deeply_structured_payloads_are_verified_but_never_cached() -> None:
    tm = manager()
    bulky = tm.issue("alice", claims={"groups": [{"id": i} for i in range(200)]})
    assert tm.verify(bulky)["groups"][199] == {"id": 199}
    assert len(tm._cache) == 0
    small = tm.issue("alice", claims={"groups": [{"id": 1}]})
    tm.verify(small)
    assert len(tm._cache) == 1


def test_aud_null_is_not_an_absent_aud() -> None:
    tm = manager()
    token = tm.issue("alice")
    header, _, _ = token.split(".")
    forged_payload = {**payload_of(token), "aud": None}
    key = tm.keyring.signing_key
    signing_input = f"{header}.{b64url_encode(json_dumps(forged_payload))}"
    forged = f"{signing_input}.{b64url_encode(key.sign(signing_input.encode()))}"
    with pytest.raises(ClaimError) as info:
        tm.verify(forged)
    assert info.value.claim == "aud"
    assert not isinstance(info.value, MissingClaimError)
