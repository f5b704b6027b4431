"""The TOTP second factor over HTTP, on each backend: enrol, confirm, the login challenge,
verify with a code or a recovery code, single use of both, token types kept apart, the rate
limit, disable, and JWTAUTH_MFA=false. Codes come from pyotp at the service's frozen clock."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pyotp
import pytest
from fastapi import FastAPI

from jwtauth.auth.mfa import MfaService, second_factor_key
from jwtauth.config import Settings
from jwtauth.server import create_app
from jwtauth.testing import FrozenClock
from tests.server.support import CLIENT_IP, FAST_HASHER, PASSWORD, Api, bearer

pytestmark = pytest.mark.anyio

EMAIL = "alice@example.com"
TOKEN_PAIR_KEYS = {
    "access_token",
    "refresh_token",
    "token_type",
    "expires_in",
    "refresh_expires_in",
}


@dataclass
class Server:
    client: httpx.AsyncClient
    app: FastAPI
    clock: FrozenClock

    @property
    def mfa(self) -> MfaService:
        service = self.app.state.jwtauth.mfa
        assert isinstance(service, MfaService)
        return service


@asynccontextmanager
async def serve(settings: Settings, peer: str = CLIENT_IP) -> AsyncIterator[Server]:
    """The app, started, with its second factor on a frozen clock set to now."""
    app = create_app(settings, hasher=FAST_HASHER)
    transport = httpx.ASGITransport(app=app, client=(peer, 40000))
    clock = FrozenClock(time.time())
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as http,
    ):
        mfa = app.state.jwtauth.mfa
        if mfa is not None:
            mfa.clock = clock
        yield Server(http, app, clock)


@pytest.fixture
async def server(server_settings: Settings) -> AsyncIterator[Server]:
    async with serve(server_settings) as running:
        yield running


@dataclass
class Enrolled:
    secret: str
    recovery_codes: list[str]
    access_token: str

    def code(self, clock: FrozenClock) -> str:
        return pyotp.TOTP(self.secret).at(clock.now)


async def enrol(server: Server) -> Enrolled:
    """Register, log in, enrol and confirm; the clock then moves to the next step."""
    return await enrol_logged_in(server, await Api(server.client).register_and_login(EMAIL))


async def enrol_logged_in(server: Server, pair: dict[str, Any]) -> Enrolled:
    """Enrol and confirm with this session's access token; the clock then moves a step on."""
    started = await server.client.post(
        "/auth/mfa/totp/enroll", json={"password": PASSWORD}, headers=bearer(pair["access_token"])
    )
    assert started.status_code == 200, started.text
    secret = started.json()["secret"]
    code = pyotp.TOTP(secret).at(server.clock.now)
    confirmed = await server.client.post(
        "/auth/mfa/totp/confirm", json={"code": code}, headers=bearer(pair["access_token"])
    )
    assert confirmed.status_code == 200, confirmed.text
    server.clock.advance(30)  # the confirming code's step is spent
    return Enrolled(secret, confirmed.json()["recovery_codes"], pair["access_token"])


async def challenge(server: Server) -> str:
    answer = await server.client.post("/auth/login", json={"email": EMAIL, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body == {"mfa_required": True, "mfa_token": body["mfa_token"], "expires_in": 300}
    token: str = body["mfa_token"]
    return token


async def verify(server: Server, mfa_token: str, **factor: str) -> httpx.Response:
    return await server.client.post(
        "/auth/mfa/totp/verify", json={"mfa_token": mfa_token, **factor}
    )


def segment(token: str, index: int) -> dict[str, Any]:
    part = token.split(".")[index]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return decoded


def assert_problem(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == f"urn:jwtauth:problem:{code}"


# The flow --------------------------------------------------------------------------------------


async def test_enrol_confirm_then_login_needs_the_code(server: Server) -> None:
    pair = await Api(server.client).register_and_login(EMAIL)
    auth = bearer(pair["access_token"])
    refused = await server.client.post(
        "/auth/mfa/totp/enroll", json={"password": "not-the-password"}, headers=auth
    )
    assert_problem(refused, 401, "invalid_credentials")  # a stolen token alone cannot enrol
    started = await server.client.post(
        "/auth/mfa/totp/enroll", json={"password": PASSWORD}, headers=auth
    )
    assert started.status_code == 200
    secret = started.json()["secret"]
    assert started.json()["otpauth_uri"] == (
        f"otpauth://totp/127.0.0.1:alice%40example.com?secret={secret}&issuer=127.0.0.1"
    )
    # Restarting while unconfirmed gives a new secret; the first one no longer confirms.
    restarted = (
        await server.client.post("/auth/mfa/totp/enroll", json={"password": PASSWORD}, headers=auth)
    ).json()
    assert restarted["secret"] != secret
    stale = pyotp.TOTP(secret).at(server.clock.now)
    refused = await server.client.post("/auth/mfa/totp/confirm", json={"code": stale}, headers=auth)
    assert_problem(refused, 401, "invalid_mfa_code")
    code = pyotp.TOTP(restarted["secret"]).at(server.clock.now)
    confirmed = await server.client.post(
        "/auth/mfa/totp/confirm", json={"code": code}, headers=auth
    )
    assert confirmed.status_code == 200
    codes = confirmed.json()["recovery_codes"]
    assert len(codes) == len(set(codes)) == 10

    mfa_token = await challenge(server)
    assert segment(mfa_token, 0)["typ"] == "mfa+jwt"
    server.clock.advance(30)
    passed = await verify(
        server, mfa_token, code=pyotp.TOTP(restarted["secret"]).at(server.clock.now)
    )
    assert passed.status_code == 200, passed.text
    tokens = passed.json()
    assert set(tokens) == TOKEN_PAIR_KEYS
    assert segment(tokens["access_token"], 1)["amr"] == ["pwd", "otp"]
    assert (await Api(server.client).me(tokens["access_token"])).status_code == 200
    assert (await Api(server.client).refresh(tokens["refresh_token"])).status_code == 200


async def test_a_user_without_totp_gets_the_token_pair(server: Server) -> None:
    pair = await Api(server.client).register_and_login(EMAIL)
    assert set(pair) == TOKEN_PAIR_KEYS
    assert "amr" not in segment(pair["access_token"], 1)


async def test_a_code_is_drift_tolerant_by_one_step_only(server: Server) -> None:
    enrolled = await enrol(server)
    totp = pyotp.TOTP(enrolled.secret)
    too_old = totp.at(server.clock.now - 60)
    assert_problem(
        await verify(server, await challenge(server), code=too_old), 401, "invalid_mfa_code"
    )
    late = totp.at(server.clock.now + 30)  # the phone's clock is a step ahead
    assert (await verify(server, await challenge(server), code=late)).status_code == 200


async def test_a_totp_code_works_once(server: Server) -> None:
    enrolled = await enrol(server)
    code = enrolled.code(server.clock)
    assert (await verify(server, await challenge(server), code=code)).status_code == 200
    replayed = await verify(server, await challenge(server), code=code)
    assert_problem(replayed, 401, "invalid_mfa_code")
    # An older step than the newest one spent is refused too, though still in the window.
    older = pyotp.TOTP(enrolled.secret).at(server.clock.now - 30)
    assert_problem(
        await verify(server, await challenge(server), code=older), 401, "invalid_mfa_code"
    )


async def test_a_challenge_works_once(server: Server) -> None:
    enrolled = await enrol(server)
    mfa_token = await challenge(server)
    assert (await verify(server, mfa_token, code=enrolled.code(server.clock))).status_code == 200
    server.clock.advance(30)
    reused = await verify(server, mfa_token, code=enrolled.code(server.clock))
    assert_problem(reused, 401, "invalid_mfa_challenge")


async def test_a_wrong_code_leaves_the_challenge_usable(server: Server) -> None:
    enrolled = await enrol(server)
    mfa_token = await challenge(server)
    wrong = f"{(int(enrolled.code(server.clock)) + 1) % 1_000_000:06d}"
    assert_problem(await verify(server, mfa_token, code=wrong), 401, "invalid_mfa_code")
    assert (await verify(server, mfa_token, code=enrolled.code(server.clock))).status_code == 200


async def test_a_recovery_code_works_once_in_place_of_the_code(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    enrolled = await enrol(server)
    typed = enrolled.recovery_codes[3].upper().replace("-", " ")  # as read off paper
    with caplog.at_level(logging.WARNING, logger="jwtauth.security"):
        passed = await verify(server, await challenge(server), recovery_code=typed)
        assert passed.status_code == 200
        assert segment(passed.json()["access_token"], 1)["amr"] == ["pwd", "otp"]
        again = await verify(
            server, await challenge(server), recovery_code=enrolled.recovery_codes[3]
        )
    assert_problem(again, 401, "invalid_mfa_code")
    events = [getattr(r, "event", None) for r in caplog.records]
    assert events.count("mfa_recovery_code_used") == 1
    assert events.count("mfa_failed") == 1
    logged = " ".join(r.getMessage() + str(r.__dict__) for r in caplog.records)
    assert enrolled.recovery_codes[3] not in logged
    assert typed not in logged


async def test_one_challenge_buys_one_session_however_many_codes_race(server: Server) -> None:
    enrolled = await enrol(server)
    mfa_token = await challenge(server)
    answers = await asyncio.gather(
        *(verify(server, mfa_token, recovery_code=c) for c in enrolled.recovery_codes[:3]),
        verify(server, mfa_token, code=enrolled.code(server.clock)),
    )
    assert sorted(a.status_code for a in answers) == [200, 401, 401, 401]
    for refused in (a for a in answers if a.status_code != 200):
        assert_problem(refused, 401, "invalid_mfa_challenge")
    # The losers' recovery codes were not spent: each still buys a session of its own.
    winner = answers.index(next(a for a in answers if a.status_code == 200))
    for index, code in enumerate(enrolled.recovery_codes[:3]):
        if index != winner:
            passed = await verify(server, await challenge(server), recovery_code=code)
            assert passed.status_code == 200, passed.text


async def test_wrong_codes_on_one_challenge_are_checked_one_at_a_time(server: Server) -> None:
    # Rate limits off: a burst of guesses at one challenge cannot get more than one evaluated
    # at once, nor more than the lockout's threshold in all.
    enrolled = await enrol(server)
    mfa_token = await challenge(server)
    right = int(enrolled.code(server.clock))
    wrong = [f"{(right + n) % 1_000_000:06d}" for n in range(1, 41)]
    answers = await asyncio.gather(*(verify(server, mfa_token, code=c) for c in wrong))
    evaluated = [a for a in answers if a.json()["type"].endswith(":invalid_mfa_code")]
    assert 1 <= len(evaluated) <= 10
    assert all(a.status_code == 401 for a in answers)


async def test_verify_takes_exactly_one_factor(server: Server) -> None:
    enrolled = await enrol(server)
    mfa_token = await challenge(server)
    both = await verify(
        server,
        mfa_token,
        code=enrolled.code(server.clock),
        recovery_code=enrolled.recovery_codes[0],
    )
    assert_problem(both, 422, "validation_error")
    assert_problem(await verify(server, mfa_token), 422, "validation_error")
    assert (await verify(server, mfa_token, code=enrolled.code(server.clock))).status_code == 200


# Token types -----------------------------------------------------------------------------------


async def test_a_challenge_is_not_an_access_token(server: Server) -> None:
    await enrol(server)
    mfa_token = await challenge(server)
    refused = await Api(server.client).me(mfa_token)
    assert_problem(refused, 401, "wrong_token_type")
    # Its audience is not the access tokens' either, for verifiers that ignore `typ`.
    assert segment(mfa_token, 1)["aud"] != "jwtauth"
    assert (await server.client.get("/auth/claims", headers=bearer(mfa_token))).status_code == 401


async def test_an_access_token_is_not_a_challenge(server: Server) -> None:
    enrolled = await enrol(server)
    refused = await verify(server, enrolled.access_token, code=enrolled.code(server.clock))
    assert_problem(refused, 401, "invalid_mfa_challenge")


async def test_a_forged_or_expired_challenge_is_refused(server: Server) -> None:
    enrolled = await enrol(server)
    mfa_token = await challenge(server)
    header, payload, signature = mfa_token.split(".")
    claims = segment(mfa_token, 1)
    other = base64.urlsafe_b64encode(json.dumps({**claims, "sub": "0" * 32}).encode())
    forged = f"{header}.{other.decode().rstrip('=')}.{signature}"
    assert_problem(
        await verify(server, forged, code=enrolled.code(server.clock)), 401, "invalid_mfa_challenge"
    )
    tampered = f"{header}.{payload}.{signature[:-4]}AAAA"
    assert_problem(
        await verify(server, tampered, code=enrolled.code(server.clock)),
        401,
        "invalid_mfa_challenge",
    )
    server.mfa.tokens.clock = lambda: time.time() + 301  # five minutes and a second later
    expired = await verify(server, mfa_token, code=enrolled.code(server.clock))
    assert_problem(expired, 401, "invalid_mfa_challenge")


# State changes ---------------------------------------------------------------------------------


async def test_enrol_and_confirm_refuse_when_totp_is_already_on(server: Server) -> None:
    enrolled = await enrol(server)
    auth = bearer(enrolled.access_token)
    assert_problem(
        await server.client.post(
            "/auth/mfa/totp/enroll", json={"password": PASSWORD}, headers=auth
        ),
        409,
        "mfa_already_enabled",
    )
    again = await server.client.post(
        "/auth/mfa/totp/confirm", json={"code": enrolled.code(server.clock)}, headers=auth
    )
    assert_problem(again, 409, "mfa_already_enabled")


async def test_confirm_without_an_enrolment_is_409(server: Server) -> None:
    pair = await Api(server.client).register_and_login(EMAIL)
    refused = await server.client.post(
        "/auth/mfa/totp/confirm", json={"code": "123456"}, headers=bearer(pair["access_token"])
    )
    assert_problem(refused, 409, "mfa_not_enrolled")


async def test_disable_needs_the_password_and_a_code_and_restores_plain_login(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="jwtauth.security"):
        enrolled = await enrol(server)
        auth = bearer(enrolled.access_token)
        code = enrolled.code(server.clock)
        wrong = await server.client.post(
            "/auth/mfa/totp/disable", json={"password": PASSWORD + "x", "code": code}, headers=auth
        )
        assert_problem(wrong, 401, "invalid_credentials")
        # A stolen token and a phished password are not enough: the second factor is asked.
        no_code = await server.client.post(
            "/auth/mfa/totp/disable", json={"password": PASSWORD}, headers=auth
        )
        assert no_code.status_code == 422
        bad = f"{(int(code) + 1) % 1_000_000:06d}"
        wrong_code = await server.client.post(
            "/auth/mfa/totp/disable", json={"password": PASSWORD, "code": bad}, headers=auth
        )
        assert_problem(wrong_code, 401, "invalid_mfa_code")
        await challenge(server)  # still on
        done = await server.client.post(
            "/auth/mfa/totp/disable", json={"password": PASSWORD, "code": code}, headers=auth
        )
        assert done.status_code == 204
    assert set(await Api(server.client).login(EMAIL)) == TOKEN_PAIR_KEYS
    events = [getattr(r, "event", None) for r in caplog.records]
    assert events.count("mfa_enabled") == 1
    assert events.count("mfa_disabled") == 1
    logged = " ".join(r.getMessage() + str(r.__dict__) for r in caplog.records)
    assert enrolled.secret not in logged
    assert PASSWORD not in logged
    # A new enrolment can start; the old recovery codes are gone with the old secret.
    assert (
        await server.client.post("/auth/mfa/totp/enroll", json={"password": PASSWORD}, headers=auth)
    ).status_code == 200


async def test_wrong_codes_are_rate_limited_per_user(server_settings: Settings) -> None:
    settings = server_settings.model_copy(update={"rate_limits": True})
    async with serve(settings) as server:
        enrolled = await enrol(server)
        mfa_token = await challenge(server)
        wrong = f"{(int(enrolled.code(server.clock)) + 1) % 1_000_000:06d}"
        for _ in range(3):  # enrolment and confirmation took two of the five
            assert (await verify(server, mfa_token, code=wrong)).status_code == 401
        refused = await verify(server, mfa_token, code=enrolled.code(server.clock))
        assert_problem(refused, 429, "rate_limited")
        assert int(refused.headers["retry-after"]) >= 1
        assert '"mfa-user";r=0;' in refused.headers["ratelimit"]
        # A forged challenge names nobody, so it uses up nobody's quota.
        forged = await verify(server, "x.y.z", code=wrong)
        assert_problem(forged, 401, "invalid_mfa_challenge")


# Switched off, and documented ------------------------------------------------------------------


async def test_with_mfa_off_the_endpoints_are_404_and_login_never_challenges(
    server_settings: Settings,
) -> None:
    async with serve(server_settings) as server:
        enrolled = await enrol(server)
    off = server_settings.model_copy(update={"mfa": False})
    async with serve(off) as server:  # the same database, TOTP still recorded
        auth = bearer(enrolled.access_token)
        for path in ("enroll", "confirm", "verify", "disable"):
            missing = await server.client.post(f"/auth/mfa/totp/{path}", json={}, headers=auth)
            assert missing.status_code == 404, path
        assert set(await Api(server.client).login(EMAIL)) == TOKEN_PAIR_KEYS
        schema = (await server.client.get("/openapi.json")).json()
        assert not any(path.startswith("/auth/mfa") for path in schema["paths"])


async def test_the_endpoints_are_in_the_openapi_schema(server: Server) -> None:
    paths = (await server.client.get("/openapi.json")).json()["paths"]
    # 400: a body that does not parse; 403: CSRF or plain HTTP in production; 408: a body too
    # slow; 413: a body over the limit; 500, 503.
    expected = {
        "enroll": {"200", "400", "401", "403", "409", "408", "413", "422", "429", "500", "503"},
        "confirm": {"200", "400", "401", "403", "409", "408", "413", "422", "429", "500", "503"},
        "verify": {"200", "400", "401", "403", "408", "413", "422", "429", "500", "503"},
        "disable": {"204", "400", "401", "403", "409", "408", "413", "422", "429", "500", "503"},
    }
    for name, statuses in expected.items():
        operation = paths[f"/auth/mfa/totp/{name}"]["post"]
        assert set(operation["responses"]) == statuses, name
    login = paths["/auth/login"]["post"]["responses"]["200"]["content"]["application/json"]
    assert "MfaChallengeOut" in json.dumps(login["schema"])


async def test_wrong_codes_lock_the_second_factor_even_with_rate_limits_off(
    server: Server,
) -> None:
    # The `server` fixture runs with JWTAUTH_RATE_LIMITS=false: the lockout alone stops guessing.
    enrolled = await enrol(server)
    mfa_token = await challenge(server)
    wrong = f"{(int(enrolled.code(server.clock)) + 1) % 1_000_000:06d}"
    for _ in range(10):
        assert_problem(await verify(server, mfa_token, code=wrong), 401, "invalid_mfa_code")
    # The tenth wrong code locked the second factor and spent the challenge being guessed at.
    spent = await verify(server, mfa_token, code=enrolled.code(server.clock))
    assert_problem(spent, 401, "invalid_mfa_challenge")
    locked = await verify(server, await challenge(server), code=enrolled.code(server.clock))
    assert_problem(locked, 429, "account_locked")
    assert int(locked.headers["retry-after"]) >= 1
    # Lifted (by time, or here directly), a new challenge and the right code work again.
    state = server.app.state.jwtauth
    user_id = state.service.tokens.verify(enrolled.access_token)["sub"]
    await state.service.lockout.clear(second_factor_key(user_id))
    fresh = await challenge(server)
    assert (await verify(server, fresh, code=enrolled.code(server.clock))).status_code == 200


async def test_turning_totp_on_ends_the_sessions_opened_with_the_password_alone(
    server: Server,
) -> None:
    api = Api(server.client)
    await api.register(EMAIL)
    other = await api.login(EMAIL)  # e.g. a laptop, before the second factor existed
    assert (await api.me(other["access_token"])).status_code == 200
    enrolled = await enrol_logged_in(server, await api.login(EMAIL))
    assert (await api.me(other["access_token"])).status_code == 401
    assert (await api.refresh(other["refresh_token"])).status_code == 401
    assert (await api.me(enrolled.access_token)).status_code == 200  # the confirming one stays
