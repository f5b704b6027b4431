"""docs/migrating-from-flask-jwt-extended.md, applied by its own words to a flask-jwt-extended
application (tests/integrations/samples/fjwt_app.py), which must then work on jwtauth.

The guide's mechanical steps are read from the markdown, never restated here:

- ``<!-- migrate:names -->`` ... ``<!-- /migrate:names -->``: a table whose rows start with two
  code spans, the old name and the new; each is replaced as a whole word;
- ``<!-- migrate:environment -->``: the ``export NAME=value`` lines of the ``sh`` block after it;
- ``<!-- migrate:before NAME -->`` / ``<!-- migrate:after NAME -->``: the ``python`` block after
  each; the sample must contain every "before" block exactly once, and it becomes the "after".
"""

from __future__ import annotations

import importlib.util
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

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "migrating-from-flask-jwt-extended.md"
SAMPLE = Path(__file__).resolve().parent / "samples" / "fjwt_app.py"
PROBLEM_JSON = "application/problem+json"

NAMES_TABLE = re.compile(r"<!-- migrate:names -->\n(.*?)<!-- /migrate:names -->", re.S)
NAME_ROW = re.compile(r"^\|\s*`([^`]+)`\s*\|\s*`([^`]+)`\s*\|", re.M)
ENVIRONMENT = re.compile(r"<!-- migrate:environment -->\s*```sh\n(.*?)^```", re.S | re.M)
EXPORT = re.compile(r"^export (\w+)=(\S+)", re.M)
BLOCK = re.compile(r"<!-- migrate:(before|after) (\w+) -->\s*```python\n(.*?)^```", re.S | re.M)


def renames(guide: str) -> list[tuple[str, str]]:
    table = NAMES_TABLE.search(guide)
    assert table is not None, "the guide has no migrate:names table"
    rows = NAME_ROW.findall(table.group(1))
    assert rows, "the migrate:names table has no rows"
    return rows


def environment(guide: str) -> dict[str, str]:
    block = ENVIRONMENT.search(guide)
    assert block is not None, "the guide has no migrate:environment block"
    return dict(EXPORT.findall(block.group(1)))


def replacements(guide: str) -> dict[str, tuple[str, str]]:
    found: dict[str, dict[str, str]] = {}
    for side, name, code in BLOCK.findall(guide):
        assert side not in found.setdefault(name, {}), f"two {side} blocks named {name}"
        found[name][side] = code
    assert found, "the guide has no migrate:before/after blocks"
    for name, sides in found.items():
        assert set(sides) == {"before", "after"}, f"{name} lacks a before or an after block"
    return {name: (sides["before"], sides["after"]) for name, sides in found.items()}


def migrate(source: str, guide: str) -> str:
    """The sample after the guide's steps 2 to 4."""
    for name, (before, after) in replacements(guide).items():
        assert source.count(before) == 1, f"the sample does not hold the {name} block once"
        source = source.replace(before, after)
    for old, new in renames(guide):
        source = re.sub(rf"\b{re.escape(old)}\b", new, source)
    return source


def load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


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
