"""Flask: the shared contract, flask-jwt-extended's names, cookies + CSRF, deny by default."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import pytest
from flask import Flask, jsonify
from flask.testing import FlaskClient
from flask.typing import ResponseReturnValue
from flask.views import MethodView

from jwtauth.audit import audit
from jwtauth.errors import ConfigurationError
from jwtauth.fingerprint import FINGERPRINT_CLAIM, fingerprint_hash
from jwtauth.integrations._http import FINGERPRINT_COOKIE, Authenticator
from jwtauth.integrations._sync import SyncRuntime
from jwtauth.integrations.flask import (
    ACCESS_COOKIE,
    CSRF_COOKIE,
    CSRF_HEADER,
    JWTAuth,
    current_user,
    get_jwt,
    get_jwt_identity,
    jwt_required,
    public,
    verify_jwt_in_request,
)
from tests.integrations.contract import (
    CASES,
    PROTECTED,
    PUBLIC,
    REQUIRED_SCOPE,
    SCOPED,
    Case,
    Get,
    Reply,
    Tokens,
    bearer,
    check,
    check_logout_all_propagates,
)


def contract_app(authenticator: Authenticator | SyncRuntime, **config: Any) -> Flask:
    app = Flask(__name__)
    app.config.update(JWTAUTH_PROTECT_ALL=True, **config)
    JWTAuth(app, authenticator)

    @app.get(PROTECTED)
    def claims() -> ResponseReturnValue:
        return jsonify(get_jwt())

    @app.get(SCOPED)
    @jwt_required(scopes=[REQUIRED_SCOPE])
    def scoped() -> ResponseReturnValue:
        return {"ok": True}

    @app.get(PUBLIC)
    @public
    def open_() -> ResponseReturnValue:
        return {"ok": True}

    return app


@asynccontextmanager
async def serve(authenticator: Authenticator) -> AsyncIterator[Get]:
    runtime = SyncRuntime(authenticator)
    client = contract_app(runtime).test_client(use_cookies=False)  # send the Cookie header as is
    try:

        async def get(path: str, headers: Mapping[str, str]) -> Reply:
            answer = client.get(path, headers=dict(headers))
            lowered = {k.lower(): v for k, v in answer.headers.items()}
            return Reply(answer.status_code, lowered, answer.get_data())

        yield get
    finally:
        runtime.close()


@pytest.mark.anyio
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
async def test_contract(case: Case) -> None:
    await check(serve, case)


@pytest.mark.anyio
async def test_logout_all_from_another_process_is_honoured_within_a_second(
    redis_url: str,
) -> None:
    assert await check_logout_all_propagates(serve, redis_url) < 1.0


# flask-jwt-extended's names ----------------------------------------------------------------------


@pytest.fixture
def tokens() -> Tokens:
    return Tokens()


def names_app(tokens: Tokens, **config: Any) -> Flask:
    app = Flask(__name__)
    app.config.update(config)
    auth = JWTAuth(app, tokens.authenticator())
    users = {"alice": {"name": "Alice"}}

    @auth.user_lookup_loader
    def load(claims: Mapping[str, Any]) -> Any:
        return users.get(claims["sub"])

    @app.get("/me")
    @jwt_required()
    def me() -> ResponseReturnValue:
        return {"sub": get_jwt_identity(), "name": current_user["name"]}

    @app.get("/maybe")
    @jwt_required(optional=True)
    def maybe() -> ResponseReturnValue:
        return {"sub": get_jwt_identity()}

    @app.post("/write")
    @jwt_required()
    def write() -> ResponseReturnValue:
        return {"ok": True}

    @app.get("/manual")
    def manual() -> ResponseReturnValue:
        verify_jwt_in_request()
        return {"sub": get_jwt()["sub"]}

    @app.get("/open")
    def unmarked() -> ResponseReturnValue:
        return {"ok": True}

    return app


@pytest.fixture
def client(tokens: Tokens) -> Iterator[FlaskClient]:
    app = names_app(tokens)
    yield app.test_client()
    app.extensions["jwtauth"].runtime.close()


def test_the_names_flask_jwt_extended_users_know(tokens: Tokens, client: FlaskClient) -> None:
    token = tokens.issue()
    assert client.get("/me", headers=bearer(token)).json == {"sub": "alice", "name": "Alice"}
    assert client.get("/manual", headers=bearer(token)).json == {"sub": "alice"}
    assert client.get("/manual").status_code == 401
    assert client.get("/maybe").json == {"sub": None}
    assert client.get("/maybe", headers=bearer(token)).json == {"sub": "alice"}
    assert client.get("/maybe", headers=bearer(tokens.forged())).status_code == 401


def test_a_token_whose_user_is_gone_is_refused(tokens: Tokens, client: FlaskClient) -> None:
    answer = client.get("/me", headers=bearer(tokens.manager.issue("mallory")))
    assert answer.status_code == 401
    assert answer.json is not None
    assert answer.json["type"] == "urn:jwtauth:problem:unknown_subject"


def test_without_protect_all_only_decorated_views_need_a_token(client: FlaskClient) -> None:
    assert client.get("/open").status_code == 200
    assert client.get("/me").status_code == 401


def test_protect_all_denies_every_unmarked_endpoint(tokens: Tokens) -> None:
    app = names_app(tokens, JWTAUTH_PROTECT_ALL=True)
    client = app.test_client()
    assert client.get("/open").status_code == 401
    assert client.get("/open", headers=bearer(tokens.issue())).status_code == 200
    assert client.get("/nowhere").status_code == 404  # no route: nothing to protect
    assert client.get("/maybe").status_code == 401  # optional opens nothing under PROTECT_ALL


def test_a_public_method_view_and_a_public_handler(tokens: Tokens) -> None:
    class Items(MethodView):
        @public
        def get(self) -> ResponseReturnValue:
            return {"items": []}

        def post(self) -> ResponseReturnValue:
            return {"ok": True}

    app = names_app(tokens, JWTAUTH_PROTECT_ALL=True)
    app.add_url_rule("/items", view_func=Items.as_view("items"))
    client = app.test_client()
    assert client.get("/items").status_code == 200
    assert client.post("/items").status_code == 401


# Cookie mode -------------------------------------------------------------------------------------


def test_the_cookie_names_are_the_auth_servers() -> None:
    from jwtauth.server import transport

    assert (ACCESS_COOKIE, CSRF_COOKIE, CSRF_HEADER) == (
        transport.ACCESS_COOKIE,
        transport.CSRF_COOKIE,
        transport.CSRF_HEADER,
    )
    assert transport.FINGERPRINT_COOKIE == FINGERPRINT_COOKIE


def cookie_client(tokens: Tokens, token: str, cookies: bool = True) -> FlaskClient:
    client = names_app(tokens, JWTAUTH_COOKIES=cookies).test_client()
    client.set_cookie(ACCESS_COOKIE, token)
    client.set_cookie(CSRF_COOKIE, "csrf-value")
    return client


def test_cookie_mode_reads_the_access_cookie_and_checks_csrf(tokens: Tokens) -> None:
    client = cookie_client(tokens, tokens.issue())
    assert client.get("/me").status_code == 200  # a safe method needs no CSRF header
    refused = client.post("/write")
    assert refused.status_code == 403
    assert refused.json is not None
    assert refused.json["type"] == "urn:jwtauth:problem:csrf_failed"
    assert client.post("/write", headers={CSRF_HEADER: "other"}).status_code == 403
    assert client.post("/write", headers={CSRF_HEADER: "caf\xe9"}).status_code == 403  # not a 500
    assert client.post("/write", headers={CSRF_HEADER: "csrf-value"}).status_code == 200


def test_a_bearer_header_needs_no_csrf_token(tokens: Tokens) -> None:
    # A header cannot be attached by a cross-site form: only the cookie needs the double submit.
    client = cookie_client(tokens, "not.a.token")
    assert client.post("/write", headers=bearer(tokens.issue())).status_code == 200


def test_cookies_are_ignored_unless_configured(tokens: Tokens) -> None:
    client = cookie_client(tokens, tokens.issue(), cookies=False)
    assert client.get("/me").status_code == 401


def test_a_fingerprinted_cookie_token_needs_its_sidecar(tokens: Tokens) -> None:
    token = tokens.issue(**{FINGERPRINT_CLAIM: fingerprint_hash("sidecar")})
    client = cookie_client(tokens, token)
    assert client.get("/me").status_code == 401
    client.set_cookie(FINGERPRINT_COOKIE, "sidecar")
    assert client.get("/me").status_code == 200


# Runtime and the audit ---------------------------------------------------------------------------


def test_requests_share_one_background_loop(tokens: Tokens, client: FlaskClient) -> None:
    before = {t.ident for t in threading.enumerate() if t.name == "jwtauth-background"}
    for _ in range(20):
        assert client.get("/me", headers=bearer(tokens.issue())).status_code == 200
    after = {t.ident for t in threading.enumerate() if t.name == "jwtauth-background"}
    assert len(after - before) == 1


def test_the_audit_reports_what_the_extension_enforces(tokens: Tokens) -> None:
    rows = {r.path: (r.protection, r.detail) for r in audit(names_app(tokens))}
    assert rows["/me"] == ("protected", "")
    assert rows["/maybe"] == ("unprotected", "optional token")
    assert rows["/open"] == ("unprotected", "")
    assert rows["/static/<path:filename>"] == ("public", "")
    protected_all = {
        r.path: r.protection for r in audit(names_app(tokens, JWTAUTH_PROTECT_ALL=True))
    }
    assert set(protected_all.values()) == {"protected", "public"}
    assert protected_all["/open"] == "protected"
    scoped = {r.path: r.detail for r in audit(contract_app(tokens.authenticator()))}
    assert scoped[SCOPED] == REQUIRED_SCOPE


def test_scopes_must_be_a_collection_of_names() -> None:
    with pytest.raises(ConfigurationError):
        jwt_required(scopes="items:write")


def test_the_synchronous_runtime_loads_no_framework() -> None:
    from tests.test_layering import FORBIDDEN_IN_CORE, loaded

    assert loaded("jwtauth.integrations._sync", FORBIDDEN_IN_CORE) == ""
