"""Email normalisation: one account per address, however it is spelled (issue 13 item 14)."""

from __future__ import annotations

import unicodedata

import pytest

from jwtauth.auth.identity import normalise_email


def fullwidth(text: str) -> str:
    """``text`` in the fullwidth forms (U+FF01..U+FF5E) of its ASCII characters."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        # ASCII: exactly what earlier versions stored (trimmed, lower-cased).
        ("alice@example.com", "alice@example.com"),
        ("  Alice.Smith+Tag@Example.COM\n", "alice.smith+tag@example.com"),
        ("BOB_99@sub.example.org", "bob_99@sub.example.org"),
    ],
)
def test_ascii_addresses_keep_their_earlier_normal_form(typed: str, stored: str) -> None:
    assert normalise_email(typed) == stored


@pytest.mark.parametrize(
    "spelling",
    [
        fullwidth("alice") + "@example.com",
        fullwidth("Alice@Example.com"),  # the fullwidth at sign and full stop too
        "ali\u200bce@example.com",  # zero-width space
        "\u200ealice@exam\u00adple.com\u2060",  # left-to-right mark, soft hyphen, word joiner
        "\ufeffALICE@EXAMPLE.COM",  # byte order mark
    ],
)
def test_look_alike_spellings_name_the_same_account(spelling: str) -> None:
    assert normalise_email(spelling) == "alice@example.com"


@pytest.mark.parametrize(
    "spoof",
    [
        "\u0430lice@example.com",  # Cyrillic a
        "alic\u0435@example.com",  # Cyrillic e
        "b\u03bfb@example.com",  # Greek omicron
        "p\u0430yp\u0430l@example.com",
        fullwidth("p") + "\u0430ypal@example.com",  # fullwidth Latin then Cyrillic
    ],
)
def test_a_local_part_mixing_look_alike_scripts_is_refused_without_quoting_it(spoof: str) -> None:
    with pytest.raises(ValueError, match="different scripts") as refused:
        normalise_email(spoof)
    assert spoof not in str(refused.value)
    assert "@" not in str(refused.value)


@pytest.mark.parametrize(
    "address",
    [
        "\u0438\u0432\u0430\u043d@example.ru",  # wholly Cyrillic: a real address, kept
        "\u03b3\u03b9\u03ac\u03bd\u03bd\u03b7\u03c2@example.gr",  # wholly Greek
        "tanaka\u592a\u90ce@example.jp",  # Latin beside Han imitates nothing
        "\u592a\u90ce\u30c6\u30b9\u30c8@example.jp",  # Han with katakana: one writing system
        "jos\u00e9@example.com",  # accented Latin
        "user.42+x@example.com",  # digits and punctuation belong to no script
    ],
)
def test_addresses_in_one_writing_system_are_accepted(address: str) -> None:
    assert normalise_email(address) == address


def test_the_domain_is_lower_cased_not_case_folded() -> None:
    # Under UTS #46 non-transitional processing (what email-validator applies) strasse.de and
    # stra\u00dfe.de are two domains: casefolding would merge their users' accounts.
    assert normalise_email("Bob@STRA\u00dfE.de") == "bob@stra\u00dfe.de"


def test_the_result_is_a_fixed_point_in_nfkc() -> None:
    for typed in ("\u0130stanbul@example.tr", fullwidth("Bob") + "@example.com", "e\u0301@x.org"):
        once = normalise_email(typed)
        assert normalise_email(once) == once
        assert unicodedata.is_normalized("NFKC", once)
