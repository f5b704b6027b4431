"""docs/migrating-from-flask-jwt-extended.md, applied by its own words to a flask-jwt-extended
application (tests/integrations/samples/fjwt_app.py), which must then work on jwtauth.

The guide's mechanical steps are read from the markdown, never restated here, by the marker
grammar of :mod:`tests.integrations.migrate` (a names table, an environment block, and
before/after blocks the sample must hold exactly once).
"""

from __future__ import annotations

import re
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import flask_jwt_extended
import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.integrations.migrate import environment, load, migrate, renames

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "migrating-from-flask-jwt-extended.md"
SAMPLE = Path(__file__).resolve().parent / "samples" / "fjwt_app.py"
PROBLEM_JSON = "application/problem+json"


@pytest.fixture
def password(clean_env: None, monkeypatch: pytest.MonkeyPatch) -> str:
    """The sample's secret and demo password, made for this test."""
    value = secrets.token_urlsafe(16)
    monkeypatch.setenv("SAMPLE_SECRET", secrets.token_urlsafe(48))
    monkeypatch.setenv("SAMPLE_PASSWORD", value)
    return value


@pytest.fixture
def original(password: str) -> Iterator[ModuleType]:
    try:
        yield load(SAMPLE, "fjwt_app_original")
    finally:
        sys.modules.pop("fjwt_app_original", None)


@pytest.fixture
def migrated(
    password: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ModuleType]:
    guide = GUIDE.read_text(encoding="utf-8")
    for name, value in environment(guide).items():
        monkeypatch.setenv(name, value)
    path = tmp_path / "fjwt_app_migrated.py"
    path.write_text(migrate(SAMPLE.read_text(encoding="utf-8"), guide), encoding="utf-8")
    module = load(path, "fjwt_app_migrated")
    try:
        yield module
    finally:
        module.jwt.runtime.close()
        sys.modules.pop("fjwt_app_migrated", None)


def log_in(client: FlaskClient, password: str) -> dict[str, str]:
    answer = client.post("/login", json={"username": "alice", "password": password})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.json is not None
    return {"Authorization": f"Bearer {answer.json['access_token']}"}


def problem(answer: Any, status: int, code: str) -> None:
    assert answer.status_code == status, answer.get_data(as_text=True)
    assert answer.content_type == PROBLEM_JSON
    assert answer.json["type"] == f"urn:jwtauth:problem:{code}"
    assert answer.json["status"] == status
    assert {"title", "detail"} <= answer.json.keys()


def test_the_sample_is_a_working_flask_jwt_extended_application(
    original: ModuleType, password: str
) -> None:
    client = original.app.test_client()
    headers = log_in(client, password)
    assert client.get("/protected", headers=headers).json == {
        "logged_in_as": "alice",
        "name": "Alice",
        "plan": "pro",
    }
    assert client.post("/password", headers=headers).status_code == 200
    assert client.delete("/logout", headers=headers).status_code == 200
    refused = client.get("/protected", headers=headers)
    assert refused.status_code == 401
    assert refused.json == {"msg": "Token has been revoked"}


def test_the_guide_migrates_the_sample(migrated: ModuleType, password: str) -> None:
    assert isinstance(migrated.app, Flask)
    assert "jwtauth" in migrated.app.extensions
    assert "flask-jwt-extended" not in migrated.app.extensions
    client = migrated.app.test_client()
    wrong = client.post("/login", json={"username": "alice", "password": password + "x"})
    assert wrong.status_code == 401  # the application's own answer, untouched
    problem(client.get("/protected"), 401, "missing_token")
    assert client.get("/optional").json == {"logged_in_as": None}

    headers = log_in(client, password)
    assert client.get("/protected", headers=headers).json == {
        "logged_in_as": "alice",
        "name": "Alice",
        "plan": "pro",
    }
    assert client.get("/optional", headers=headers).json == {"logged_in_as": "alice"}
    assert client.post("/password", headers=headers).status_code == 200  # a fresh login token

    assert client.delete("/logout", headers=headers).status_code == 200
    problem(client.get("/protected", headers=headers), 401, "token_revoked")
    problem(client.post("/password", headers=headers), 401, "token_revoked")
    assert client.get("/protected", headers=log_in(client, password)).status_code == 200


def test_the_migrated_sample_imports_nothing_of_flask_jwt_extended() -> None:
    guide = GUIDE.read_text(encoding="utf-8")
    source = migrate(SAMPLE.read_text(encoding="utf-8"), guide)
    assert "flask_jwt_extended" not in source
    assert "BLOCKLIST" not in source
    assert re.search(r"\bJWT_\w+", source) is None


def test_flask_jwt_extended_tokens_are_refused_after_the_switch(
    original: ModuleType, migrated: ModuleType, password: str
) -> None:
    # What the guide's step 6 tells clients: one login after the deployment.
    old = log_in(original.app.test_client(), password)
    refused = migrated.app.test_client().get("/protected", headers=old)
    assert refused.status_code == 401
    assert refused.content_type == PROBLEM_JSON
    assert refused.json is not None
    assert refused.json["type"] == "urn:jwtauth:problem:unknown_key"  # they name no kid


def test_the_reference_names_everything_flask_jwt_extended_offers() -> None:
    """Every public name, JWTManager method and JWT_* setting of the installed
    flask-jwt-extended appears in the guide, with what replaces it."""
    guide = GUIDE.read_text(encoding="utf-8")
    modules = {"config", "default_callbacks", "exceptions", "internal_utils", "jwt_manager"}
    modules |= {"tokens", "typing", "utils", "view_decorators"}
    names = {n for n in dir(flask_jwt_extended) if not n.startswith("_")} - modules
    methods = {n for n in vars(flask_jwt_extended.JWTManager) if not n.startswith("_")}
    app = Flask(__name__)
    flask_jwt_extended.JWTManager(app)
    settings = {k for k in app.config if k.startswith("JWT_")}
    assert settings, "flask-jwt-extended set no JWT_* defaults"
    missing = sorted(n for n in names | methods | settings if f"`{n}" not in guide)
    assert missing == []


@pytest.mark.parametrize(
    ("guide", "message"),
    [
        ("no table", "no migrate:names"),
        ("<!-- migrate:names -->\n| a | b |\n<!-- /migrate:names -->", "no rows"),
    ],
)
def test_a_guide_without_its_steps_fails_the_migration(guide: str, message: str) -> None:
    with pytest.raises(AssertionError, match=message):
        renames(guide)


def test_a_before_block_the_sample_lacks_fails_the_migration() -> None:
    guide = GUIDE.read_text(encoding="utf-8").replace("BLOCKLIST.add(jti)", "BLOCKLIST.add(x)")
    with pytest.raises(AssertionError, match="logout"):
        migrate(SAMPLE.read_text(encoding="utf-8"), guide)
