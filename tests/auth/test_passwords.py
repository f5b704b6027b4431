"""The password policy: length bounds, the common-password list, the guessability estimate."""

from __future__ import annotations

import unicodedata

import pytest

from jwtauth.auth.passwords import PasswordHasher, PasswordPolicy, password_skeleton
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


# Issue 13 item 14: each of these passed the policy while it judged the password as typed.
@pytest.mark.parametrize(
    ("password", "reason"),
    [
        (" " * 12, "only spaces"),
        ("\u3000" * 12, "only spaces"),  # ideographic spaces: NFKC makes them plain ones
        ("\u200b" * 12, "only spaces"),  # zero-width spaces count for nothing
        ("\t \n" * 4, "only spaces"),
        # Twelve different whitespace characters: enough distinct ones for the old rule.
        (" \t\n\r\x0b\x0c\u00a0\u2002\u2003\u2009\u3000\u205f", "only spaces"),
        # Fullwidth forms are what NFKC folds to ASCII.
        ("".join(chr(ord(c) + 0xFEE0) for c in "password1234"), "most commonly used"),
        ("pass\u200bword1234", "most commonly used"),  # zero-width space
        ("pass\u200dword\u2060" + "1234", "most commonly used"),  # joiner, word joiner
        ("pas\u0301sword1234", "most commonly used"),  # combining acute: composes to U+015B
        ("password\u034f1234", "most commonly used"),  # combining grapheme joiner
        ("\u0440assword1234", "most commonly used"),  # Cyrillic er for the Latin p
        ("p\u0430ssw\u043erd1234", "most commonly used"),  # Cyrillic a and o
        ("\u03c1assword1234", "most commonly used"),  # Greek rho
        # Invisible and combining code points do not make a short password long enough.
        ("k8#Zq!4m" + "\u200b" * 4, "at least 12"),
        ("k8#Zq!4m" + "\u0301" * 4, "at least 12"),
        ("k8#Zq!4m" + "\u00ad\u200e\u202e\ufeff", "at least 12"),
    ],
)
def test_look_alike_and_invisible_forms_are_judged_as_what_they_imitate(
    password: str, reason: str
) -> None:
    with pytest.raises(WeakPasswordError) as refused:
        POLICY.check(password)
    assert reason in refused.value.message
    assert password not in refused.value.message


def test_the_skeleton_folds_what_the_policy_must_see_through() -> None:
    fullwidth = "".join(chr(ord(c) + 0xFEE0) for c in "Password1234")
    for variant in (fullwidth, "Pass\u200bword1234", "\u0420assword1234", "PASSWORD1234"):
        assert password_skeleton(variant) == "password1234"
    assert password_skeleton("  correct   horse ") == "correct horse"


def test_non_latin_passphrases_still_pass() -> None:
    # Folding is for judging: a strong passphrase in another script is not refused for it.
    # "the cat sleeps on the barn roof", in Cyrillic (escaped: its letters are look-alikes)
    cat = "\u043a\u043e\u0442 \u0441\u043f\u0438\u0442 \u043d\u0430"
    POLICY.check(cat + " \u043a\u0440\u044b\u0448\u0435 \u0441\u0430\u0440\u0430\u044f")
    POLICY.check("caf\u00e9 cr\u00e8me br\u00fbl\u00e9e quarry")


@pytest.mark.anyio
async def test_the_hash_is_of_the_password_as_typed_not_of_its_skeleton() -> None:
    # Existing hashes were made from the typed password: changing the input locks users out.
    hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    typed = "Caf\u0065\u0301 crème quarry"  # decomposed e + acute, as some keyboards send it
    stored = await hasher.hash(typed)
    assert await hasher.verify(stored, typed)
    assert not await hasher.verify(stored, password_skeleton(typed))
    assert not await hasher.verify(stored, unicodedata.normalize("NFC", typed))
