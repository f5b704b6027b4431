"""docs/migrating-from-fastapi-pyjwt.md, applied by its own words to the FastAPI tutorial's JWT
app with scopes (tests/integrations/samples/fastapi_pyjwt_app.py), which must then work on
jwtauth, over HTTP.

The guide's steps are read from the markdown by the marker grammar of
:mod:`tests.integrations.migrate`, never restated here. Its environment block is applied as
written: its ``jwtauth`` commands run in the test's working directory and its variables are
set, except the database and Redis URLs, which name the guide's example hosts and are replaced
by this test's own PostgreSQL database and Redis database.
"""

from __future__ import annotations

import ast
import hashlib
import hmac
import re
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from types import ModuleType
from typing import Annotated, Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePrivateKey
from fastapi import FastAPI, Security
from typer.testing import CliRunner

from jwtauth.cli import app as cli
from jwtauth.integrations.fastapi import audit_routes, current_user
from tests.forge import b64u, jseg, registered_claims
from tests.integrations.migrate import commands, environment, load, migrate, replacements

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "migrating-from-fastapi-pyjwt.md"
SAMPLE = Path(__file__).resolve().parent / "samples" / "fastapi_pyjwt_app.py"
PROBLEM_JSON = "application/problem+json"
CLIENT = ("203.0.113.7", 40000)
# The tutorial's demo accounts: johndoe, and alice, who is disabled.
JOHN = {"email": "johndoe@example.com", "password": "secret"}  # pragma: allowlist secret
ALICE = {"email": "alicechains@example.com", "password": "secret2"}  # pragma: allowlist secret


@pytest.fixture
def original() -> Iterator[ModuleType]:
    try:
        yield load(SAMPLE, "fastapi_pyjwt_original")
    finally:
        sys.modules.pop("fastapi_pyjwt_original", None)


@pytest.fixture
def migrated(
    clean_env: None,
    postgres_url: str,
    redis_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[ModuleType]:
    guide = GUIDE.read_text(encoding="utf-8")
    for args in commands(guide):
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0, result.output
    for name, value in environment(guide).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("JWTAUTH_DATABASE_URL", postgres_url)
    monkeypatch.setenv("JWTAUTH_REDIS_URL", redis_url)
    path = tmp_path / "fastapi_pyjwt_migrated.py"
    path.write_text(migrate(SAMPLE.read_text(encoding="utf-8"), guide), encoding="utf-8")
    try:
        yield load(path, "fastapi_pyjwt_migrated")
    finally:
        sys.modules.pop("fastapi_pyjwt_migrated", None)


@asynccontextmanager
async def reach(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The app over HTTP in process, its lifespan (the auth's stores) running."""
    transport = httpx.ASGITransport(app=app, client=CLIENT)
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as http,
        app.router.lifespan_context(app),
    ):
        yield http


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def problem(answer: httpx.Response, status: int, code: str, *, challenge: bool = True) -> None:
    """A problem+json refusal; a refused token's 401 carries the RFC 6750 challenge."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith(PROBLEM_JSON)
    body = answer.json()
    assert body["type"] == f"urn:jwtauth:problem:{code}"
    assert body["status"] == status
    assert {"title", "detail"} <= body.keys()
    if status == 401 and challenge:
        assert answer.headers["www-authenticate"].startswith("Bearer")


async def log_in(http: httpx.AsyncClient) -> dict[str, Any]:
    answer = await http.post("/auth/login", json=JOHN)
    assert answer.status_code == 200, answer.text
    pair: dict[str, Any] = answer.json()
    assert pair["token_type"] == "Bearer"
    return pair


async def refresh(http: httpx.AsyncClient, pair: dict[str, Any]) -> dict[str, Any]:
    answer = await http.post("/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert answer.status_code == 200, answer.text
    fresh: dict[str, Any] = answer.json()
    return fresh


async def test_the_sample_is_the_tutorials_working_app(original: ModuleType) -> None:
    async with reach(original.app) as http:
        form = {"username": "johndoe", "password": JOHN["password"], "scope": "me items"}
        token = (await http.post("/token", data=form)).json()["access_token"]
        assert (await http.get("/users/me/", headers=bearer(token))).json()["username"] == (
            "johndoe"
        )
        items = await http.get("/users/me/items/", headers=bearer(token))
        assert items.json() == [{"item_id": "Foo", "owner": "johndoe"}]
        assert (await http.get("/users/me/")).status_code == 401


async def test_the_guide_migrates_the_sample(migrated: ModuleType) -> None:
    app = migrated.app
    async with reach(app) as http:
        # Deny by default: every route of the app needs a token, in problem+json.
        for path in ("/users/me/", "/users/me/items/", "/status/"):
            problem(await http.get(path), 401, "missing_token")
        problem(await http.get("/users/me/", headers=bearer("not.a.token")), 401, "malformed_token")
        # The route the guide marks public answers without a token, and reads no form.
        gone = await http.post("/token", data={"username": "johndoe", "password": "x"})
        assert gone.status_code == 410
        assert gone.headers["content-type"].startswith(PROBLEM_JSON)
        assert "/auth/login" in gone.json()["detail"]
        assert (await http.get("/openapi.json")).status_code == 200
        assert (await http.get("/docs")).status_code == 200

        # Login is jwtauth's, over the app's own users: wrong password and disabled user alike.
        wrong = await http.post("/auth/login", json={**JOHN, "password": JOHN["password"] + "!"})
        problem(wrong, 401, "invalid_credentials", challenge=False)
        disabled = await http.post("/auth/login", json=ALICE)
        problem(disabled, 401, "invalid_credentials", challenge=False)
        pair = await log_in(http)
        access = bearer(pair["access_token"])
        me = await http.get("/users/me/", headers=access)
        assert me.json() == {
            "username": "johndoe",
            "email": "johndoe@example.com",
            "full_name": "John Doe",
            "disabled": False,
        }
        items = await http.get("/users/me/items/", headers=access)
        assert items.json() == [{"item_id": "Foo", "owner": "johndoe"}]
        assert (await http.get("/status/", headers=access)).json() == {"status": "ok"}
        sessions = (await http.get("/auth/sessions", headers=access)).json()
        assert [s["current"] for s in sessions] == [True]

        # Scopes come from the claims hook at every refresh, and require_scopes enforces them.
        migrated.USER_SCOPES["johndoe"] = "me"
        pair = await refresh(http, pair)
        access = bearer(pair["access_token"])
        problem(await http.get("/users/me/items/", headers=access), 403, "insufficient_scope")
        assert (await http.get("/users/me/", headers=access)).status_code == 200
        del migrated.USER_SCOPES["johndoe"]
        pair = await refresh(http, pair)
        access = bearer(pair["access_token"])
        problem(await http.get("/users/me/", headers=access), 403, "insufficient_scope")
        assert (await http.get("/status/", headers=access)).status_code == 200

        # Logout revokes the access token and the session at once.
        assert (await http.post("/auth/logout", headers=access)).status_code == 204
        problem(await http.get("/status/", headers=access), 401, "token_revoked")
        spent = await http.post("/auth/refresh", json={"refresh_token": pair["refresh_token"]})
        assert spent.status_code == 401
    assert not migrated.auth.started  # the app's lifespan closed the auth's stores


async def test_a_disabled_user_is_refused_and_ended(migrated: ModuleType) -> None:
    async with reach(migrated.app) as http:
        pair = await log_in(http)
        access = bearer(pair["access_token"])
        migrated.fake_users_db["johndoe"]["disabled"] = True
        # The user loader refuses the user at once, on the routes that load it ...
        problem(await http.get("/users/me/", headers=access), 401, "unknown_subject")
        assert (await http.get("/status/", headers=access)).status_code == 401
        # ... and end_user, which the guide names for this, ends the tokens and the session.
        await migrated.auth.service.end_user("johndoe")
        problem(await http.get("/auth/sessions", headers=access), 401, "token_revoked")
        spent = await http.post("/auth/refresh", json={"refresh_token": pair["refresh_token"]})
        assert spent.status_code == 401


async def test_tokens_of_the_tutorial_and_its_secret_are_refused(
    original: ModuleType, migrated: ModuleType, tmp_path: Path
) -> None:
    async with reach(original.app) as http:
        form = {"username": "johndoe", "password": JOHN["password"], "scope": "me items"}
        old = (await http.post("/token", data=form)).json()["access_token"]
    now = int(time.time())
    secret = original.SECRET_KEY.encode()
    async with reach(migrated.app) as http:
        # What the tutorial issued: no kid, typ JWT, HS256 with the public tutorial secret.
        problem(await http.get("/users/me/", headers=bearer(old)), 401, "unknown_key")
        keys = (await http.get("/.well-known/jwks.json")).json()["keys"]
        kid = keys[0]["kid"]
        claims = registered_claims(
            migrated.auth.issuer, migrated.auth.settings.audience, now, sub="johndoe"
        )
        claims["scope"] = "me items"
        # Everything jwtauth asks of a token but the signature: its kid, typ at+jwt, its iss and
        # aud; HS256 with the old secret, then with the server's public key as the HMAC secret.
        pem = Path(migrated.auth.settings.private_key_file).read_bytes()
        private = serialization.load_pem_private_key(pem, password=None)
        assert isinstance(private, EllipticCurvePrivateKey)
        public = private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        for key in (secret, public):
            for typ in ("at+jwt", "JWT"):
                signing_input = f"{jseg({'alg': 'HS256', 'typ': typ, 'kid': kid})}.{jseg(claims)}"
                mac = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
                forged = f"{signing_input}.{b64u(mac)}"
                refused = await http.get("/users/me/", headers=bearer(forged))
                assert refused.status_code == 401, refused.text
                assert refused.headers["content-type"].startswith(PROBLEM_JSON)
        # The same claims through PyJWT's own encoder and the old secret: refused as well.
        by_pyjwt = jwt.encode(claims, original.SECRET_KEY, algorithm="HS256", headers={"kid": kid})
        assert (await http.get("/users/me/", headers=bearer(by_pyjwt))).status_code == 401
        # The guide's own tokens pass, so the refusals above are about the forgeries.
        pair = await log_in(http)
        assert (await http.get("/users/me/", headers=bearer(pair["access_token"]))).is_success


async def test_a_security_scope_left_in_place_checks_nothing(migrated: ModuleType) -> None:
    """Why the guide turns every ``Security(..., scopes=[...])`` into ``require_scopes``."""
    app: FastAPI = migrated.app

    @app.get("/left-as-it-was")
    async def left(user: Annotated[Any, Security(current_user, scopes=["admin"])]) -> str:
        return str(user.username)

    async with reach(app) as http:
        access = bearer((await log_in(http))["access_token"])  # scope "me items", no admin
        assert (await http.get("/left-as-it-was", headers=access)).json() == "johndoe"


def test_every_route_is_protected_or_public(migrated: ModuleType) -> None:
    rows = {(row.path, row.methods): row for row in audit_routes(migrated.app)}
    assert [r for r in rows.values() if r.protection == "unprotected"] == []
    assert rows["/token", ("POST",)].protection == "public"
    assert rows["/users/me/items/", ("GET",)].protection == "protected"
    assert rows["/users/me/items/", ("GET",)].detail == "items me"
    assert rows["/users/me/", ("GET",)].detail == "me"
    assert rows["/status/", ("GET",)].protection == "protected"


def top_level_names(source: str) -> set[str]:
    names: set[str] = set()
    for node in ast.parse(source).body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return names


def code_of(source: str) -> str:
    """The module's code, without its docstring and comments."""
    body = ast.parse(source).body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    return "\n".join(ast.unparse(node) for node in body)


def test_the_migrated_sample_keeps_nothing_of_pyjwt_or_its_secret() -> None:
    guide = GUIDE.read_text(encoding="utf-8")
    source = code_of(migrate(SAMPLE.read_text(encoding="utf-8"), guide))
    assert "import jwt" in code_of(SAMPLE.read_text(encoding="utf-8"))
    for gone in ("import jwt", "pwdlib", "SECRET_KEY", "OAuth2Password", "SecurityScopes"):
        assert gone not in source, gone
    # A Security(..., scopes=[...]) left in place would check no scope with jwtauth.
    assert re.search(r"\bSecurity\(", source) is None
    assert re.search(r"\bget_current_user\b", source) is None


def test_the_reference_names_everything_the_migration_removes() -> None:
    guide = GUIDE.read_text(encoding="utf-8")
    sample = SAMPLE.read_text(encoding="utf-8")
    removed = top_level_names(sample) - top_level_names(migrate(sample, guide))
    assert {"SECRET_KEY", "jwt", "get_current_user", "Security"} <= removed
    assert sorted(name for name in removed if f"`{name}`" not in guide) == []


def test_a_before_block_the_sample_lacks_fails_the_migration() -> None:
    guide = GUIDE.read_text(encoding="utf-8")
    assert "own_items" in replacements(guide)
    changed = guide.replace('scopes=["items"])],', 'scopes=["item"])],')
    with pytest.raises(AssertionError, match="own_items"):
        migrate(SAMPLE.read_text(encoding="utf-8"), changed)
