"""`GET /metrics`: what the server counts, and that labels never carry request data."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from jwtauth.config import Settings
from tests.server.support import PASSWORD, Api, bearer, serve

pytestmark = pytest.mark.anyio


async def _samples(
    client: httpx.AsyncClient,
) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


async def test_credential_outcomes_refusals_and_security_events_are_counted(
    server_settings: Settings,
) -> None:
    async with serve(server_settings, peer="127.0.0.1") as client:
        api = Api(client)
        tokens = await api.register_and_login()
        wrong = await client.post(
            "/auth/login", json={"email": "alice@example.com", "password": PASSWORD + "x"}
        )
        assert wrong.status_code == 401
        rotated = await api.refresh(tokens["refresh_token"])
        assert rotated.status_code == 200
        assert (await api.refresh(tokens["refresh_token"])).status_code == 401  # reuse
        assert (await api.me(tokens["access_token"][:-4] + "AAAA")).status_code == 401
        assert (await client.get("/auth/claims")).status_code == 401
        fresh = await api.login()
        gone = await client.delete(
            "/auth/sessions/no-such-session", headers=bearer(fresh["access_token"])
        )
        assert gone.status_code == 404
        samples = await _samples(client)

    def count(name: str, **labels: str) -> float:
        return samples.get((name, tuple(sorted(labels.items()))), 0.0)

    outcomes = "jwtauth_auth_outcomes_total"
    assert count(outcomes, route="/auth/login", outcome="ok") == 2
    assert count(outcomes, route="/auth/login", outcome="invalid_credentials") == 1
    assert count(outcomes, route="/auth/refresh", outcome="ok") == 1
    assert count(outcomes, route="/auth/refresh", outcome="invalid_refresh_token") == 1
    assert count("jwtauth_security_events_total", event="refresh_token_reuse") == 1
    assert count("jwtauth_refused_tokens_total", reason="bad_signature") == 1
    assert count("jwtauth_refused_tokens_total", reason="missing_token") == 1
    labels = {value for (_, pairs) in samples for (_, value) in pairs}
    assert not any("alice" in value or "no-such-session" in value for value in labels)


async def test_each_app_counts_its_own(server_settings: Settings) -> None:
    async with serve(server_settings, peer="127.0.0.1") as first:
        assert (await first.get("/auth/claims")).status_code == 401
        async with serve(server_settings, peer="127.0.0.1") as second:
            samples = await _samples(second)
    missing = ("jwtauth_refused_tokens_total", (("reason", "missing_token"),))
    assert samples.get(missing, 0.0) == 0.0
