"""The password policy: length bounds, the common-password list, the guessability estimate."""

from __future__ import annotations

import pytest

from jwtauth.auth.passwords import PasswordPolicy
from jwtauth.errors import WeakPasswordError

POLICY = PasswordPolicy()


@pytest.mark.parametrize(
    "password",
    [
        "correct horse battery staple",
        "lantern-quarry-obelisk-mauve",
        "Vt9#qLm2$wXr7!pZ",
        "x" * 20 + "Q7!p" + "lantern quarry obelisk",  # longer than zxcvbn's 72 is fine too
    ],
)
def test_strong_passwords_pass(password: str) -> None:
    POLICY.check(password)


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short1!", "at least 12"),
        ("a" * 257, "at most 256"),
        ("abababababababab", "too few characters"),
        # In zxcvbn's list of the most common passwords, however they are cased or spaced.
        ("qwertyuiop123", "most commonly used"),
        ("Password1234", "most commonly used"),
        ("1q2w3e4r5t6y", "most commonly used"),
        ("Q W E R T Y U I O P 1 2 3", "most commonly used"),
        # Not in the list, but guessable: a keyboard walk, a dictionary word with a date.
        ("qwertyuiop[]\\", "too easy to guess"),
        ("Winter2023Winter2023", "too easy to guess"),
    ],
)
def test_weak_passwords_are_refused_with_a_reason_that_does_not_quote_them(
    password: str, reason: str
) -> None:
    with pytest.raises(WeakPasswordError) as refused:
        POLICY.check(password)
    assert reason in refused.value.message
    assert password not in refused.value.message


def test_the_account_itself_counts_as_a_known_word() -> None:
    password = "alice.smith@example.com"
    POLICY.check(password)  # strong enough for a stranger
    with pytest.raises(WeakPasswordError, match="too easy to guess"):
        POLICY.check(password, context=["Alice.Smith@example.com"])


def test_the_length_floor_is_configurable_and_the_estimate_can_be_switched_off() -> None:
    lenient = PasswordPolicy(min_length=8, min_score=0)
    lenient.check("Winter2023Winter2023")
    lenient.check("k8#Zq!4m")
    with pytest.raises(WeakPasswordError, match="most commonly used"):
        lenient.check("password1234")  # the list applies even with the estimate off
