"""ClaimsPolicy (every rule, at its boundaries) and PayloadFactory."""

from __future__ import annotations

from typing import Any

import pytest

from jwtauth.errors import (
    AudienceError,
    ClaimError,
    ExpiredTokenError,
    ImmatureTokenError,
    IssuerError,
    MissingClaimError,
)
from jwtauth.testing import FrozenClock
from jwtauth.tokens.claims import REGISTERED_CLAIMS, ClaimsPolicy
from jwtauth.tokens.factory import PayloadFactory

NOW = 1_700_000_000
ISS = "https://auth.test"
AUD = "api"
DELETE = object()


def claims(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "iss": ISS,
        "aud": AUD,
        "sub": "alice",
        "iat": NOW - 10,
        "nbf": NOW - 10,
        "exp": NOW + 300,
        "jti": "j-1",
    }
    for name, value in changes.items():
        if value is DELETE:
            del base[name]
        else:
            base[name] = value
    return base


def policy(**options: Any) -> ClaimsPolicy:
    settings: dict[str, Any] = {"issuer": ISS, "audience": AUD, **options}
    return ClaimsPolicy(**settings)


def test_valid_claims_pass() -> None:
    policy().validate(claims(), NOW)
    policy(leeway=60).validate(claims(), NOW)


# exp ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("exp", "leeway", "expired"),
    [
        pytest.param(NOW, 0, True, id="exp-equals-now"),
        pytest.param(NOW - 1, 0, True, id="exp-past"),
        pytest.param(NOW + 1, 0, False, id="exp-next-second"),
        pytest.param(NOW + 0.001, 0, False, id="exp-fraction-ahead"),
        pytest.param(NOW - 0.001, 0, True, id="exp-fraction-behind"),
        pytest.param(NOW - 29, 30, False, id="leeway-inside"),
        pytest.param(NOW - 30, 30, True, id="leeway-edge"),
        pytest.param(NOW - 31, 30, True, id="leeway-outside"),
        pytest.param(NOW - 29.5, 30, False, id="leeway-fraction-inside"),
        pytest.param(NOW, 0.5, False, id="fractional-leeway"),
    ],
)
def test_exp_boundaries(exp: float, leeway: float, expired: bool) -> None:
    check = policy(leeway=leeway)
    if expired:
        with pytest.raises(ExpiredTokenError) as info:
            check.validate(claims(exp=exp), NOW)
        assert info.value.claim == "exp"
    else:
        check.validate(claims(exp=exp), NOW)


# nbf ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("nbf", "leeway", "immature"),
    [
        pytest.param(NOW, 0, False, id="nbf-equals-now"),
        pytest.param(NOW - 1, 0, False, id="nbf-past"),
        pytest.param(NOW + 1, 0, True, id="nbf-next-second"),
        pytest.param(NOW + 0.001, 0, True, id="nbf-fraction-ahead"),
        pytest.param(NOW + 30, 30, False, id="leeway-edge"),
        pytest.param(NOW + 29, 30, False, id="leeway-inside"),
        pytest.param(NOW + 31, 30, True, id="leeway-outside"),
    ],
)
def test_nbf_boundaries(nbf: float, leeway: float, immature: bool) -> None:
    # iat follows nbf so that only nbf is under test.
    check = policy(leeway=leeway)
    token = claims(nbf=nbf, iat=min(nbf, NOW))
    if immature:
        with pytest.raises(ImmatureTokenError) as info:
            check.validate(token, NOW)
        assert info.value.claim == "nbf"
    else:
        check.validate(token, NOW)


def test_nbf_is_optional() -> None:
    policy().validate(claims(nbf=DELETE), NOW)


# iat ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("iat", "leeway", "immature"),
    [
        pytest.param(NOW, 0, False, id="iat-equals-now"),
        pytest.param(NOW + 1, 0, True, id="iat-future"),
        pytest.param(NOW + 0.5, 0, True, id="iat-fraction-ahead"),
        pytest.param(NOW + 30, 30, False, id="leeway-edge"),
        pytest.param(NOW + 31, 30, True, id="leeway-outside"),
        pytest.param(0, 0, False, id="iat-epoch"),
    ],
)
def test_iat_in_the_future_is_refused(iat: float, leeway: float, immature: bool) -> None:
    check = policy(leeway=leeway)
    token = claims(iat=iat, nbf=DELETE)
    if immature:
        with pytest.raises(ImmatureTokenError) as info:
            check.validate(token, NOW)
        assert info.value.claim == "iat"
    else:
        check.validate(token, NOW)


@pytest.mark.parametrize(
    ("age", "max_age", "leeway", "expired"),
    [
        pytest.param(0, 60, 0, False, id="fresh"),
        pytest.param(59.5, 60, 0, False, id="just-under"),
        # Like `exp`, a token is expired at the instant its age reaches max_age.
        pytest.param(60, 60, 0, True, id="exactly-max-age"),
        pytest.param(60.5, 60, 0, True, id="just-over"),
        pytest.param(61, 60, 0, True, id="over"),
        pytest.param(69.5, 60, 10, False, id="inside-leeway"),
        pytest.param(70, 60, 10, True, id="leeway-edge"),
        pytest.param(71, 60, 10, True, id="leeway-outside"),
    ],
)
def test_max_age_bounds_the_age_of_iat(
    age: float, max_age: float, leeway: float, expired: bool
) -> None:
    check = policy(max_age=max_age, leeway=leeway)
    token = claims(iat=NOW - age, nbf=DELETE, exp=NOW + 3600)
    if expired:
        with pytest.raises(ExpiredTokenError) as info:
            check.validate(token, NOW)
        assert info.value.claim == "iat"
    else:
        check.validate(token, NOW)


def test_without_max_age_old_tokens_are_fine_until_exp() -> None:
    policy().validate(claims(iat=NOW - 10**6, nbf=DELETE), NOW)


# Required claims ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["iss", "sub", "exp", "iat", "jti"])
def test_each_required_claim_must_be_present(name: str) -> None:
    with pytest.raises(MissingClaimError) as info:
        policy().validate(claims(**{name: DELETE}), NOW)
    assert info.value.claim == name
    assert name in info.value.message


def test_default_required_claims() -> None:
    assert policy().required == frozenset({"iss", "sub", "exp", "iat", "jti"})


@pytest.mark.parametrize("name", ["nbf", "aud"])
def test_custom_required_claims(name: str) -> None:
    check = policy(required=frozenset({name}))
    with pytest.raises(MissingClaimError) as info:
        check.validate(claims(**{name: DELETE}), NOW)
    assert info.value.claim == name


def test_missing_claims_are_reported_deterministically() -> None:
    # Several missing: the error names one of them, always the same one.
    token = claims(sub=DELETE, jti=DELETE, iat=DELETE)
    names = set()
    for _ in range(20):
        with pytest.raises(MissingClaimError) as info:
            policy().validate(dict(token), NOW)
        names.add(info.value.claim)
    assert len(names) == 1
    assert names <= {"sub", "jti", "iat"}


def test_an_empty_required_set_allows_a_bare_token() -> None:
    bare = ClaimsPolicy(issuer=None, audience=None, required=frozenset())
    bare.validate({}, NOW)
    bare.validate({"custom": 1}, NOW)


# NumericDate and string types -----------------------------------------------------------------


@pytest.mark.parametrize("name", ["exp", "nbf", "iat"])
@pytest.mark.parametrize(
    "value",
    [True, False, str(NOW + 100), [NOW + 100], {"t": NOW}, "", b"1"],
    ids=["true", "false", "numeric-string", "list", "object", "empty-string", "bytes"],
)
def test_numeric_dates_must_be_numbers(name: str, value: Any) -> None:
    with pytest.raises(ClaimError) as info:
        policy().validate(claims(**{name: value}), NOW)
    # Exactly ClaimError: a bool read as 0/1 would surface as Expired/Immature instead.
    assert type(info.value) is ClaimError
    assert info.value.claim == name


@pytest.mark.parametrize("name", ["exp", "iat"])
def test_required_numeric_date_may_not_be_null(name: str) -> None:
    # RFC 7519 4.1.4/4.1.6: the value MUST be a number. A required `exp` of null must not pass
    # as a token that never expires.
    with pytest.raises(ClaimError) as info:
        policy().validate(claims(**{name: None}), NOW)
    assert info.value.claim == name


@pytest.mark.parametrize("name", ["sub", "jti", "iss"])
@pytest.mark.parametrize("value", [None, 1, ["x"], {"a": "b"}, True])
def test_string_claims_must_be_strings(name: str, value: Any) -> None:
    with pytest.raises(ClaimError) as info:
        policy().validate(claims(**{name: value}), NOW)
    assert info.value.claim == name


def test_integer_and_float_dates_are_both_numeric_dates() -> None:
    policy().validate(claims(iat=float(NOW - 1), nbf=float(NOW - 1), exp=float(NOW + 1)), NOW)


# iss ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "iss",
    [
        "https://auth.test/",
        "https://auth.tes",
        "https://auth.test.evil",
        "https://evil.test/https://auth.test",
        "HTTPS://auth.test",
        " https://auth.test",
        "",
    ],
)
def test_iss_must_match_exactly(iss: str) -> None:
    with pytest.raises(IssuerError) as info:
        policy().validate(claims(iss=iss), NOW)
    assert info.value.claim == "iss"
    assert iss not in info.value.message or iss == ""


def test_iss_list_is_not_an_issuer() -> None:
    with pytest.raises(ClaimError) as info:
        policy().validate(claims(iss=[ISS]), NOW)
    assert info.value.claim == "iss"


def test_no_expected_issuer_accepts_any_string_issuer() -> None:
    check = policy(issuer=None)
    check.validate(claims(iss="https://anyone"), NOW)
    with pytest.raises(ClaimError):
        check.validate(claims(iss=5), NOW)


# aud ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "aud",
    [AUD, [AUD], ["other", AUD], [AUD, AUD]],
    ids=["string", "list-of-one", "list-second", "list-duplicate"],
)
def test_audience_accepted(aud: Any) -> None:
    policy().validate(claims(aud=aud), NOW)


@pytest.mark.parametrize(
    "aud",
    ["other", "ap", "api-admin", "API", "", [], ["other"], ["ap", "i"], ["api-admin"]],
    ids=[
        "other",
        "prefix",
        "superstring",
        "case",
        "empty-string",
        "empty-list",
        "list-other",
        "split",
        "list-superstring",
    ],
)
def test_audience_refused(aud: Any) -> None:
    with pytest.raises(AudienceError) as info:
        policy().validate(claims(aud=aud), NOW)
    assert info.value.claim == "aud"


@pytest.mark.parametrize(
    "aud",
    [5, True, {"api": True}, [AUD, 5], [None], [[AUD]]],
    ids=["int", "bool", "object", "list-with-int", "list-with-null", "nested-list"],
)
def test_audience_of_the_wrong_type_is_refused(aud: Any) -> None:
    with pytest.raises(ClaimError) as info:
        policy().validate(claims(aud=aud), NOW)
    assert type(info.value) is ClaimError
    assert info.value.claim == "aud"


def test_missing_audience_is_refused_when_one_is_expected() -> None:
    with pytest.raises(MissingClaimError) as info:
        policy().validate(claims(aud=DELETE), NOW)
    assert info.value.claim == "aud"


@pytest.mark.parametrize("aud", [AUD, [AUD], "anything", ["a", "b"]])
def test_policy_without_audience_refuses_tokens_that_carry_one(aud: Any) -> None:
    # RFC 7519 4.1.3: a principal that does not identify itself with a value in `aud` MUST
    # reject the token.
    with pytest.raises(AudienceError) as info:
        policy(audience=None).validate(claims(aud=aud), NOW)
    assert info.value.claim == "aud"


def test_policy_without_audience_accepts_tokens_without_one() -> None:
    policy(audience=None).validate(claims(aud=DELETE), NOW)


# Policy and errors ----------------------------------------------------------------------------


def test_negative_leeway_is_refused() -> None:
    with pytest.raises(ValueError, match="leeway"):
        policy(leeway=-1)


def test_policy_is_immutable() -> None:
    check = policy()
    with pytest.raises(AttributeError):
        check.leeway = 100  # type: ignore[misc]


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (ClaimError, "invalid_claim"),
        (MissingClaimError, "missing_claim"),
        (ExpiredTokenError, "token_expired"),
        (ImmatureTokenError, "token_not_yet_valid"),
        (AudienceError, "invalid_audience"),
        (IssuerError, "invalid_issuer"),
    ],
)
def test_claim_errors_carry_code_and_claim(error: type[ClaimError], code: str) -> None:
    assert issubclass(error, ClaimError)
    assert error.code == code
    instance = error(claim="exp")
    assert instance.claim == "exp"
    assert instance.message == error.default_message
    assert str(instance) == error.default_message
    assert error("custom", claim="x").message == "custom"
    assert error().claim is None


def test_error_messages_never_contain_claim_values() -> None:
    hostile = "<script>alert(1)</script>"
    cases: list[dict[str, Any]] = [
        claims(iss=hostile),
        claims(aud=hostile),
        claims(aud=[hostile]),
        claims(sub=[hostile]),
        claims(exp=hostile),
    ]
    for token in cases:
        with pytest.raises(ClaimError) as info:
            policy().validate(token, NOW)
        assert hostile not in str(info.value)


# PayloadFactory -------------------------------------------------------------------------------


def factory(**options: Any) -> PayloadFactory:
    settings: dict[str, Any] = {
        "issuer": ISS,
        "audience": AUD,
        "ttl": 300,
        "clock": FrozenClock(float(NOW)),
        **options,
    }
    return PayloadFactory(**settings)


def test_factory_sets_every_registered_claim_from_the_clock() -> None:
    clock = FrozenClock(NOW + 0.7509)
    payload = factory(clock=clock).make("alice")
    assert payload["iss"] == ISS
    assert payload["aud"] == AUD
    assert payload["sub"] == "alice"
    assert payload["iat"] == NOW + 0.75  # milliseconds kept, truncated
    assert payload["nbf"] == NOW
    assert payload["exp"] == NOW + 300
    assert isinstance(payload["nbf"], int)
    assert isinstance(payload["exp"], int)
    assert isinstance(payload["jti"], str)
    assert len(payload["jti"]) >= 16
    assert set(payload) == REGISTERED_CLAIMS
    clock.advance(100)
    later = factory(clock=clock).make("alice")
    assert later["iat"] == NOW + 100.75
    assert later["exp"] == NOW + 400


def test_factory_payload_passes_the_matching_policy() -> None:
    payload = factory().make("alice")
    policy().validate(payload, float(NOW))
    policy().validate(payload, float(NOW + 299))
    with pytest.raises(ExpiredTokenError):
        policy().validate(payload, float(NOW + 300))


def test_per_call_ttl() -> None:
    payload = factory().make("alice", ttl=5)
    assert payload["exp"] - payload["iat"] == 5


@pytest.mark.parametrize("ttl", [0, -1, -300])
def test_non_positive_ttl_is_refused(ttl: int) -> None:
    with pytest.raises(ValueError, match="lifetime"):
        factory().make("alice", ttl=ttl)
    with pytest.raises(ValueError, match="lifetime"):
        factory(ttl=ttl).make("alice")


@pytest.mark.parametrize("subject", ["", None, 5, b"alice"])
def test_subject_must_be_a_non_empty_string(subject: Any) -> None:
    with pytest.raises(ValueError, match="subject"):
        factory().make(subject)


@pytest.mark.parametrize("name", sorted(REGISTERED_CLAIMS))
def test_registered_claims_cannot_be_overridden(name: str) -> None:
    with pytest.raises(ValueError, match="registered claims"):
        factory().make("alice", claims={name: "x", "role": "admin"})


def test_custom_claims_are_added() -> None:
    payload = factory().make("alice", claims={"role": "admin", "scope": ["a", "b"]})
    assert payload["role"] == "admin"
    assert payload["scope"] == ["a", "b"]
    assert payload["sub"] == "alice"


def test_caller_claims_mapping_is_not_modified() -> None:
    extra = {"role": "admin"}
    factory().make("alice", claims=extra)
    assert extra == {"role": "admin"}


def test_jti_is_unique_across_1000_calls() -> None:
    make = factory()
    jtis = {make.make("alice")["jti"] for _ in range(1000)}
    assert len(jtis) == 1000


def test_injected_jti_generator() -> None:
    counter = iter(range(10))
    payload = factory(jti=lambda: f"id-{next(counter)}").make("alice")
    assert payload["jti"] == "id-0"


def test_audience_none_and_list() -> None:
    assert "aud" not in factory(audience=None).make("alice")
    assert factory(audience=["a", "b"]).make("alice")["aud"] == ["a", "b"]
