"""What every part of jwtauth shares about its environment: the prefix of its variables, and how
strictly a problem is treated (production refuses it, development warns).

Apart from :mod:`jwtauth.config` so that the modules which take values rather than
:class:`~jwtauth.config.Settings` (the secret and key sources, :mod:`jwtauth.sources`) can name a
setting in a message and refuse or warn alike without importing the settings.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Final

from jwtauth.errors import JWTAuthError, SecurityWarning

__all__ = ["ENV_PREFIX", "STRICT", "Strictness"]

ENV_PREFIX: Final = "JWTAUTH_"
"""The prefix of every jwtauth environment variable (``JWTAUTH_SECRET``, ...)."""


@dataclass(frozen=True, slots=True)
class Strictness:
    """How a problem that production refuses is treated: raised, or (development) warned about."""

    production: bool

    def refuse_or_warn(self, error: JWTAuthError, stacklevel: int = 3) -> None:
        """Raise ``error`` in production; in development warn with a SecurityWarning instead."""
        if self.production:
            raise error
        warnings.warn(
            f"{error.message} (refused in production)", SecurityWarning, stacklevel=stacklevel
        )


STRICT: Final = Strictness(production=True)
"""Production's strictness: every problem refused (the default of the sources' values)."""
