"""Browser transport over HTTP, on each backend: tokens in HttpOnly cookies, double-submit CSRF
on unsafe requests a cookie authenticates, and the fingerprint sidecar that binds a token to its
client (cookie transport, and bearer transport when opted in)."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from http.cookies import SimpleCookie
from typing import Any

import httpx
import pytest

from jwtauth.config import Settings
from jwtauth.server.transport import (
    ACCESS_COOKIE,
    CSRF_COOKIE,
    CSRF_HEADER,
    DEVICE_COOKIE,
    FINGERPRINT_COOKIE,
    REFRESH_COOKIE,
)
from jwtauth.transport.fingerprint import fingerprint_hash
from tests.server.support import PASSWORD, Api, bearer, serve

pytestmark = pytest.mark.anyio

CREDENTIALS = {"email": "alice@example.com", "password": PASSWORD}


def set_cookies(response: httpx.Response) -> dict[str, Any]:
    """The Set-Cookie headers of a response, parsed: name -> morsel."""
    jar: SimpleCookie = SimpleCookie()
    for header in response.headers.get_list("set-cookie"):
        jar.load(header)
    return dict(jar)


def claims_of(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    decoded: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return decoded


def cookie_header(cookies: dict[str, str], **headers: str) -> dict[str, str]:
    """Headers sending exactly ``cookies`` (an explicit Cookie header replaces the jar's)."""
    return {**headers, "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}


@pytest.fixture
async def browser(server_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    settings = server_settings.model_copy(update={"cookie_transport": True})
    async with serve(settings, base_url="https://testserver") as client:
        await Api(client).register()
        yield client


async def login(client: httpx.AsyncClient) -> tuple[httpx.Response, str]:
    answer = await client.post("/auth/login", json=CREDENTIALS)
    assert answer.status_code == 200, answer.text
    return answer, answer.json()["csrf_token"]


async def test_login_puts_the_session_in_hardened_cookies_only(
    browser: httpx.AsyncClient,
) -> None:
    answer, csrf = await login(browser)
    body = answer.json()
    assert set(body) == {"token_type", "expires_in", "refresh_expires_in", "csrf_token"}
    assert body["token_type"] == "cookie"
    assert answer.text.count(".") < 2  # no JWT anywhere a script can read
    cookies = set_cookies(answer)
    for name in (ACCESS_COOKIE, REFRESH_COOKIE, FINGERPRINT_COOKIE):
        morsel = cookies[name]
        assert morsel["httponly"] is True
        assert morsel["secure"] is True
        assert morsel["samesite"] == "strict"
        assert not morsel["domain"]
    assert cookies[ACCESS_COOKIE]["path"] == "/"
    assert cookies[FINGERPRINT_COOKIE]["path"] == "/"
    assert cookies[REFRESH_COOKIE]["path"] == "/auth/refresh"
    assert int(cookies[ACCESS_COOKIE]["max-age"]) == body["expires_in"]
    # The CSRF cookie is the one a script must read, to echo it.
    assert cookies[CSRF_COOKIE].value == csrf
    assert not cookies[CSRF_COOKIE]["httponly"]
    assert cookies[CSRF_COOKIE]["secure"] is True
    access = cookies[ACCESS_COOKIE].value
    assert claims_of(access)["fgp"] == fingerprint_hash(cookies[FINGERPRINT_COOKIE].value)


async def test_a_cookie_authenticates_safe_requests(browser: httpx.AsyncClient) -> None:
    await login(browser)
    me = await browser.get("/auth/me")
    assert me.status_code == 200
    assert me.json()["email"] == "alice@example.com"
    assert (await browser.get("/auth/claims")).status_code == 200


@pytest.mark.parametrize("header", [None, "", "not-the-cookie"])
async def test_unsafe_requests_need_the_csrf_header(
    browser: httpx.AsyncClient, header: str | None
) -> None:
    await login(browser)
    headers = {} if header is None else {CSRF_HEADER: header}
    for method, path in (("POST", "/auth/logout"), ("POST", "/auth/refresh")):
        refused = await browser.request(method, path, headers=headers)
        assert refused.status_code == 403, (path, refused.text)
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["type"] == "urn:jwtauth:problem:csrf_failed"
    assert (await browser.get("/auth/me")).status_code == 200  # nothing happened


async def test_refresh_by_cookie_rotates_the_cookies(browser: httpx.AsyncClient) -> None:
    first, csrf = await login(browser)
    old_refresh = set_cookies(first)[REFRESH_COOKIE].value
    rotated = await browser.post("/auth/refresh", headers={CSRF_HEADER: csrf})
    assert rotated.status_code == 200, rotated.text
    cookies = set_cookies(rotated)
    assert cookies[REFRESH_COOKIE].value != old_refresh
    assert rotated.json()["csrf_token"] == cookies[CSRF_COOKIE].value
    assert (await browser.get("/auth/me")).status_code == 200
    # The spent refresh token, presented again, is reuse: the session dies.
    csrf = rotated.json()["csrf_token"]
    reused = await browser.post(
        "/auth/refresh",
        headers=cookie_header(
            {REFRESH_COOKIE: old_refresh, CSRF_COOKIE: csrf}, **{CSRF_HEADER: csrf}
        ),
    )
    assert reused.status_code == 401


async def test_logout_with_the_csrf_header_clears_the_cookies(browser: httpx.AsyncClient) -> None:
    answer, csrf = await login(browser)
    access = set_cookies(answer)[ACCESS_COOKIE].value
    out = await browser.post("/auth/logout", headers={CSRF_HEADER: csrf})
    assert out.status_code == 204
    cleared = set_cookies(out)
    assert {ACCESS_COOKIE, REFRESH_COOKIE, CSRF_COOKIE, FINGERPRINT_COOKIE} <= set(cleared)
    assert all(int(m["max-age"]) == 0 for m in cleared.values())
    assert (await browser.get("/auth/me")).status_code == 401
    fingerprint = set_cookies(answer)[FINGERPRINT_COOKIE].value
    replay = await browser.get(
        "/auth/me", headers=cookie_header({FINGERPRINT_COOKIE: fingerprint}, **bearer(access))
    )
    assert replay.status_code == 401  # revoked, not merely forgotten by the browser


async def test_a_cookie_token_replayed_as_bearer_without_its_sidecar_is_refused(
    browser: httpx.AsyncClient,
) -> None:
    answer, _ = await login(browser)
    access = set_cookies(answer)[ACCESS_COOKIE].value
    browser.cookies.clear()
    stolen = await browser.get("/auth/me", headers=bearer(access))
    assert stolen.status_code == 401
    assert stolen.json()["type"] == "urn:jwtauth:problem:fingerprint_mismatch"
    assert "invalid_token" in stolen.headers["www-authenticate"]


async def test_cookie_transport_is_off_by_default(api: Api) -> None:
    await api.register()
    answer = await api.client.post("/auth/login", json=CREDENTIALS)
    assert "access_token" in answer.json()
    assert "set-cookie" not in answer.headers
    assert "fgp" not in claims_of(answer.json()["access_token"])


# Fingerprint with bearer transport (opt-in) ---------------------------------------------------


@pytest.fixture
async def bound(server_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    settings = server_settings.model_copy(update={"token_fingerprint": "always"})
    async with serve(settings, base_url="https://testserver") as client:
        await Api(client).register()
        yield client


async def test_bearer_tokens_are_bound_to_the_sidecar_when_opted_in(
    bound: httpx.AsyncClient,
) -> None:
    answer = await bound.post("/auth/login", json=CREDENTIALS)
    tokens = answer.json()
    cookies = set_cookies(answer)
    assert set(cookies) == {FINGERPRINT_COOKIE}
    fingerprint = cookies[FINGERPRINT_COOKIE].value
    assert claims_of(tokens["access_token"])["fgp"] == fingerprint_hash(fingerprint)
    assert (await bound.get("/auth/me", headers=bearer(tokens["access_token"]))).status_code == 200
    bound.cookies.clear()
    for presented in ({}, {FINGERPRINT_COOKIE: "a-guess"}):
        refused = await bound.get(
            "/auth/me", headers=cookie_header(presented, **bearer(tokens["access_token"]))
        )
        assert refused.status_code == 401
        assert refused.json()["type"] == "urn:jwtauth:problem:fingerprint_mismatch"


async def test_a_refresh_without_the_sidecar_ends_the_session(
    bound: httpx.AsyncClient,
) -> None:
    answer = await bound.post("/auth/login", json=CREDENTIALS)
    tokens = answer.json()
    fingerprint = set_cookies(answer)[FINGERPRINT_COOKIE].value
    bound.cookies.clear()
    stolen = await bound.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert stolen.status_code == 401
    # The owner's access token died with the session: the thief's attempt was detected.
    me = await bound.get(
        "/auth/me",
        headers=cookie_header({FINGERPRINT_COOKIE: fingerprint}, **bearer(tokens["access_token"])),
    )
    assert me.status_code == 401


async def test_a_refresh_with_the_sidecar_keeps_the_binding(bound: httpx.AsyncClient) -> None:
    answer = await bound.post("/auth/login", json=CREDENTIALS)
    fingerprint = set_cookies(answer)[FINGERPRINT_COOKIE].value
    rotated = await bound.post(
        "/auth/refresh", json={"refresh_token": answer.json()["refresh_token"]}
    )
    assert rotated.status_code == 200, rotated.text
    assert claims_of(rotated.json()["access_token"])["fgp"] == fingerprint_hash(fingerprint)


async def test_a_planted_second_refresh_cookie_is_refused(browser: httpx.AsyncClient) -> None:
    # A sibling subdomain can set another `__Secure-` cookie of the same name; the parser would
    # take the planted one. Two of them is refused, and no session is swapped.
    answer, csrf = await login(browser)
    mine = set_cookies(answer)[REFRESH_COOKIE].value
    planted = cookie_header({REFRESH_COOKIE: mine, CSRF_COOKIE: csrf}, **{CSRF_HEADER: csrf})
    planted["Cookie"] += f"; {REFRESH_COOKIE}=the-attackers-own-refresh-token"
    refused = await browser.post("/auth/refresh", headers=planted)
    assert refused.status_code == 401
    assert refused.json()["type"] == "urn:jwtauth:problem:invalid_refresh_token"


async def test_a_non_ascii_csrf_header_is_a_403_not_a_crash(browser: httpx.AsyncClient) -> None:
    await login(browser)
    refused = await browser.post(
        "/auth/logout", headers={CSRF_HEADER.encode(): "caf\xe9".encode("latin-1")}
    )
    assert refused.status_code == 403
    assert refused.json()["type"] == "urn:jwtauth:problem:csrf_failed"


async def test_a_remembered_device_travels_in_a_login_only_cookie(
    browser: httpx.AsyncClient,
) -> None:
    answer = await browser.post("/auth/login", json={**CREDENTIALS, "remember_device": True})
    assert answer.status_code == 200, answer.text
    assert "device_token" not in answer.json()  # never where a script can read it
    device = set_cookies(answer)[DEVICE_COOKIE]
    assert device["httponly"] is True
    assert device["secure"] is True
    assert device["path"] == "/auth/login"
    wrong = {**CREDENTIALS, "password": PASSWORD + "-wrong"}
    for _ in range(10):  # from elsewhere: no device cookie
        refused = await browser.post("/auth/login", json=wrong, headers={"Cookie": ""})
        assert refused.status_code == 401
    elsewhere = await browser.post("/auth/login", json=CREDENTIALS, headers={"Cookie": ""})
    assert elsewhere.status_code == 429
    mine = await browser.post(
        "/auth/login", json=CREDENTIALS, headers=cookie_header({DEVICE_COOKIE: device.value})
    )
    assert mine.status_code == 200, mine.text
