"""Reading a key or secret file under the secret-file rule: refused in production (warned in
development) when other users can read it or another user owns it.

Apart from :mod:`jwtauth.sources.loading` because the secrets-manager clients read their
credential files by the same rule, and loading imports them.
"""

from __future__ import annotations

from pathlib import Path

from jwtauth.environment import Strictness
from jwtauth.errors import InsecureKeyFileError
from jwtauth.files import read_private_file

__all__ = ["read_key_file"]


def read_key_file(path: Path, strictness: Strictness) -> bytes:
    """Read a key or secret file; refuse (production) or warn about (development) a file that
    other users can read or that another user owns. Check and read use one descriptor."""
    data, problem = read_private_file(path)
    if problem is not None:
        strictness.refuse_or_warn(InsecureKeyFileError(f"key file {problem.message}"))
    return data
