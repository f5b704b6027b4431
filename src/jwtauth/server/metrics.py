"""Prometheus metrics of one server: credential outcomes, refused tokens, security events.

Each app has its own registry rather than the process-global one, so that two apps in one
process (tests, or an app mounted twice) count apart. Security events are counted by a logging
handler on ``jwtauth.security``: whatever is logged as a security event is counted, with no
second call to keep in step. Labels come from fixed sets (route templates, error codes, event
names), never from request data, so no client can grow the series without bound.

Who may read them is :class:`MetricsAccess`'s answer: the counters say which refusals an attack
is getting and the process collectors describe the host, so they are for scrapers, not for
every client a proxy forwards.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from prometheus_client import (
    CollectorRegistry,
    Counter,
    GCCollector,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from pydantic import SecretStr
from starlette.requests import Request

from jwtauth.ratelimit.addresses import TrustedProxies

__all__ = ["LOOPBACK", "MetricsAccess", "ServerMetrics", "route_of"]

SECURITY_LOGGER = "jwtauth.security"

LOOPBACK = ("127.0.0.0/8", "::1")
"""The networks served ``GET /metrics`` without a token by default (``JWTAUTH_METRICS_ALLOW``)."""

_BEARER = re.compile(r"bearer +(\S+) *", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class MetricsAccess:
    """Who may read ``GET /metrics`` (and which store failed, on ``/readyz``).

    A request that presents a bearer token is judged by the token alone: served when it is the
    configured one, refused when it is not or none is configured, whatever the address, so
    that a wrong scrape token shows at the first scrape, not only from afar. Without a token,
    the client's address decides: it must be in ``allow``. The caller resolves it through the
    trusted proxies, as for the rate limits, so a proxy on the same host does not make every
    client loopback.
    """

    allow: TrustedProxies
    # SHA-256 of the token: compare_digest then compares equal lengths, and no repr, pickle or
    # traceback of this object holds the token itself.
    token_digest: bytes | None = field(default=None, repr=False)

    @classmethod
    def configure(
        cls, allow: Iterable[str] = LOOPBACK, token: SecretStr | None = None
    ) -> MetricsAccess:
        """From ``JWTAUTH_METRICS_ALLOW`` and ``JWTAUTH_METRICS_TOKEN``.

        Raises:
            ValueError: an entry of ``allow`` that is not an address or a CIDR range.
        """
        digest = None if token is None else _digest(token.get_secret_value())
        return cls(TrustedProxies.parse(allow), digest)

    def permits(self, address: str | None, authorization: str | None) -> bool:
        """Whether a client at ``address`` (``None``: not known) sending this
        ``Authorization`` header (``None``: none) may read the metrics."""
        if authorization is not None:
            match = _BEARER.fullmatch(authorization)
            if match is not None:
                return self.token_digest is not None and hmac.compare_digest(
                    _digest(match.group(1)), self.token_digest
                )
        return address is not None and address in self.allow


def _digest(token: str) -> bytes:
    # Header values arrive as latin-1 text; a configured token is ASCII (Settings checks it).
    return hashlib.sha256(token.encode("latin-1", "replace")).digest()


class _EventCounter(logging.Handler):
    def __init__(self, counter: Counter) -> None:
        super().__init__(logging.NOTSET)
        self._counter = counter

    def emit(self, record: logging.LogRecord) -> None:
        event = getattr(record, "event", None)
        if isinstance(event, str):
            self._counter.labels(event).inc()


class ServerMetrics:
    """The counters of one server, the registry ``GET /metrics`` renders and who may read it
    (loopback clients only, unless ``access`` says otherwise)."""

    def __init__(self, access: MetricsAccess | None = None) -> None:
        self.access = access if access is not None else MetricsAccess.configure()
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        self.outcomes = Counter(
            "jwtauth_auth_outcomes",
            "Results of login, refresh and password change, by route and outcome",
            ["route", "outcome"],
            registry=self.registry,
        )
        self.refused_tokens = Counter(
            "jwtauth_refused_tokens",
            "Bearer tokens refused, by reason",
            ["reason"],
            registry=self.registry,
        )
        self.security_events = Counter(
            "jwtauth_security_events",
            "Security events logged on jwtauth.security, by event",
            ["event"],
            registry=self.registry,
        )
        self._handler = _EventCounter(self.security_events)

    def start(self) -> None:
        """Begin counting security events (the app's lifespan calls this)."""
        logging.getLogger(SECURITY_LOGGER).addHandler(self._handler)

    def stop(self) -> None:
        """Stop counting security events."""
        logging.getLogger(SECURITY_LOGGER).removeHandler(self._handler)

    def render(self) -> bytes:
        """The Prometheus text exposition of this registry."""
        return generate_latest(self.registry)


def route_of(request: Request) -> str:
    """The matched route's template (``/auth/sessions/{session_id}``, never the raw path)."""
    route = request.scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"
