"""How a secrets manager may be reached: ``https``, or plain ``http`` to a loopback address only.

Shared by the Vault and AWS clients (:mod:`jwtauth.sources.vault`, :mod:`jwtauth.sources.aws`)
and kept apart from :mod:`jwtauth.sources.remote`, which imports those clients lazily.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from jwtauth.environment import Strictness
from jwtauth.errors import ConfigurationError

__all__ = ["check_transport"]


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_transport(strictness: Strictness, setting: str, url: str) -> None:
    """Refuse (production) or warn about a secrets-manager URL that is not ``https``.

    Plain ``http`` is accepted to a loopback address only (a local Vault Agent or proxy): to any
    other host the credential and the secret would cross the network in clear.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(f"{setting} must be an http(s) URL")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        strictness.refuse_or_warn(
            ConfigurationError(
                f"{setting} uses plain http to a remote host; use https so that the credential "
                "and the secret are not sent in clear"
            )
        )
