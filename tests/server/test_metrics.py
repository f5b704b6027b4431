"""`GET /metrics`: what the server counts, that labels never carry request data, and who may
read it (the scrape token, or an allowed client address resolved through the trusted proxies)."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from jwtauth.config import SECRET_FIELDS, Settings
from jwtauth.errors import ConfigurationError, SecurityWarning, WeakSecretError
from jwtauth.server.metrics import MetricsAccess
from tests.faults import PrivateRedis, private_redis
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


# Who may read them (issue 13, item 2) -------------------------------------------------------------
# Access tests need no particular backend: SQLite with in-process stores.

TOKEN = secrets.token_urlsafe(48)
PUBLIC = "203.0.113.7"
COUNTERS = "jwtauth_auth_outcomes"


def _settings(tmp_path: Path, **overrides: object) -> Settings:
    return Settings.load(state_dir=tmp_path / "state", rate_limits=False, **overrides)


async def _read(client: httpx.AsyncClient, **headers: str) -> httpx.Response:
    return await client.get("/metrics", headers=headers)


async def _assert_hidden(client: httpx.AsyncClient, response: httpx.Response) -> None:
    """Refused exactly as a path that does not exist is answered: status, type and body."""
    unknown = await client.get("/no-such-path", headers=dict(response.request.headers))
    assert response.status_code == 404, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == unknown.json()
    assert COUNTERS not in response.text


async def test_a_client_forwarded_by_the_trusted_proxy_is_refused(
    tmp_path: Path, clean_env: None
) -> None:
    # The attack: a TLS proxy on the same host (the default trusted proxy) makes every
    # internet client a loopback peer; the loopback check of the socket served them all.
    async with serve(_settings(tmp_path), peer="127.0.0.1") as proxy:
        forwarded = await _read(proxy, **{"X-Forwarded-For": PUBLIC})
        await _assert_hidden(proxy, forwarded)
        # The proxy appends the address it received from: a forged loopback entry on the
        # client's side of the list does not help.
        forged = await _read(proxy, **{"X-Forwarded-For": f"127.0.0.1, {PUBLIC}"})
        await _assert_hidden(proxy, forged)


async def test_a_loopback_client_without_a_proxy_is_served(tmp_path: Path, clean_env: None) -> None:
    for peer in ("127.0.0.1", "::1", "127.0.0.5"):
        async with serve(_settings(tmp_path), peer=peer) as local:
            response = await _read(local)
            assert response.status_code == 200, (peer, response.text)
            assert COUNTERS in response.text
    async with serve(_settings(tmp_path), peer=PUBLIC) as stranger:
        await _assert_hidden(stranger, await _read(stranger))


async def test_an_allow_listed_network_is_served_through_the_proxy(
    tmp_path: Path, clean_env: None
) -> None:
    settings = _settings(tmp_path, metrics_allow="10.0.0.0/8, 2001:db8::/32")
    assert settings.metrics_allow == ["10.0.0.0/8", "2001:db8::/32"]
    async with serve(settings, peer="127.0.0.1") as proxy:
        for client in ("10.20.30.40", "2001:db8::7", "::ffff:10.0.0.1"):
            response = await _read(proxy, **{"X-Forwarded-For": client})
            assert response.status_code == 200, (client, response.text)
        await _assert_hidden(proxy, await _read(proxy, **{"X-Forwarded-For": "11.0.0.1"}))
        # The list replaces the default: loopback itself is no longer served.
        await _assert_hidden(proxy, await _read(proxy))
    async with serve(_settings(tmp_path, metrics_allow=""), peer="127.0.0.1") as local:
        await _assert_hidden(local, await _read(local))  # empty: the token only


async def test_the_right_token_is_served_from_anywhere_and_a_wrong_or_missing_one_nowhere(
    tmp_path: Path, clean_env: None
) -> None:
    settings = _settings(tmp_path, metrics_token=TOKEN)
    async with serve(settings, peer=PUBLIC) as stranger:
        right = await _read(stranger, Authorization=f"Bearer {TOKEN}")
        assert right.status_code == 200, right.text
        assert COUNTERS in right.text
        assert (await _read(stranger, Authorization=f"bearer {TOKEN}")).status_code == 200
        for refused in (
            {},
            {"Authorization": f"Bearer {TOKEN[:-1]}"},
            {"Authorization": f"Bearer {TOKEN}x"},
            {"Authorization": "Bearer "},
            {"Authorization": f"Basic {TOKEN}"},
            {"Authorization": TOKEN},
        ):
            await _assert_hidden(stranger, await _read(stranger, **refused))
    async with serve(settings, peer="127.0.0.1") as proxy:
        through = await _read(proxy, Authorization=f"Bearer {TOKEN}", **{"X-Forwarded-For": PUBLIC})
        assert through.status_code == 200, through.text
        await _assert_hidden(proxy, await _read(proxy, **{"X-Forwarded-For": PUBLIC}))
        # A presented token decides alone: a wrong one is refused even from loopback, so a
        # scraper's mistyped token shows at its first scrape, not only once it scrapes from afar.
        await _assert_hidden(proxy, await _read(proxy, Authorization="Bearer wrong-token"))
        assert (await _read(proxy)).status_code == 200  # no token: loopback is allowed


async def test_a_bearer_token_is_refused_when_none_is_configured(
    tmp_path: Path, clean_env: None
) -> None:
    async with serve(_settings(tmp_path), peer="127.0.0.1") as local:
        await _assert_hidden(local, await _read(local, Authorization=f"Bearer {TOKEN}"))


async def test_an_address_behind_a_proxy_we_do_not_believe_is_not_allowed(
    tmp_path: Path, clean_env: None
) -> None:
    # A same-host proxy connecting over ::1, left out of JWTAUTH_TRUSTED_PROXIES: its clients'
    # X-Forwarded-For is not believed, so each of them would be ::1, which the list allows.
    async with serve(_settings(tmp_path), peer="::1") as untrusted:
        await _assert_hidden(untrusted, await _read(untrusted, **{"X-Forwarded-For": PUBLIC}))
    async with serve(_settings(tmp_path), peer="127.0.0.1") as proxy:
        # A proxy naming the client only in headers the resolution does not read.
        for header in ("X-Real-IP", "Forwarded"):
            value = PUBLIC if header == "X-Real-IP" else f"for={PUBLIC}"
            await _assert_hidden(proxy, await _read(proxy, **{header: value}))
    settings = _settings(tmp_path, metrics_allow="10.0.0.0/8")
    async with serve(settings, peer="127.0.0.1") as proxy:
        # A trusted proxy sending X-Real-IP beside X-Forwarded-For (a common nginx setup):
        # the forwarded address is believed and decides.
        both = {"X-Forwarded-For": "10.1.1.1", "X-Real-IP": "10.1.1.1"}
        assert (await _read(proxy, **both)).status_code == 200


async def test_readiness_names_the_failed_store_to_metrics_readers_only(
    tmp_path: Path, clean_env: None, fault_redis: PrivateRedis
) -> None:
    settings = _settings(tmp_path, redis_url=fault_redis.url)
    async with serve(settings, peer="127.0.0.1") as proxy:
        assert (await proxy.get("/readyz")).status_code == 200
        fault_redis.kill()
        local = await proxy.get("/readyz")
        assert local.status_code == 503, local.text
        assert local.json()["checks"] == {"database": True, "revocations": False}
        stranger = await proxy.get("/readyz", headers={"X-Forwarded-For": PUBLIC})
        assert stranger.status_code == 503, stranger.text
        assert stranger.headers["content-type"] == "application/problem+json"
        assert "checks" not in stranger.json()
        assert "revocations" not in stranger.text
    healthz = {"status": "ok"}
    async with serve(_settings(tmp_path), peer=PUBLIC) as stranger_direct:
        assert (await stranger_direct.get("/healthz")).json() == healthz


@pytest.fixture
def fault_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    directory = tmp_path / "redis"
    directory.mkdir()
    with private_redis(directory) as server:
        yield server


@pytest.mark.parametrize("host", ["fastapi", "flask"])
async def test_a_host_application_serves_no_metrics_of_the_embedded_auth(
    tmp_path: Path, clean_env: None, host: str
) -> None:
    # The embedded auth is mounted under /auth and /.well-known only, so its /metrics route is
    # out of the host's reach, even for a loopback client and by way of dot segments.
    async with serve(_settings(tmp_path), peer="127.0.0.1", host=host) as client:
        assert (await client.get("/auth/claims")).status_code == 401  # the auth API is there
        for path in (
            "/metrics",
            "/auth/metrics",
            "/.well-known/metrics",
            "/auth/%2e%2e/metrics",
            "/.well-known/..%2fmetrics",
        ):
            response = await client.get(path)
            assert response.status_code in {401, 404}, (path, response.status_code)
            assert COUNTERS not in response.text


def test_the_token_is_a_secret_held_to_the_secret_rules(tmp_path: Path, clean_env: None) -> None:
    assert "metrics_token" in SECRET_FIELDS
    settings = _settings(tmp_path, metrics_token=TOKEN)
    assert TOKEN in settings.secret_values()  # redacted from every log line (decision 019)
    assert TOKEN not in repr(settings)
    access = MetricsAccess.configure(settings.metrics_allow, settings.metrics_token)
    assert TOKEN not in repr(access)
    for weak in ("metrics", "changeme-changeme-changeme-changeme", "a" * 40, TOKEN[:20]):
        with pytest.raises(WeakSecretError) as refused:
            _settings(tmp_path, env="production", issuer="https://a.example", metrics_token=weak)
        assert "JWTAUTH_METRICS_TOKEN" in str(refused.value)
        assert weak not in str(refused.value)
        with pytest.warns(SecurityWarning, match="JWTAUTH_METRICS_TOKEN"):
            _settings(tmp_path, metrics_token=weak)
    # Nothing a scraper could not send in an Authorization header.
    for unsendable in (TOKEN + " x", TOKEN + "é", f"{TOKEN}\n"):
        with pytest.raises(ConfigurationError, match="JWTAUTH_METRICS_TOKEN") as unsent:
            _settings(tmp_path, metrics_token=unsendable)
        assert TOKEN not in str(unsent.value)


def test_a_malformed_allow_list_is_one_line(tmp_path: Path, clean_env: None) -> None:
    with pytest.raises(ConfigurationError) as refused:
        _settings(tmp_path, metrics_allow="10.0.0.0/8, localhost")
    assert str(refused.value).startswith("JWTAUTH_METRICS_ALLOW: ")
    assert "\n" not in str(refused.value)


async def test_no_token_reaches_the_log(
    tmp_path: Path, clean_env: None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with serve(_settings(tmp_path, metrics_token=TOKEN), peer=PUBLIC) as stranger:
        assert (await _read(stranger, Authorization=f"Bearer {TOKEN}")).status_code == 200
        await _read(stranger, Authorization=f"Bearer {TOKEN[::-1]}")
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert TOKEN not in text
    assert TOKEN[::-1] not in text
