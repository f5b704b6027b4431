"""The HTTP contract (docs/api.md), driven over HTTP on every backend (SQLite with in-process
stores, PostgreSQL with Redis), with the same assertions against every host of the auth API:

* in this process: ``jwtauth serve``'s app, and host applications that embed it (FastAPI, and
  Flask with each request on a thread of its own), each built per test on a fresh database;
* under their real servers (:mod:`tests.hosts.launch`): the Django/DRF project and the Flask
  app under gunicorn, the FastAPI app under uvicorn, two worker processes with Redis (one
  without: its revocations live in that process). Django's settings are process-global, so
  Django runs only this way. Each is started once per backend for the module and emptied of
  every account before each test; a client reaches it over a real socket.

Every test of the table talks HTTP only, save the operator's account changes
(:func:`~tests.server.support.set_user_active`, :func:`~tests.server.support.delete_user`),
which go to the store in this process or straight to a live host's user table. What only
``jwtauth serve`` answers (health, metrics, the schema, routes outside the auth API) runs
against the server in this process alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import httpx
import jwt as pyjwt
import pytest

from jwtauth.config import Settings
from tests.hosts.launch import LiveHosts
from tests.server.support import (
    CLIENT_IP,
    HOSTS,
    PASSWORD,
    Api,
    bearer,
    delete_user,
    is_live,
    reach,
    serve,
    set_user_active,
)

pytestmark = pytest.mark.anyio

PROBLEM = "application/problem+json"
LIVE = {"django-gunicorn": "django", "flask-gunicorn": "flask", "fastapi-uvicorn": "fastapi"}
"""The live hosts of the table, by test id: the host application and its server."""


# Module-scoped, so that pytest runs the table host by host and each live host's servers stop
# before the next host's start.
@pytest.fixture(scope="module", params=[*HOSTS, *LIVE])
def host(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def live_hosts(host: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveHosts | None]:
    if host not in LIVE:
        yield None
        return
    hosts = LiveHosts(LIVE[host], tmp_path_factory.mktemp(host))
    try:
        yield hosts
    finally:
        hosts.close()


@pytest.fixture
def host_settings(request: pytest.FixtureRequest, host: str) -> Settings | None:
    """The settings of a host built in this process (a fresh database each); ``None`` for a
    live host. Not async: the database fixtures run an event loop of their own."""
    if host in LIVE:
        return None
    settings: Settings = request.getfixturevalue("server_settings")
    return settings


@pytest.fixture
async def client(
    host: str, backend: str, live_hosts: LiveHosts | None, host_settings: Settings | None
) -> AsyncIterator[httpx.AsyncClient]:
    if live_hosts is not None:
        async with reach(live_hosts.on(backend)) as http:
            yield http
        return
    assert host_settings is not None
    async with serve(host_settings, host=host) as http:
        yield http


@pytest.fixture
async def server(server_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The server alone, for what only ``jwtauth serve`` answers (health, metrics, schema)."""
    async with serve(server_settings) as http:
        yield http


def assert_problem(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, object] = response.json()
    assert {"type", "title", "status", "detail"} <= body.keys()
    assert body["status"] == status
    assert "Traceback" not in response.text
    return body


# Register and login ----------------------------------------------------------------------------


async def test_register_returns_id_and_email(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/auth/register", json={"email": "Alice@Example.com", "password": PASSWORD}
    )
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "email"}
    assert body["email"] == "alice@example.com"


async def test_register_twice_is_409(api: Api, client: httpx.AsyncClient) -> None:
    await api.register()
    again = await client.post(
        "/auth/register", json={"email": "ALICE@example.com", "password": PASSWORD}
    )
    assert_problem(again, 409)


@pytest.mark.parametrize(
    "body",
    [
        {"email": "not-an-email", "password": PASSWORD},
        {"email": "bob@example.com", "password": "short"},
        {"email": "bob@example.com", "password": "aaaaaaaaaaaaaaaa"},
        {"email": "bob@example.com"},
        {"email": "bob@example.com", "password": PASSWORD, "is_admin": True},
        {"email": "bob@example.com", "password": "Password1234"},
        {"email": "bob.jones@example.com", "password": "bob.jones@example.com"},
    ],
    ids=[
        "bad-email",
        "short-password",
        "one-character",
        "no-password",
        "extra-field",
        "common-password",
        "email-as-password",
    ],
)
async def test_register_refuses_invalid_input_with_422(
    client: httpx.AsyncClient, body: dict[str, object]
) -> None:
    response = await client.post("/auth/register", json=body)
    assert_problem(response, 422)
    if "password" in body:
        assert str(body["password"]) not in response.text


async def test_login_returns_the_token_shape(api: Api) -> None:
    body: dict[str, object] = dict(await api.register_and_login())
    assert set(body) == {
        "access_token", "refresh_token", "token_type", "expires_in", "refresh_expires_in",
    }  # fmt: skip
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 300
    assert body["refresh_expires_in"] == 1_209_600


async def test_unknown_email_and_wrong_password_get_the_same_answer(
    api: Api, client: httpx.AsyncClient
) -> None:
    await api.register()
    unknown = await client.post(
        "/auth/login", json={"email": "nobody@example.com", "password": PASSWORD}
    )
    wrong = await client.post(
        "/auth/login", json={"email": "alice@example.com", "password": PASSWORD + "!"}
    )
    assert_problem(unknown, 401)
    assert_problem(wrong, 401)
    assert unknown.json() == wrong.json()
    assert PASSWORD not in wrong.text


# Access tokens ---------------------------------------------------------------------------------


async def test_me_with_a_valid_token(api: Api) -> None:
    tokens = await api.register_and_login()
    response = await api.me(tokens["access_token"])
    assert response.status_code == 200
    assert response.json()["email"] == "alice@example.com"


# /auth/me is a FastAPI route with dependencies; /auth/claims is a plain Starlette route.
PROTECTED = ["/auth/me", "/auth/claims"]


@pytest.mark.parametrize("path", PROTECTED)
async def test_no_token_is_401_with_a_bare_challenge(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert_problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "error=" not in response.headers["www-authenticate"]


@pytest.mark.parametrize("path", PROTECTED)
@pytest.mark.parametrize(
    "header", ["Bearer not.a.jwt", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer", "bearer x.y.z"]
)
async def test_a_bad_token_is_401_invalid_token(
    client: httpx.AsyncClient, path: str, header: str
) -> None:
    if header != header.rstrip() and is_live(client):
        # A client library refuses to send it (h11), and a server strips it (RFC 9110, 5.5):
        # over a socket it arrives as "Bearer", the case beside it.
        pytest.skip("trailing whitespace in a header value does not cross a real socket")
    response = await client.get(path, headers={"Authorization": header})
    assert_problem(response, 401)
    assert response.headers["www-authenticate"] == 'Bearer realm="jwtauth", error="invalid_token"'


async def test_refused_token_challenge_says_invalid_token(api: Api) -> None:
    tokens = await api.register_and_login()
    forged = tokens["access_token"][:-4] + "AAAA"
    response = await api.me(forged)
    assert_problem(response, 401)
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    assert forged not in response.text


async def test_access_token_verifies_in_pyjwt_against_our_jwks(
    api: Api, client: httpx.AsyncClient
) -> None:
    tokens = await api.register_and_login()
    jwks = (await client.get("/.well-known/jwks.json")).json()
    for key in jwks["keys"]:
        assert {"kid", "alg", "use"} <= key.keys()
        assert key["use"] == "sig"
        assert not {"d", "p", "q", "dp", "dq", "qi", "k"} & key.keys()
    keyset = pyjwt.PyJWKSet.from_dict(jwks)
    kid = pyjwt.get_unverified_header(tokens["access_token"])["kid"]
    key = next(k for k in keyset.keys if k.key_id == kid)
    claims = pyjwt.decode(
        tokens["access_token"],
        key.key,
        algorithms=[key.algorithm_name],
        audience="jwtauth",
        issuer="http://127.0.0.1:8000",
    )
    assert claims["sid"]
    assert pyjwt.get_unverified_header(tokens["access_token"])["typ"] == "at+jwt"


# Refresh rotation and reuse detection ----------------------------------------------------------


async def test_refresh_rotates_and_the_new_pair_works(api: Api) -> None:
    first = await api.register_and_login()
    response = await api.refresh(first["refresh_token"])
    assert response.status_code == 200
    second = response.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert (await api.me(second["access_token"])).status_code == 200
    assert (await api.refresh(second["refresh_token"])).status_code == 200


async def test_reusing_a_rotated_refresh_token_revokes_the_whole_session(api: Api) -> None:
    first = await api.register_and_login()
    second = (await api.refresh(first["refresh_token"])).json()
    reuse = await api.refresh(first["refresh_token"])
    assert_problem(reuse, 401)
    # The thief's replay killed the family: the legitimate newest tokens die with it.
    assert_problem(await api.refresh(second["refresh_token"]), 401)
    assert_problem(await api.me(second["access_token"]), 401)
    assert_problem(await api.me(first["access_token"]), 401)


async def test_fifty_concurrent_refreshes_exactly_one_wins(api: Api) -> None:
    tokens = await api.register_and_login()
    responses = await asyncio.gather(*(api.refresh(tokens["refresh_token"]) for _ in range(50)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(200) == 1, statuses
    assert statuses.count(401) == 49, statuses
    winner = next(r.json() for r in responses if r.status_code == 200)
    # The 49 losers presented a rotated token: reuse, so the family is revoked.
    assert_problem(await api.refresh(winner["refresh_token"]), 401)
    assert_problem(await api.me(winner["access_token"]), 401)


@pytest.mark.parametrize("token", ["", "x" * 600, "not-a-token"])
async def test_unknown_or_malformed_refresh_token_is_refused(
    client: httpx.AsyncClient, token: str
) -> None:
    response = await client.post("/auth/refresh", json={"refresh_token": token})
    assert response.status_code in (401, 422)
    assert response.headers["content-type"].startswith(PROBLEM)


# Logout, logout-all, sessions, password ---------------------------------------------------------


async def test_logout_revokes_the_access_token_and_its_session(api: Api) -> None:
    tokens = await api.register_and_login()
    response = await api.client.post("/auth/logout", headers=bearer(tokens["access_token"]))
    assert response.status_code == 204
    assert_problem(await api.me(tokens["access_token"]), 401)
    assert_problem(await api.refresh(tokens["refresh_token"]), 401)


async def test_logout_all_revokes_every_session_but_a_new_login_works(api: Api) -> None:
    phone = await api.register_and_login()
    laptop = await api.login()
    response = await api.client.post("/auth/logout-all", headers=bearer(laptop["access_token"]))
    assert response.status_code == 204
    for tokens in (phone, laptop):
        assert_problem(await api.me(tokens["access_token"]), 401)
        assert_problem(await api.refresh(tokens["refresh_token"]), 401)
    again = await api.login()  # within the same second: iat keeps milliseconds
    assert (await api.me(again["access_token"])).status_code == 200


async def test_sessions_list_records_ip_and_user_agent(api: Api) -> None:
    first = await api.register_and_login()
    await api.login()
    response = await api.client.get(
        "/auth/sessions", headers={**bearer(first["access_token"]), "User-Agent": "pytest-ua"}
    )
    assert response.status_code == 200
    sessions = response.json()
    assert len(sessions) == 2
    assert {s["ip"] for s in sessions} == {CLIENT_IP}
    assert [s["current"] for s in sessions].count(True) == 1
    for s in sessions:
        assert set(s) == {"id", "created_at", "last_used_at", "ip", "user_agent", "current"}


async def test_deleting_a_session_revokes_it_and_unknown_is_404(api: Api) -> None:
    mine = await api.register_and_login()
    other = await api.login()
    listing = (await api.client.get("/auth/sessions", headers=bearer(mine["access_token"]))).json()
    other_id = next(s["id"] for s in listing if not s["current"])
    deleted = await api.client.delete(
        f"/auth/sessions/{other_id}", headers=bearer(mine["access_token"])
    )
    assert deleted.status_code == 204
    assert_problem(await api.me(other["access_token"]), 401)
    assert_problem(await api.refresh(other["refresh_token"]), 401)
    assert (await api.me(mine["access_token"])).status_code == 200
    missing = await api.client.delete(
        f"/auth/sessions/{other_id}", headers=bearer(mine["access_token"])
    )
    assert_problem(missing, 404)


async def test_another_users_session_cannot_be_deleted(api: Api) -> None:
    alice = await api.register_and_login("alice@example.com")
    bob = await api.register_and_login("bob@example.com")
    bobs = (await api.client.get("/auth/sessions", headers=bearer(bob["access_token"]))).json()
    response = await api.client.delete(
        f"/auth/sessions/{bobs[0]['id']}", headers=bearer(alice["access_token"])
    )
    assert_problem(response, 404)
    assert (await api.me(bob["access_token"])).status_code == 200


async def test_password_change_revokes_every_other_session(api: Api) -> None:
    mine = await api.register_and_login()
    other = await api.login()
    new_password = "an entirely different passphrase"
    wrong = await api.client.post(
        "/auth/password",
        json={"current_password": "wrong password here", "new_password": new_password},
        headers=bearer(mine["access_token"]),
    )
    assert_problem(wrong, 401)
    weak = await api.client.post(
        "/auth/password",
        json={"current_password": PASSWORD, "new_password": "short"},
        headers=bearer(mine["access_token"]),
    )
    assert_problem(weak, 422)
    changed = await api.client.post(
        "/auth/password",
        json={"current_password": PASSWORD, "new_password": new_password},
        headers=bearer(mine["access_token"]),
    )
    assert changed.status_code == 204
    assert (await api.me(mine["access_token"])).status_code == 200
    assert_problem(await api.me(other["access_token"]), 401)
    assert_problem(await api.refresh(other["refresh_token"]), 401)
    old = await api.client.post(
        "/auth/login", json={"email": "alice@example.com", "password": PASSWORD}
    )
    assert_problem(old, 401)
    await api.login(password=new_password)


# Account state is re-checked on refresh ----------------------------------------------------------


@pytest.mark.parametrize("change", ["disable", "delete"])
async def test_disabled_or_deleted_user_cannot_refresh(
    api: Api, client: httpx.AsyncClient, change: str
) -> None:
    tokens = await api.register_and_login()
    user_id = (await api.me(tokens["access_token"])).json()["id"]
    if change == "disable":
        await set_user_active(client, user_id, False)
    else:
        await delete_user(client, user_id)
    assert_problem(await api.refresh(tokens["refresh_token"]), 401)
    assert_problem(await api.me(tokens["access_token"]), 401)


# Errors and headers ----------------------------------------------------------------------------


async def test_unknown_route_and_wrong_method_are_problems(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/auth/nowhere"), 404)
    assert_problem(await client.get("/auth/login"), 405)
    assert_problem(await client.post("/auth/claims"), 405)
    assert_problem(
        await client.post(
            "/auth/login", content=b"{not json", headers={"Content-Type": "application/json"}
        ),
        422,
    )


async def test_unknown_server_route_is_a_problem(server: httpx.AsyncClient) -> None:
    assert_problem(await server.get("/nowhere"), 404)


SERVER_ONLY = {"/healthz", "/nowhere"}


@pytest.mark.parametrize(
    "path",
    ["/healthz", "/auth/me", "/auth/claims", "/auth/nowhere", "/.well-known/jwks.json", "/nowhere"],
)
async def test_security_headers_on_every_response(
    client: httpx.AsyncClient, server: httpx.AsyncClient, path: str
) -> None:
    response = await (server if path in SERVER_ONLY else client).get(path)
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert "strict-transport-security" not in response.headers  # plain HTTP, development
    if path.startswith("/auth/"):
        assert response.headers["cache-control"] == "no-store"


async def test_openapi_schema_is_served(server: httpx.AsyncClient) -> None:
    schema = (await server.get("/openapi.json")).json()
    assert "/auth/login" in schema["paths"]
    # The plain route documents itself like the API routes: the same bearer scheme.
    claims = schema["paths"]["/auth/claims"]["get"]
    assert claims["security"] == schema["paths"]["/auth/me"]["get"]["security"]
    assert set(claims["security"][0]) <= set(schema["components"]["securitySchemes"])
    assert any(
        scheme.get("scheme") == "bearer"
        for scheme in schema["components"]["securitySchemes"].values()
    )


async def test_health_and_readiness(server: httpx.AsyncClient) -> None:
    assert (await server.get("/healthz")).status_code == 200
    assert (await server.get("/readyz")).status_code == 200


async def test_metrics_are_refused_to_remote_clients(server: httpx.AsyncClient) -> None:
    # Answered as an unknown path (tests/server/test_metrics.py has the access rules).
    assert_problem(await server.get("/metrics"), 404)


async def test_claims_endpoint_returns_the_verified_claims(api: Api) -> None:
    tokens = await api.register_and_login()
    response = await api.client.get("/auth/claims", headers=bearer(tokens["access_token"]))
    assert response.status_code == 200
    claims = response.json()
    assert {"iss", "aud", "sub", "iat", "nbf", "exp", "jti", "sid"} <= claims.keys()
    await api.client.post("/auth/logout", headers=bearer(tokens["access_token"]))
    revoked = await api.client.get("/auth/claims", headers=bearer(tokens["access_token"]))
    assert revoked.status_code == 401
