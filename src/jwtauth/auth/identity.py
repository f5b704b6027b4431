"""Which account an email address names: one normal form, so that look-alike spellings of an
address cannot open a second account beside it.

:func:`normalise_email` is what the store keeps, what login looks up, what the lockout hashes
and what the per-account rate limit counts, so every one of them agrees on the account.

The rules, kept deliberately simple:

* Unicode format characters (category Cf: zero-width spaces and joiners, bidi controls, soft
  hyphens) are removed: they draw nothing, and a mail server may well drop them too.
* NFKC: ``alice`` in fullwidth forms (U+FF41...) is ``alice``, the fullwidth at sign is ``@``.
* Surrounding whitespace is trimmed and the whole address lower-cased, as before: for an ASCII
  address the result is exactly what earlier versions stored. ``str.lower`` rather than
  ``casefold``: casefolding turns ``ß`` into ``ss``, which in a domain (IDNA 2008, UTS #46
  non-transitional, what ``email-validator`` applies at the HTTP edge) names another domain.
* A local part that mixes scripts in a confusable way is refused (``ValueError``): one whose
  letters come from more than one script (Common and Inherited characters such as digits and
  ``.`` do not count; Han with kana, or Han with Hangul, is one writing system) **and** that
  the UTS #39 skeleton changes, i.e. that has a letter imitating one of another script (a
  Cyrillic U+0430 for the ``a`` of ``alice``). ``tanaka太郎`` mixes scripts, imitates nothing,
  and passes.

Not covered, on purpose: a local part written wholly in one script that happens to look like
another (Cyrillic U+0430 U+0435 U+043E U+0440 beside Latin ``aeop``) is a real address in that
script and is kept; domains are left to the registries, whose IDN tables generally refuse
mixed-script labels.
"""

from __future__ import annotations

import unicodedata

from disarm import is_mixed_script, skeleton_key

__all__ = ["normalise_email"]


def normalise_email(email: str) -> str:
    """The account an email names: format characters removed, NFKC, trimmed and lower-cased;
    as stored, looked up and rate-limited.

    Raises:
        ValueError: the local part mixes scripts in a confusable way; the message never
            quotes the address.
    """
    visible = "".join(c for c in email if unicodedata.category(c) != "Cf")
    # NFKC again after lower-casing: lower() can leave a decomposed sequence (U+0130 becomes
    # i and a combining dot), and the stored form must be one fixed point.
    normal = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", visible).strip().lower())
    local, at, _domain = normal.rpartition("@")
    if _imitates(local if at else normal):
        raise ValueError(
            "The email address mixes letters of different scripts that look alike; "
            "type it in one script."
        )
    return normal


def _imitates(local: str) -> bool:
    return is_mixed_script(local) and skeleton_key(local) != local
