# mypy: disable-error-code="import-untyped,misc,untyped-decorator"
# (Django and DRF ship no type information.)
"""Django REST framework: the shared contract, deny by default, users, token views, the audit."""

from __future__ import annotations

import hashlib
import logging
import re
import subprocess
import sys
import threading
import tomllib
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.integrations.django_project import SECRET_KEY, SIGNING_KEY, configure, jwtauth_settings

configure()  # before DRF is imported: its views read the settings at import

from django.apps import apps  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.core.management.base import CommandError  # noqa: E402
from django.db import connection, connections, transaction  # noqa: E402
from django.test import override_settings  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from jwtauth.errors import ConfigurationError, WeakSecretError  # noqa: E402
from jwtauth.hygiene.redaction import RedactingFilter  # noqa: E402
from jwtauth.integrations._http import Authenticator  # noqa: E402
from jwtauth.integrations._sync import SyncRuntime  # noqa: E402
from jwtauth.integrations.django_app.apps import JWTAuthConfig  # noqa: E402
from jwtauth.integrations.django_app.checks import check_routes, check_settings  # noqa: E402
from jwtauth.integrations.django_app.conf import parse  # noqa: E402
from jwtauth.integrations.django_app.routes import audit_routes  # noqa: E402
from jwtauth.redis_namespace import redis_namespace  # noqa: E402
from jwtauth.revocation import Freshness  # noqa: E402
from jwtauth.stores.durable import DurableRevocationStore  # noqa: E402
from tests.integrations.contract import (  # noqa: E402
    CASES,
    PROTECTED,
    SCOPED,
    Case,
    Get,
    Reply,
    bearer,
    check,
    check_logout_all_propagates,
)

PASSWORD = "correct horse battery staple"


def config() -> JWTAuthConfig:
    found: JWTAuthConfig = apps.get_app_config("jwtauth")
    return found


@asynccontextmanager
async def serve(authenticator: Authenticator) -> AsyncIterator[Get]:
    with override_settings(JWTAUTH=jwtauth_settings(USER="stateless")):
        config().install(SyncRuntime(authenticator))
        client = APIClient()
        try:

            async def get(path: str, headers: Mapping[str, str]) -> Reply:
                answer = client.get(path, headers=dict(headers))
                lowered = {k.lower(): v for k, v in answer.headers.items()}
                return Reply(answer.status_code, lowered, answer.content)

            yield get
        finally:
            config().reset()


@pytest.mark.anyio
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
async def test_contract(case: Case) -> None:
    await check(serve, case)


@pytest.mark.anyio
async def test_logout_all_from_another_process_is_honoured_within_a_second(
    redis_url: str,
) -> None:
    assert await check_logout_all_propagates(serve, redis_url) < 1.0


# Users and the token views ---------------------------------------------------------------------


@pytest.fixture
def user() -> Iterator[Any]:
    config().reset()
    created = get_user_model().objects.create_user("carol", password=PASSWORD)
    try:
        yield created
    finally:
        created.delete()
        config().reset()


@pytest.fixture
def client() -> APIClient:
    return APIClient()


def obtain(client: APIClient) -> dict[str, str]:
    answer = client.post("/token/obtain/", {"username": "carol", "password": PASSWORD})
    assert answer.status_code == 200, answer.content
    assert answer["Cache-Control"] == "no-store"
    pair: dict[str, str] = answer.json()
    return pair


def me(client: APIClient, access: str) -> int:
    status: int = client.get("/me", headers=bearer(access)).status_code
    return status


def test_obtain_refresh_and_logout(user: Any, client: APIClient) -> None:
    pair = obtain(client)
    assert me(client, pair["access"]) == 200
    assert client.get("/me", headers=bearer(pair["refresh"])).status_code == 401  # wrong type

    refreshed = client.post("/token/refresh/", {"refresh": pair["refresh"]}).json()
    assert me(client, refreshed["access"]) == 200
    assert client.post("/token/logout/", {"refresh": refreshed["refresh"]}).status_code == 200
    # The session is over: its access tokens, old and new, and its refresh token.
    assert me(client, refreshed["access"]) == 401
    assert me(client, pair["access"]) == 401
    assert client.post("/token/refresh/", {"refresh": refreshed["refresh"]}).status_code == 401


def test_a_replayed_refresh_token_ends_the_session(user: Any, client: APIClient) -> None:
    pair = obtain(client)
    refreshed = client.post("/token/refresh/", {"refresh": pair["refresh"]}).json()
    replay = client.post("/token/refresh/", {"refresh": pair["refresh"]})
    assert replay.status_code == 401
    assert replay.json()["type"] == "urn:jwtauth:problem:invalid_refresh_token"
    assert me(client, refreshed["access"]) == 401  # the thief's use revoked the family
    other = obtain(client)  # another session of the same user is untouched
    assert me(client, other["access"]) == 200


# The token views are the embedded auth's service (issue 12) ---------------------------------------

RACERS = 50


@pytest.fixture
def unlimited(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No rate limits (JWTAUTH_RATE_LIMITS, read when the state is built): a race of 50 would
    otherwise meet the per-user refresh limit before the rotation."""
    monkeypatch.setenv("JWTAUTH_RATE_LIMITS", "false")
    config().reset()
    yield
    config().reset()


def race(view: str, token: str) -> list[Any]:
    """``RACERS`` threads posting ``{"refresh": token}`` to ``view`` at once (a barrier)."""
    barrier = threading.Barrier(RACERS)
    answers: list[Any] = [None] * RACERS

    def run(index: int) -> None:
        client = APIClient()
        try:
            barrier.wait()
            answers[index] = client.post(view, {"refresh": token}, format="json")
        finally:
            connections.close_all()  # this thread's own database connection

    threads = [threading.Thread(target=run, args=(i,)) for i in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def test_concurrent_refreshes_of_one_token_have_exactly_one_winner(
    user: Any, client: APIClient, unlimited: None
) -> None:
    pair = obtain(client)
    answers = race("/token/refresh/", pair["refresh"])
    statuses = sorted(a.status_code for a in answers)
    assert statuses.count(200) == 1, statuses
    assert statuses.count(401) == RACERS - 1, statuses
    winner = next(a.json() for a in answers if a.status_code == 200)
    # The losers presented a spent token: a reuse, so the whole session is revoked.
    assert client.post("/token/refresh/", {"refresh": winner["refresh"]}).status_code == 401
    assert me(client, winner["access"]) == 401
    assert me(client, obtain(client)["access"]) == 200  # a new session is another family


def test_concurrent_logouts_and_refreshes_leave_no_live_token(
    user: Any, client: APIClient, unlimited: None
) -> None:
    pair = obtain(client)
    answers = race("/token/logout/", pair["refresh"])
    assert sorted(a.status_code for a in answers).count(200) == 1
    assert me(client, pair["access"]) == 401


def test_the_refresh_token_is_the_services_opaque_one(user: Any, client: APIClient) -> None:
    pair = obtain(client)
    assert "." not in pair["refresh"]  # no JWT: 256 random bits, stored as a hash only
    digest = hashlib.sha256(pair["refresh"].encode()).digest()
    with connection.cursor() as cursor:  # in the sessions tables of the project's database
        cursor.execute(
            "SELECT s.user_id FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id"
            " WHERE t.token_hash = %s",
            [digest],
        )
        assert cursor.fetchall() == [(str(user.pk),)]


def test_claims_for_is_in_every_access_token_obtain_and_refresh(
    user: Any, client: APIClient
) -> None:
    pair = obtain(client)
    for _ in range(3):
        access = bearer(pair["access"])
        assert client.get(SCOPED, headers=access).status_code == 200  # require_scopes passes
        assert client.get(PROTECTED, headers=access).json()["name"] == "carol"
        pair = client.post("/token/refresh/", {"refresh": pair["refresh"]}).json()
    assert client.get(SCOPED, headers=bearer(pair["access"])).status_code == 200


def test_obtain_counts_against_the_login_rate_limits(
    user: Any, client: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JWTAUTH_RATE_LIMIT_LOGIN", "2")
    config().reset()
    wrong = {"username": "carol", "password": "nope"}  # pragma: allowlist secret
    answers = [client.post("/token/obtain/", wrong) for _ in range(3)]
    assert [a.status_code for a in answers] == [401, 401, 429]
    limited = answers[-1]
    assert limited["Content-Type"] == "application/problem+json"
    assert int(limited["Retry-After"]) >= 1
    assert limited.json()["type"] == "urn:jwtauth:problem:rate_limited"


def test_obtain_honours_the_lockout(
    user: Any, client: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JWTAUTH_RATE_LIMITS", "false")
    monkeypatch.setenv("JWTAUTH_LOCKOUT_THRESHOLD", "3")
    config().reset()
    # A name of its own: failed logins are counted in the database, which outlives each test.
    name = f"locked-{uuid.uuid4().hex[:8]}"
    get_user_model().objects.create_user(name, password=PASSWORD)
    for _ in range(3):
        wrong = client.post("/token/obtain/", {"username": name, "password": "nope"})
        assert wrong.status_code == 401
    locked = client.post("/token/obtain/", {"username": name, "password": PASSWORD})
    assert locked.status_code == 429  # the right password too, while the lockout runs
    assert locked.json()["type"] == "urn:jwtauth:problem:account_locked"
    assert int(locked["Retry-After"]) >= 1


@pytest.mark.parametrize(
    ("view", "body"),
    [
        ("/token/obtain/", {"username": "carol"}),
        ("/token/obtain/", {"username": "carol", "password": "x" * 1025}),
        ("/token/refresh/", {}),
        ("/token/logout/", {"refresh": 12}),
    ],
)
def test_a_missing_or_oversized_field_is_a_400_problem(
    client: APIClient, view: str, body: dict[str, Any]
) -> None:
    answer = client.post(view, body, format="json")
    assert answer.status_code == 400
    assert answer["Content-Type"] == "application/problem+json"
    assert answer.json()["errors"][0]["loc"][0] == "body"


def test_without_the_embedded_auth_the_views_answer_503_never_the_old_rotation(
    user: Any, client: APIClient
) -> None:
    # Verify-only settings arriving after the URLconf loaded (a settings change): no auth.
    verify_only = jwtauth_settings(JWK_URL="https://issuer.example/jwks.json")
    del verify_only["SIGNING_KEY"]
    with override_settings(JWTAUTH=verify_only):
        assert config().state().auth is None
        answer = client.post("/token/obtain/", {"username": "carol", "password": PASSWORD})
    assert answer.status_code == 503
    assert answer["Content-Type"] == "application/problem+json"
    assert answer.json()["type"] == "urn:jwtauth:problem:not_ready"


def test_wrong_credentials_are_one_answer(user: Any, client: APIClient) -> None:
    wrong = client.post("/token/obtain/", {"username": "carol", "password": "nope"})
    unknown = client.post("/token/obtain/", {"username": "nobody", "password": PASSWORD})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert PASSWORD not in unknown.content.decode()


def test_the_database_user_is_cached_briefly(user: Any, client: APIClient) -> None:
    access = obtain(client)["access"]
    assert client.get("/me", headers=bearer(access)).json() == {"username": "carol", "type": "User"}
    with CaptureQueriesContext(connection) as queries:
        assert me(client, access) == 200
    assert len(queries) == 0  # served from the cache
    config().state().users.discard(str(user.pk))
    with CaptureQueriesContext(connection) as queries:
        assert me(client, access) == 200
    assert len(queries) == 1


def test_deactivating_a_user_refuses_its_tokens_at_once(user: Any, client: APIClient) -> None:
    access = obtain(client)["access"]
    assert me(client, access) == 200  # now cached
    user.is_active = False
    user.save()
    assert me(client, access) == 401
    assert (
        client.post("/token/obtain/", {"username": "carol", "password": PASSWORD}).status_code
        == 401
    )


def test_a_deactivated_user_is_refused_by_a_stateless_service_too(
    user: Any, client: APIClient
) -> None:
    with override_settings(JWTAUTH=jwtauth_settings(USER="stateless")):
        access = obtain(client)["access"]
        answer = client.get("/me", headers=bearer(access)).json()
        assert answer == {"username": str(user.pk), "type": "TokenUser"}
        with CaptureQueriesContext(connection) as queries:
            assert me(client, access) == 200
        assert len(queries) == 0
        user.is_active = False
        user.save()  # the signal writes a subject cut-off to the revocation store
        assert me(client, access) == 401


def test_a_user_changed_in_a_transaction_is_revoked_at_commit_not_before(
    user: Any, client: APIClient
) -> None:
    # The cut-off is written by the auth's own connection; inside the project's transaction it
    # waited for that transaction's SQLite write lock (10 s, then no revocation at all).
    with override_settings(JWTAUTH=jwtauth_settings(USER="stateless")):
        rolled_back, committed = obtain(client)["access"], obtain(client)["access"]
        with transaction.atomic():
            user.is_active = False
            user.save()
            transaction.set_rollback(True)  # the change is not made
        assert me(client, rolled_back) == 200  # nothing was revoked for a change not made
        with transaction.atomic():
            user.is_active = False
            user.save()
        assert me(client, committed) == 401
        assert me(client, rolled_back) == 401


def test_a_deleted_user_is_refused(user: Any, client: APIClient) -> None:
    access = obtain(client)["access"]
    with connection.cursor() as cursor:  # as another process would: no signal reaches us
        cursor.execute("DELETE FROM auth_user WHERE id = %s", [user.pk])
    config().state().users.discard(str(user.pk))  # as the entry's expiry would
    answer = client.get("/me", headers=bearer(access))
    assert answer.status_code == 401
    assert answer.json()["type"] == "urn:jwtauth:problem:unknown_subject"


# Deny by default, public, scopes ----------------------------------------------------------------


def test_installing_the_app_makes_authentication_the_default() -> None:
    from rest_framework.views import APIView

    from jwtauth.integrations.drf import IsAuthenticatedUnlessPublic, JWTAuthentication

    assert list(APIView.permission_classes) == [IsAuthenticatedUnlessPublic]
    assert list(APIView.authentication_classes) == [JWTAuthentication]
    assert [w.id for w in check_settings()] == ["jwtauth.W002"]  # in-process revocation only
    with override_settings(JWTAUTH=jwtauth_settings(REDIS_URL="redis://127.0.0.1:6379/9")):
        assert check_settings() == []


def test_a_default_that_admits_anyone_is_a_check_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from rest_framework.permissions import AllowAny
    from rest_framework.views import APIView

    monkeypatch.setattr(APIView, "permission_classes", [AllowAny])
    assert [e.id for e in check_settings()] == ["jwtauth.W002", "jwtauth.E002"]


def test_public_views_ignore_a_bad_token_and_still_read_a_good_one(
    user: Any, client: APIClient
) -> None:
    access = obtain(client)["access"]
    assert client.get("/public", headers=bearer("not.a.token")).json()["user"] == "None"
    assert client.get("/public", headers=bearer(access)).json()["user"] == str(user.pk)
    assert client.get("/users/").status_code == 200  # a public viewset action
    assert client.get(f"/users/{user.pk}/").status_code == 401  # its sibling is not public


def test_a_stale_revocation_view_is_a_503_problem_and_public_views_still_answer(
    user: Any, client: APIClient
) -> None:
    access = obtain(client)["access"]
    store = config().state().runtime.revocations
    assert isinstance(store, DurableRevocationStore)
    view = store.propagation.local.view  # the RevocationList verification reads
    gate = view.freshness
    # No feed vouches for the view (the store tests break them for real): nothing confirms it.
    view.freshness = Freshness(clock=lambda: 0.0)
    try:
        refused = client.get("/me", headers=bearer(access))
        assert refused.status_code == 503, refused.content
        assert refused["Content-Type"] == "application/problem+json"
        assert refused.json()["type"] == "urn:jwtauth:problem:revocations_unavailable"
        assert int(refused["Retry-After"]) >= 1
        assert "WWW-Authenticate" not in refused  # not the token's fault: no new login asked
        public = client.get("/public", headers=bearer(access))
        assert public.status_code == 200
        assert public.json()["user"] == "None"  # served, without the token it could not check
    finally:
        view.freshness = gate
    assert me(client, access) == 200


def test_a_scoped_viewset_action(user: Any, client: APIClient) -> None:
    access = obtain(client)["access"]
    refused = client.get("/users/admin/", headers=bearer(access))
    assert refused.status_code == 403
    assert 'scope="users:admin"' in refused["WWW-Authenticate"]


def test_simplejwt_header_types_are_accepted(user: Any, client: APIClient) -> None:
    with override_settings(JWTAUTH=jwtauth_settings(AUTH_HEADER_TYPES=("JWT",))):
        access = obtain(client)["access"]
        assert client.get("/me", headers={"Authorization": f"JWT {access}"}).status_code == 200
        refused = client.get("/me", headers=bearer(access))
        assert refused.status_code == 401


def test_requests_use_one_background_thread_per_process(user: Any, client: APIClient) -> None:
    access = obtain(client)["access"]
    for _ in range(20):
        assert me(client, access) == 200
    named = [t for t in threading.enumerate() if t.name == "jwtauth-background"]
    assert len(named) == 1


# Settings -----------------------------------------------------------------------------------------


def test_simplejwt_settings_are_read_under_their_own_name() -> None:
    raw = {**jwtauth_settings(), "ROTATE_REFRESH_TOKENS": True, "USER_ID_CLAIM": "user_id"}
    options = parse("SIMPLE_JWT", raw, secret_key=SECRET_KEY)
    assert options.ignored == ("ROTATE_REFRESH_TOKENS", "USER_ID_CLAIM")
    with override_settings(JWTAUTH=None, SIMPLE_JWT=raw):
        assert [w.id for w in check_settings()] == ["jwtauth.W001"] * 2 + ["jwtauth.W002"]


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"SIGNING_KEY": None}, ConfigurationError),  # no fallback to SECRET_KEY
        ({"SIGNING_KEY": SECRET_KEY + "x" * 20}, None),
        ({"ISSUER": None}, ConfigurationError),
        ({"SIGNING_KEY": "short"}, WeakSecretError),
        ({"SIGINING_KEY": "typo"}, ConfigurationError),
        ({"USER": "session"}, ConfigurationError),
        ({"ACCESS_TOKEN_LIFETIME": 0}, ConfigurationError),
        ({"REDIS_NAMESPACE": "two:parts"}, ConfigurationError),
        ({"REDIS_NAMESPACE": "shop-prod"}, None),
    ],
)
def test_settings_are_checked(overrides: dict[str, Any], error: type[Exception] | None) -> None:
    raw = {k: v for k, v in {**jwtauth_settings(), **overrides}.items() if v is not None}
    if error is None:
        parse("JWTAUTH", raw, secret_key=SECRET_KEY)
        return
    with pytest.raises(error):
        parse("JWTAUTH", raw, secret_key=SECRET_KEY)


def test_the_secret_key_is_refused_as_signing_key() -> None:
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        parse("JWTAUTH", jwtauth_settings(SIGNING_KEY=SECRET_KEY), secret_key=SECRET_KEY)
    with override_settings(JWTAUTH=jwtauth_settings(SIGNING_KEY=SECRET_KEY)):
        errors = check_settings()
    assert [e.id for e in errors] == ["jwtauth.E001"]
    assert SECRET_KEY not in errors[0].msg


# The audit ------------------------------------------------------------------------------------


def test_the_audit_reports_each_action() -> None:
    rows = {(r.path, r.methods[0]): r.protection for r in audit_routes()}
    assert rows[(PROTECTED, "GET")] == "protected"
    assert rows[("/public", "GET")] == "public"
    assert rows[("/open", "GET")] == "public"  # AllowAny set on the view itself
    assert rows[("/users/", "GET")] == "public"
    assert rows[("/users/<pk>/", "GET")] == "protected"
    assert rows[("/users/admin/", "GET")] == "protected"
    assert rows[("/token/obtain/", "POST")] == "public"
    assert check_routes() == []


def test_the_audit_flags_what_admits_anonymous_requests() -> None:
    from django.urls import path
    from rest_framework.permissions import AllowAny, BasePermission, IsAuthenticatedOrReadOnly
    from rest_framework.response import Response
    from rest_framework.views import APIView

    from jwtauth.integrations.django_app.routes import audit_urlpatterns

    class Mine(BasePermission):
        pass

    def view_with(*classes: type) -> Any:
        class View(APIView):
            permission_classes = classes

            def get(self, request: Any) -> Response:
                return Response()

            def post(self, request: Any) -> Response:
                return Response()

        return View.as_view()

    rows = audit_urlpatterns(
        [
            path("none", view_with()),
            path("readonly", view_with(IsAuthenticatedOrReadOnly)),
            path("mine", view_with(Mine)),
            path("open", view_with(AllowAny)),
        ]
    )
    found = {(r.path, r.methods[0]): (r.protection, r.detail) for r in rows}
    assert found[("/none", "GET")][0] == "unprotected"
    assert found[("/readonly", "GET")][0] == "unprotected"
    assert found[("/readonly", "POST")][0] == "protected"
    assert found[("/mine", "GET")] == (
        "unprotected",
        "auth=JWTAuthentication perms=Mine (Mine not known to require a user)",
    )
    assert found[("/open", "GET")][0] == "public"
    Mine.requires_authentication = True
    assert audit_urlpatterns([path("mine", view_with(Mine))])[0].protection == "protected"


def test_the_audit_command_exits_non_zero_on_an_unprotected_route(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    call_command("jwtauth_audit")  # the test URLconf: every route protected or public
    from jwtauth.integrations.audit import RouteRow
    from jwtauth.integrations.django_app.management.commands import jwtauth_audit

    monkeypatch.setattr(
        jwtauth_audit, "audit_routes", lambda: [RouteRow("/x", ("GET",), "unprotected", "why")]
    )
    with pytest.raises(CommandError) as raised:
        call_command("jwtauth_audit")
    assert raised.value.returncode == 1


def test_the_modules_needing_django_settings_declare_all() -> None:
    import importlib

    from tests.test_public_api import NEEDS_DJANGO_SETTINGS

    for name in NEEDS_DJANGO_SETTINGS:
        module = importlib.import_module(name)
        for exported in module.__all__:
            assert hasattr(module, exported), f"{name}.{exported}"


# Every error a problem (issue 12: the token views answered 500 for a non-object body) -------


@pytest.mark.parametrize("body", [b"[]", b'"x"', b"12", b"null"])
@pytest.mark.parametrize("view", ["/token/obtain/", "/token/refresh/", "/token/logout/"])
def test_a_json_body_that_is_no_object_is_a_400_problem(
    client: APIClient, view: str, body: bytes
) -> None:
    answer = client.post(view, body, content_type="application/json")
    assert answer.status_code == 400
    assert answer["Content-Type"] == "application/problem+json"
    assert answer.json()["status"] == 400


@pytest.mark.parametrize(
    ("method", "view", "body", "status"),
    [
        ("post", "/token/obtain/", b"{not json", 400),  # ParseError
        ("get", "/token/obtain/", b"", 405),  # MethodNotAllowed
        ("post", "/token/obtain/", b"x=1", 415),  # UnsupportedMediaType
    ],
)
def test_drf_errors_of_the_token_views_are_problems(
    client: APIClient, method: str, view: str, body: bytes, status: int
) -> None:
    content_type = "text/plain" if status == 415 else "application/json"
    answer = getattr(client, method)(view, body, content_type=content_type)
    assert answer.status_code == status
    assert answer["Content-Type"] == "application/problem+json"
    problem = answer.json()
    assert {"type", "title", "status", "detail"} <= problem.keys()
    assert problem["status"] == status
    if status == 405:
        assert "POST" in answer["Allow"]


def test_the_django_extra_installs_what_the_guide_uses() -> None:
    pyproject = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())
    extra = pyproject["project"]["optional-dependencies"]["django"]
    assert {re.split(r"[<>=\[]", spec)[0] for spec in extra} >= {
        "django",
        "djangorestframework",
        "redis",
    }


def test_redis_url_without_the_redis_package_is_one_line() -> None:
    # In a fresh process, with redis made unimportable before anything loads it.
    code = (
        "import sys; sys.modules['redis'] = None\n"
        "from jwtauth.errors import ConfigurationError\n"
        "from jwtauth.integrations.django_app.conf import build_runtime, parse\n"
        "from tests.integrations.django_project import jwtauth_settings\n"
        "raw = jwtauth_settings(REDIS_URL='redis://127.0.0.1:6379/15')\n"
        "try:\n"
        "    build_runtime(parse('JWTAUTH', raw, secret_key=None))\n"
        "except ConfigurationError as exc:\n"
        "    print(exc)\n"
    )
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=root, check=True
    )
    assert result.stdout == "REDIS_URL needs the redis package: pip install 'jwtauth[django]'\n"


START = """
import warnings
import django
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
settings.configure(
    DEBUG={debug}, SECRET_KEY={secret_key!r},
    INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "rest_framework",
                    "jwtauth.integrations.django_app"],
    DATABASES={{"default": {{"ENGINE": "django.db.backends.sqlite3", "NAME": {database!r}}}}},
    JWTAUTH={{"SIGNING_KEY": {key!r}, "ISSUER": "https://issuer.example"}},
)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    try:
        django.setup()
    except ImproperlyConfigured as exc:
        print("refused:", exc)
    else:
        print("started;", [str(w.message) for w in caught if "SIGNING_KEY" in str(w.message)])
"""


def start(key: str, *, debug: bool, database: Path) -> str:
    """What django.setup() does with this signing key, in a process of its own."""
    result = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [
            sys.executable,
            "-c",
            START.format(debug=debug, key=key, database=str(database), secret_key=SECRET_KEY),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


@pytest.mark.parametrize("debug", [False, True])
def test_a_short_signing_key_stops_the_start(debug: bool, tmp_path: Path) -> None:
    out = start("x" * 17, debug=debug, database=tmp_path / "db.sqlite3")
    assert out.startswith("refused: jwtauth: ")
    assert "x" * 17 not in out  # the reason, never the secret


@pytest.mark.parametrize("key", ["changeme" * 5, "a" * 48])  # a placeholder, no entropy
def test_a_weak_signing_key_stops_a_production_start_and_warns_in_debug(
    key: str, tmp_path: Path
) -> None:
    refused = start(key, debug=False, database=tmp_path / "db.sqlite3")
    assert refused.startswith("refused: jwtauth: JWTAUTH['SIGNING_KEY']: ")
    assert key not in refused
    warned = start(key, debug=True, database=tmp_path / "db.sqlite3")
    assert warned.startswith("started; [\"jwtauth: JWTAUTH['SIGNING_KEY']: ")


def test_a_project_on_in_memory_sqlite_still_starts_without_the_auth_api() -> None:
    # Verification keeps working; only the auth API and the token views need a database the
    # auth tables can live in (they refuse when the URLconf loads, below).
    assert start(SIGNING_KEY, debug=False, database=Path(":memory:")) == "started; []\n"


URLCONF = """
import django
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
settings.configure(
    SECRET_KEY={secret_key!r}, ROOT_URLCONF="tests.integrations.drf_urls",
    INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "rest_framework",
                    "jwtauth.integrations.django_app"],
    DATABASES={{"default": {{"ENGINE": "django.db.backends.sqlite3", "NAME": {database!r}}}}},
    JWTAUTH={jwtauth!r},
)
django.setup()
try:
    call_command("check")
except ImproperlyConfigured as exc:
    print("refused:", exc)
"""


@pytest.mark.parametrize(
    ("database", "settings", "reason"),
    [
        (":memory:", {}, "DATABASES['default']: the auth tables need a SQLite file"),
        (
            "db.sqlite3",
            {"SIGNING_KEY": None, "JWK_URL": "https://issuer.example/jwks.json"},
            "JWTAUTH has no SIGNING_KEY",
        ),
    ],
)
def test_mounting_the_token_views_without_the_embedded_auth_stops_the_start(
    database: str, settings: dict[str, Any], reason: str, tmp_path: Path
) -> None:
    raw = {k: v for k, v in {**jwtauth_settings(), **settings}.items() if v is not None}
    name = database if database == ":memory:" else str(tmp_path / database)
    code = URLCONF.format(secret_key=SECRET_KEY, database=name, jwtauth=raw)
    result = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    prefix = "refused: jwtauth: the token views need the embedded auth; "
    assert result.stdout.startswith(prefix + reason), result.stdout + result.stderr
    assert result.stdout.count("\n") == 1  # one line
    assert SIGNING_KEY not in result.stdout


def test_the_signing_key_is_redacted_from_every_log_line() -> None:
    # SIGNING_KEY lives in the Django settings, not in jwtauth's Settings: the state names it
    # to the redaction filter itself when it is built.
    config().reset()
    config().state()
    record = logging.LogRecord("app", logging.ERROR, __file__, 1, "key=%s", (SIGNING_KEY,), None)
    filters = [f for h in logging.getLogger().handlers for f in h.filters]
    assert any(isinstance(f, RedactingFilter) for f in filters)
    for redactor in (f for f in filters if isinstance(f, RedactingFilter)):
        redactor.filter(record)
    assert SIGNING_KEY not in record.getMessage()


def test_the_runtime_and_the_auth_api_share_one_redis_namespace(redis_url: str) -> None:
    # REDIS_NAMESPACE (or the issuer's by default) for both: a logout through the auth API
    # must reach the runtime that verifies the project's own views.
    for extra in ({}, {"REDIS_NAMESPACE": "shop-prod"}):
        with override_settings(JWTAUTH={**jwtauth_settings(), "REDIS_URL": redis_url, **extra}):
            config().reset()
            state = config().state()
            assert state.auth is not None
            runtime_store = state.runtime.revocations
            assert runtime_store is state.auth.revocations
            expected = extra.get("REDIS_NAMESPACE") or redis_namespace(None, state.options.issuer)
            assert isinstance(runtime_store, DurableRevocationStore)
            assert runtime_store.propagation._prefix == f"jwtauth:{expected}:rev:"  # type: ignore[attr-defined]
    config().reset()
