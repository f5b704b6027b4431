"""Prometheus metrics of one server: credential outcomes, refused tokens, security events.

Each app has its own registry rather than the process-global one, so that two apps in one
process (tests, or an app mounted twice) count apart. Security events are counted by a logging
handler on ``jwtauth.security``: whatever is logged as a security event is counted, with no
second call to keep in step. Labels come from fixed sets (route templates, error codes, event
names), never from request data, so no client can grow the series without bound.
"""

from __future__ import annotations

import logging

from prometheus_client import (
    CollectorRegistry,
    Counter,
    GCCollector,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from starlette.requests import Request

__all__ = ["ServerMetrics", "route_of"]

SECURITY_LOGGER = "jwtauth.security"


class _EventCounter(logging.Handler):
    def __init__(self, counter: Counter) -> None:
        super().__init__(logging.NOTSET)
        self._counter = counter

    def emit(self, record: logging.LogRecord) -> None:
        event = getattr(record, "event", None)
        if isinstance(event, str):
            self._counter.labels(event).inc()


class ServerMetrics:
    """The counters of one server and the registry ``GET /metrics`` renders."""

    def __init__(self) -> None:
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
