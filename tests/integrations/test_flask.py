"""Flask: the shared contract, flask-jwt-extended's names, cookies + CSRF, deny by default."""

from __future__ import annotations

import asyncio
import inspect
import secrets
import threading
import time
import uuid
import warnings
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any, NoReturn

import pytest
from flask import Flask, jsonify
from flask.testing import FlaskClient
from flask.typing import ResponseReturnValue
from flask.views import MethodView
from werkzeug.test import TestResponse

from jwtauth import KeyRing, TokenManager, generate_key
from jwtauth.errors import ConfigurationError, SecurityWarning, TokenError
from jwtauth.integrations import Authenticator, SyncRuntime
from jwtauth.integrations.audit import audit
from jwtauth.integrations.flask import (
    ACCESS_COOKIE,
    CSRF_COOKIE,
    CSRF_HEADER,
    JWTAuth,
    create_access_token,
    current_user,
    decode_token,
    get_current_user,
    get_jti,
    get_jwt,
    get_jwt_header,
    get_jwt_identity,
    jwt_required,
    public,
    verify_jwt_in_request,
)
from jwtauth.testing import FrozenClock
from jwtauth.transport.browser import FINGERPRINT_COOKIE
from jwtauth.transport.fingerprint import FINGERPRINT_CLAIM, fingerprint_hash
from tests.integrations.contract import (
    CASES,
    ISSUER,
    LOGOUT_ALL_BOUND,
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


# Issuing -----------------------------------------------------------------------------------------


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def manager(clock: FrozenClock) -> TokenManager:
    return TokenManager(KeyRing(generate_key("ES256")), issuer=ISSUER, audience=None, clock=clock)


def issuing_app(manager: TokenManager) -> tuple[Flask, JWTAuth]:
    """A TokenManager without a revocation view: the extension gives it a store of its own."""
    app = Flask(__name__)
    auth = JWTAuth(app, manager)

    @app.get("/me")
    @jwt_required()
    def me() -> ResponseReturnValue:
        return jsonify(get_jwt())

    @app.get("/fresh")
    @jwt_required(fresh=True)
    def sensitive() -> ResponseReturnValue:
        return {"ok": True}

    @app.delete("/logout")
    @jwt_required()
    def logout() -> ResponseReturnValue:
        auth.revoke_token(get_jwt())
        return "", 204

    @app.get("/header")
    @jwt_required()
    def header() -> ResponseReturnValue:
        return get_jwt_header()

    return app, auth


def issue(app: Flask, identity: Any = "alice", **options: Any) -> str:
    with app.app_context():
        return create_access_token(identity, **options)


def problem_type(answer: TestResponse) -> str:
    assert answer.content_type == "application/problem+json"
    assert answer.json is not None
    return str(answer.json["type"])


def test_create_access_token_issues_what_jwt_required_accepts(manager: TokenManager) -> None:
    app, auth = issuing_app(manager)
    client = app.test_client()
    answer = client.get("/me", headers=bearer(issue(app, additional_claims={"scope": "a b"})))
    assert answer.status_code == 200
    claims = answer.json
    assert claims is not None
    assert (claims["sub"], claims["scope"], claims["fresh"]) == ("alice", "a b", False)
    assert claims["exp"] - claims["iat"] == 300  # the manager's lifetime
    with app.app_context():
        assert client.get("/me", headers=bearer(auth.create_access_token("bob"))).status_code == 200


def test_the_identity_and_claims_loaders(manager: TokenManager) -> None:
    app, auth = issuing_app(manager)

    @auth.user_identity_loader
    def identity(user: Mapping[str, str]) -> str:
        return user["id"]

    @auth.additional_claims_loader
    def extra(user: Mapping[str, str]) -> Mapping[str, Any]:
        return {"plan": user["plan"], "role": "user"}

    token = issue(app, {"id": "u-7", "plan": "pro"}, additional_claims={"role": "admin"})
    claims = manager.verify(token)
    assert (claims["sub"], claims["plan"], claims["role"]) == ("u-7", "pro", "admin")


def test_expires_delta_is_the_tokens_lifetime(manager: TokenManager) -> None:
    app, _ = issuing_app(manager)
    claims = manager.verify(issue(app, expires_delta=timedelta(minutes=15)))
    assert claims["exp"] - claims["iat"] == 900


@pytest.mark.parametrize(
    "options",
    [
        {"expires_delta": False},  # flask-jwt-extended's "never expires"
        {"expires_delta": timedelta(0)},
        {"expires_delta": timedelta(days=31)},  # would outlive its revocation
        {"expires_delta": 300},
        {"additional_headers": {"kid": "other"}},
        {"additional_claims": {"exp": 4_000_000_000}},
        {"additional_claims": {"sub": "root"}},
        {"additional_claims": {"fresh": True}},
        {"identity": 42},
        {"identity": ""},
        {"fresh": "yes"},
    ],
    ids=repr,
)
def test_what_create_access_token_refuses(manager: TokenManager, options: dict[str, Any]) -> None:
    app, _ = issuing_app(manager)
    identity = options.pop("identity", "alice")
    with pytest.raises(ConfigurationError):
        issue(app, identity, **options)


def test_create_access_tokens_options_are_keywords(manager: TokenManager) -> None:
    # flask-jwt-extended's second positional is `fresh`; a positional True must not bind to
    # anything else here.
    app, _ = issuing_app(manager)
    with app.app_context(), pytest.raises(TypeError):
        create_access_token("alice", True)  # type: ignore[call-arg]


def test_fresh_tokens(manager: TokenManager, clock: FrozenClock) -> None:
    app, _ = issuing_app(manager)
    client = app.test_client()
    stale = client.get("/fresh", headers=bearer(issue(app)))
    assert stale.status_code == 401
    assert problem_type(stale) == "urn:jwtauth:problem:invalid_claim"
    assert client.get("/fresh", headers=bearer(issue(app, fresh=True))).status_code == 200
    token = issue(app, fresh=timedelta(minutes=5), expires_delta=timedelta(hours=1))
    assert client.get("/fresh", headers=bearer(token)).status_code == 200
    clock.advance(301)
    assert client.get("/fresh", headers=bearer(token)).status_code == 401
    assert client.get("/me", headers=bearer(token)).status_code == 200  # still a valid token


def test_views_take_access_tokens_only_and_the_flags_are_booleans() -> None:
    with pytest.raises(ConfigurationError, match="refresh"):
        jwt_required(refresh=True)
    with pytest.raises(ConfigurationError):
        jwt_required("items:read")  # type: ignore[arg-type]  # would be a truthy `optional`
    with pytest.raises(TypeError):
        jwt_required(locations=["headers"])  # type: ignore[call-arg]


# Revoking ----------------------------------------------------------------------------------------


def test_logout_revokes_the_token_and_no_other(manager: TokenManager) -> None:
    app, _ = issuing_app(manager)
    client = app.test_client()
    first, second = issue(app), issue(app)
    assert client.delete("/logout", headers=bearer(first)).status_code == 204
    refused = client.get("/me", headers=bearer(first))
    assert refused.status_code == 401
    assert problem_type(refused) == "urn:jwtauth:problem:token_revoked"
    assert 'error="invalid_token"' in refused.headers["WWW-Authenticate"]
    assert client.get("/me", headers=bearer(second)).status_code == 200


def test_revoke_token_verifies_an_encoded_token_first(manager: TokenManager) -> None:
    app, auth = issuing_app(manager)
    client = app.test_client()
    token = issue(app)
    forger = TokenManager(
        KeyRing(generate_key("ES256", kid=manager.keyring.signing_key.kid)),
        issuer=ISSUER,
        audience=None,
    )
    with app.app_context():
        auth.revoke_token(token)
        auth.revoke_token(token)  # revoked already: nothing to do
        with pytest.raises(TokenError):
            auth.revoke_token(forger.issue("alice"))
        with pytest.raises(TokenError):
            auth.revoke_token({"sub": "alice"})  # claims without a jti
    assert client.get("/me", headers=bearer(token)).status_code == 401


def test_an_expired_token_needs_no_revocation(manager: TokenManager, clock: FrozenClock) -> None:
    app, auth = issuing_app(manager)
    token = issue(app)
    clock.advance(3600)
    with app.app_context():
        auth.revoke_token(token)


def test_revoke_session_and_revoke_user(manager: TokenManager, clock: FrozenClock) -> None:
    app, auth = issuing_app(manager)
    client = app.test_client()
    one, two = (issue(app, additional_claims={"sid": sid}) for sid in ("s1", "s2"))
    bob = issue(app, "bob")
    with app.app_context():
        auth.revoke_session("s1")
    assert client.get("/me", headers=bearer(one)).status_code == 401
    assert client.get("/me", headers=bearer(two)).status_code == 200
    clock.advance(1)  # the cut-off revokes what was issued before it
    with app.app_context():
        auth.revoke_user("alice")
    assert client.get("/me", headers=bearer(two)).status_code == 401
    assert client.get("/me", headers=bearer(bob)).status_code == 200
    clock.advance(1)
    assert client.get("/me", headers=bearer(issue(app))).status_code == 200  # issued after
    with app.app_context(), pytest.raises(ConfigurationError):
        auth.revoke_session("")


def test_revoking_runs_on_the_runtimes_one_loop(
    manager: TokenManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, auth = issuing_app(manager)
    client = app.test_client()

    def no_loop_per_call(*args: object) -> NoReturn:
        raise AssertionError("an event loop per call")

    monkeypatch.setattr(asyncio, "run", no_loop_per_call)
    before = {t.ident for t in threading.enumerate() if t.name == "jwtauth-background"}
    try:
        for _ in range(10):
            token = issue(app)
            assert client.delete("/logout", headers=bearer(token)).status_code == 204
            assert client.get("/me", headers=bearer(token)).status_code == 401
    finally:
        auth.runtime.close()
    after = {t.ident for t in threading.enumerate() if t.name == "jwtauth-background"}
    assert len(after - before) <= 1  # the one loop (closed by now, or still running)
    assert auth.runtime.revocations is not None


def test_revoking_needs_a_revocation_store(manager: TokenManager) -> None:
    app = Flask(__name__)
    auth = JWTAuth(app, Authenticator(manager))  # verification only: no store to write to
    with app.app_context(), pytest.raises(ConfigurationError, match="revocation store"):
        auth.revoke_user("alice")


def redis_app(redis_url: str, keyring: KeyRing, channel: str) -> tuple[Flask, JWTAuth]:
    from jwtauth.stores.redis import RedisRevocationStore

    store = RedisRevocationStore(redis_url, channel=channel, key_prefix=f"{channel}:")
    manager = TokenManager(keyring, issuer=ISSUER, audience=None)
    app = Flask(__name__)
    auth = JWTAuth(app, SyncRuntime(Authenticator(manager, revocations=store), revocations=store))

    @app.get("/me")
    @jwt_required()
    def me() -> ResponseReturnValue:
        return {"sub": get_jwt_identity()}

    return app, auth


def test_a_revocation_reaches_another_process_through_redis(redis_url: str) -> None:
    keyring = KeyRing(generate_key("ES256"))
    channel = f"jwtauth:test:{uuid.uuid4().hex}"  # this test's own: channels span databases
    (here, revoker), (there, listener) = (redis_app(redis_url, keyring, channel) for _ in "ab")
    try:
        token = issue(here)
        client = there.test_client()
        assert client.get("/me", headers=bearer(token)).status_code == 200  # subscribed
        with here.app_context():
            revoker.revoke_user("alice")
        revoked = time.monotonic()
        while (status := client.get("/me", headers=bearer(token)).status_code) == 200:
            assert time.monotonic() - revoked < LOGOUT_ALL_BOUND, "not heard in time"
            time.sleep(0.002)  # the next poll; the deadline above bounds the wait
        assert status == 401
    finally:
        revoker.runtime.close()
        listener.runtime.close()


# flask-jwt-extended's loaders --------------------------------------------------------------------


def test_user_lookup_takes_flask_jwt_extendeds_header_and_data(manager: TokenManager) -> None:
    app, auth = issuing_app(manager)
    seen: list[tuple[dict[str, Any], dict[str, Any]]] = []

    @auth.user_lookup_loader
    def load(jwt_header: dict[str, Any], jwt_data: dict[str, Any]) -> Any:
        seen.append((jwt_header, jwt_data))
        return {"name": jwt_data["sub"].title()}

    @app.get("/user")
    @jwt_required()
    def user() -> ResponseReturnValue:
        assert get_current_user() is current_user._get_current_object()
        return {"name": current_user["name"], "header": get_jwt_header()}

    answer = app.test_client().get("/user", headers=bearer(issue(app)))
    assert answer.status_code == 200, answer.json
    header = {"alg": "ES256", "typ": "at+jwt", "kid": manager.keyring.signing_key.kid}
    assert answer.json == {"name": "Alice", "header": header}
    assert seen[0][0] == header
    assert seen[0][1]["sub"] == "alice"


def test_the_loaders_form_is_read_once_at_registration(
    manager: TokenManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, auth = issuing_app(manager)

    @auth.user_lookup_loader
    def load(_jwt_header: Mapping[str, Any], jwt_data: Mapping[str, Any]) -> Any:
        return {"name": "Alice"}

    @app.get("/user")
    @jwt_required()
    def user() -> ResponseReturnValue:
        return {"name": current_user["name"]}

    def unread(*args: object) -> NoReturn:
        raise AssertionError("the signature was read again")

    monkeypatch.setattr(inspect, "signature", unread)
    client = app.test_client()
    for _ in range(3):
        assert client.get("/user", headers=bearer(issue(app))).json == {"name": "Alice"}


def _keyword_only(claims: Any, *, extra: Any) -> Any: ...


def _positional_only(jwt_header: Any, jwt_data: Any, /) -> Any: ...


def _claims_with_options(claims: Any, *, extra: Any = None) -> Any: ...


@pytest.mark.parametrize(
    "loader",
    [lambda: None, lambda a, b=None: None, lambda *args: None, lambda a, b, c: None, _keyword_only],
    ids=["none", "one-or-two", "variadic", "three", "required-keyword"],
)
def test_a_loader_that_fits_neither_form_or_both_is_refused(
    tokens: Tokens, loader: Callable[..., Any]
) -> None:
    auth = JWTAuth(Flask(__name__), tokens.authenticator())
    with pytest.raises(ConfigurationError, match="jwt_header, jwt_data"):
        auth.user_lookup_loader(loader)


def test_the_two_forms_are_told_apart(tokens: Tokens) -> None:
    auth = JWTAuth(Flask(__name__), tokens.authenticator())
    auth.user_lookup_loader(_positional_only)
    assert auth._lookup_takes_header
    auth.user_lookup_loader(_claims_with_options)
    assert not auth._lookup_takes_header


UNSUPPORTED_LOADERS = [
    "token_in_blocklist_loader", "expired_token_loader", "invalid_token_loader",
    "unauthorized_loader", "revoked_token_loader", "needs_fresh_token_loader",
    "user_lookup_error_loader", "token_verification_loader",
    "token_verification_failed_loader", "additional_headers_loader", "encode_key_loader",
    "decode_key_loader",
]  # fmt: skip


@pytest.mark.parametrize("name", UNSUPPORTED_LOADERS)
def test_loaders_without_a_counterpart_are_refused_where_registered(
    tokens: Tokens, name: str
) -> None:
    auth = JWTAuth(Flask(__name__), tokens.authenticator())
    with pytest.raises(ConfigurationError, match="migrating-from-flask-jwt-extended"):
        getattr(auth, name)(lambda *args: None)


def test_decode_token_and_get_jti(manager: TokenManager) -> None:
    app, auth = issuing_app(manager)
    token = issue(app)
    with app.app_context():
        claims = decode_token(token)
        assert claims["sub"] == "alice"
        assert get_jti(token) == claims["jti"]
        with pytest.raises(ConfigurationError):
            decode_token(token, csrf_value="x")  # type: ignore[arg-type]
        with pytest.raises(ConfigurationError):
            decode_token(token, allow_expired=True)
        auth.revoke_token(token)
        with pytest.raises(TokenError):
            decode_token(token)


# Start-up: what the settings cannot do fails init_app ---------------------------------------------


def strong_secret() -> str:
    return secrets.token_urlsafe(48)


def hs256(**config: Any) -> dict[str, Any]:
    return {"JWTAUTH_ISSUER": ISSUER, "JWTAUTH_ALGORITHM": "HS256", **config}


PLACEHOLDER = "changeme-" * 5

BAD_CONFIGS = {
    "no issuer": ({"JWTAUTH_SECRET": strong_secret(), "JWTAUTH_ALGORITHM": "HS256"}, "ISSUER"),
    "no secret": (hs256(), "JWTAUTH_SECRET"),
    "17-byte secret": (hs256(JWTAUTH_SECRET=secrets.token_hex(8) + "x"), "at least 32 bytes"),
    "placeholder in production": (
        hs256(JWTAUTH_SECRET=PLACEHOLDER, JWTAUTH_ENV="production"),
        "placeholder",
    ),
    "no key in production": (
        {"JWTAUTH_ISSUER": ISSUER, "JWTAUTH_ENV": "production"},
        "PRIVATE_KEY_FILE",
    ),
    "a typo": (hs256(JWTAUTH_SECRET=strong_secret(), JWTAUTH_ACESS_TTL=60), "JWTAUTH_ACESS_TTL"),
    "a bad value": (hs256(JWTAUTH_SECRET=strong_secret(), JWTAUTH_ACCESS_TTL=0), "ACCESS_TTL"),
    "flask-jwt-extended's key": (
        hs256(JWTAUTH_SECRET=strong_secret(), JWT_ACCESS_TOKEN_EXPIRES=timedelta(hours=1)),
        "JWT_ACCESS_TOKEN_EXPIRES",
    ),
}


@pytest.mark.usefixtures("clean_env")
@pytest.mark.parametrize("case", BAD_CONFIGS, ids=list(BAD_CONFIGS))
def test_init_app_refuses_what_cannot_work(case: str) -> None:
    config, named = BAD_CONFIGS[case]
    auth = JWTAuth()  # an extension made at import reads nothing yet
    app = Flask(__name__)
    app.config.update(config)
    # A 17-byte secret is warned about in development before the key refuses it.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SecurityWarning)
        with pytest.raises(ConfigurationError) as refused:
            auth.init_app(app)
    message = str(refused.value)
    assert named in message
    assert "\n" not in message
    secret = str(config.get("JWTAUTH_SECRET", "-" * 64))
    assert secret not in message
    assert secret[:8] not in message
    assert "jwtauth" not in app.extensions  # not half installed


@pytest.mark.usefixtures("clean_env")
def test_a_placeholder_secret_is_a_warning_in_development() -> None:
    # As `jwtauth serve` does: refused in production (above), accepted with a warning here.
    app = Flask(__name__)
    app.config.update(hs256(JWTAUTH_SECRET=PLACEHOLDER))
    with pytest.warns(SecurityWarning, match="placeholder"):
        JWTAuth(app)


@pytest.mark.usefixtures("clean_env")
def test_settings_come_from_app_config_over_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("JWTAUTH_ISSUER", "https://from-the-environment")
    monkeypatch.setenv("JWTAUTH_ALGORITHM", "HS256")
    monkeypatch.setenv("JWTAUTH_SECRET", strong_secret())
    app = Flask(__name__)
    app.config.update(JWTAUTH_ISSUER=ISSUER, JWTAUTH_ACCESS_TTL=timedelta(minutes=15))
    auth = JWTAuth(app)
    manager = auth.runtime.authenticator.manager
    with app.app_context():
        claims = manager.verify(create_access_token("alice"))
    assert claims["iss"] == ISSUER
    assert 899 < claims["exp"] - claims["iat"] <= 900
    assert auth.runtime.revocations is not None  # revoke_* work out of the box


@pytest.mark.usefixtures("clean_env")
def test_one_extension_serves_each_application_its_own_settings() -> None:
    auth = JWTAuth()
    apps = []
    for issuer in ("https://one.test", "https://two.test"):
        app = Flask(__name__)
        app.config.update(hs256(JWTAUTH_ISSUER=issuer, JWTAUTH_SECRET=strong_secret()))
        auth.init_app(app)

        @app.get("/me")
        @jwt_required()
        def me() -> ResponseReturnValue:
            return {"iss": get_jwt()["iss"]}

        apps.append(app)
    one, two = apps
    token = issue(one)
    assert one.test_client().get("/me", headers=bearer(token)).json == {"iss": "https://one.test"}
    assert two.test_client().get("/me", headers=bearer(token)).status_code == 401
    with pytest.raises(ConfigurationError):
        auth.runtime  # noqa: B018 - two applications and no application context


def test_settings_beside_an_authenticator_are_refused(tokens: Tokens) -> None:
    app = Flask(__name__)
    app.config["JWTAUTH_ISSUER"] = ISSUER
    with pytest.raises(ConfigurationError, match="JWTAUTH_ISSUER"):
        JWTAuth(app, tokens.authenticator())
