"""docs/migrating-from-simplejwt.md, applied by its own words to a simplejwt project
(tests/integrations/samples/simplejwt_shop/), which must then work on jwtauth.

The guide's mechanical steps are read from the markdown, never restated here:

- ``<!-- migrate:names -->`` ... ``<!-- /migrate:names -->``: a table whose rows start with two
  code spans, the old name and the new; each is replaced as a whole word in every file;
- ``<!-- migrate:environment -->``: the ``sh`` block after it, run by bash; the variables it
  exports are the migrated project's environment;
- ``<!-- migrate:before NAME -->`` / ``<!-- migrate:after NAME -->``: the ``python`` block after
  each; the project must hold every "before" block exactly once, and it becomes the "after".

Django settings are process-global: each project runs in processes of its own (``python -m
django`` for migrate, check and the demo user; gunicorn for the requests), the original on
simplejwt, then the migrated copy on the same database, as a deployment would cut over.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.live import free_port

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "migrating-from-simplejwt.md"
SAMPLE = Path(__file__).resolve().parent / "samples" / "simplejwt_shop"
BIN = Path(sys.executable).parent
PROBLEM_JSON = "application/problem+json"
HTTPS = {"X-Forwarded-Proto": "https"}  # as the TLS proxy in front of 127.0.0.1 says

NAMES_TABLE = re.compile(r"<!-- migrate:names -->\n(.*?)<!-- /migrate:names -->", re.S)
NAME_ROW = re.compile(r"^\|\s*`([^`]+)`\s*\|\s*`([^`]+)`\s*\|", re.M)
ENVIRONMENT = re.compile(r"<!-- migrate:environment -->\s*```sh\n(.*?)^```", re.S | re.M)
EXPORTED = re.compile(r"^export (\w+)=", re.M)
BLOCK = re.compile(r"<!-- migrate:(before|after) ([\w-]+) -->\s*```python\n(.*?)^```", re.S | re.M)

CREATE_USER = """
import os
from django.contrib.auth import get_user_model
get_user_model().objects.create_user(
    "alice", email="alice@example.com", password=os.environ["SAMPLE_PASSWORD"],
    first_name="Alice", last_name="Liddell",
)
"""


# The guide's steps ------------------------------------------------------------------------------


def renames(guide: str) -> list[tuple[str, str]]:
    table = NAMES_TABLE.search(guide)
    assert table is not None, "the guide has no migrate:names table"
    rows = NAME_ROW.findall(table.group(1))
    assert rows, "the migrate:names table has no rows"
    return rows


def environment(guide: str) -> dict[str, str]:
    """What the guide's environment block exports, run as written by bash."""
    block = ENVIRONMENT.search(guide)
    assert block is not None, "the guide has no migrate:environment block"
    code = block.group(1)
    names = EXPORTED.findall(code)
    assert names, "the migrate:environment block exports nothing"
    script = code + "".join(f'\nprintf "%s\\0" "${name}"' for name in names)
    result = subprocess.run(  # noqa: S603 - bash running the guide's own block
        ["/bin/bash", "-ec", script],
        env={**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"},
        capture_output=True,
        text=True,
        check=True,
    )
    values = result.stdout.split("\0")[:-1]
    assert len(values) == len(names), result.stderr
    assert all(values), result.stderr
    return dict(zip(names, values, strict=True))


def replacements(guide: str) -> dict[str, tuple[str, str]]:
    found: dict[str, dict[str, str]] = {}
    for side, name, code in BLOCK.findall(guide):
        assert side not in found.setdefault(name, {}), f"two {side} blocks named {name}"
        found[name][side] = code
    assert found, "the guide has no migrate:before/after blocks"
    for name, sides in found.items():
        assert set(sides) == {"before", "after"}, f"{name} lacks a before or an after block"
    return {name: (sides["before"], sides["after"]) for name, sides in found.items()}


def migrate(sources: dict[str, str], guide: str) -> dict[str, str]:
    """The project's files after the guide's steps 2 to 5."""
    sources = dict(sources)
    for name, (before, after) in replacements(guide).items():
        holders = [path for path, text in sources.items() if before in text]
        count = sum(text.count(before) for text in sources.values())
        assert count == 1, f"the sample does not hold the {name} block once"
        sources[holders[0]] = sources[holders[0]].replace(before, after)
    for old, new in renames(guide):
        for path, text in sources.items():
            sources[path] = re.sub(rf"\b{re.escape(old)}\b", new, text)
    return sources


def sample_sources() -> dict[str, str]:
    return {
        str(path.relative_to(SAMPLE)): path.read_text(encoding="utf-8")
        for path in sorted(SAMPLE.rglob("*.py"))
    }


# The projects -----------------------------------------------------------------------------------


def write(project: Path, sources: dict[str, str]) -> Path:
    for name, text in sources.items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(text, encoding="utf-8")
    return project


def django(project: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our interpreter, Django's own commands
        [sys.executable, "-m", "django", *args],
        cwd=project,
        env={**env, "DJANGO_SETTINGS_MODULE": "shop.settings"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@contextmanager
def serve(project: Path, env: dict[str, str], *, workers: int = 1) -> Iterator[httpx.Client]:
    """The project under gunicorn; a client for it once it answers."""
    port = free_port()
    server = [
        str(BIN / "gunicorn"), "-b", f"127.0.0.1:{port}",
        "--workers", str(workers), "--threads", "4", "shop.wsgi:application",
    ]  # fmt: skip
    process = subprocess.Popen(  # noqa: S603 - our environment's gunicorn, fixed arguments
        server,
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            listening(process, http)
            yield http
    finally:
        process.terminate()
        process.wait(timeout=30)
        if process.stdout is not None:
            process.stdout.close()


def listening(process: subprocess.Popen[bytes], http: httpx.Client) -> None:
    """Until the server answers any HTTP request (the deadline bounds the wait; nothing is
    timed), failing if it exits first."""
    deadline = time.monotonic() + 30
    while True:
        if process.poll() is not None:
            output = process.stdout.read().decode() if process.stdout else ""
            pytest.fail(f"the project exited with {process.returncode}:\n{output}")
        try:
            http.get("/api/orders/")
        except httpx.TransportError:
            if time.monotonic() > deadline:
                pytest.fail("the project did not answer within 30 s")
            time.sleep(0.05)  # polling a port that is not open yet; nothing is timed
        else:
            return


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """The deployment's environment, with the sample's secret key, database and demo password
    made for this test."""
    dropped = ("JWTAUTH_", "DJANGO_", "SAMPLE_", "JWT_", "REDIS_")
    base = {k: v for k, v in os.environ.items() if not k.startswith(dropped)}
    return {
        **base,
        "SAMPLE_SECRET_KEY": secrets.token_urlsafe(50),
        "SAMPLE_DB": str(tmp_path / "shop.sqlite3"),
        "SAMPLE_PASSWORD": secrets.token_urlsafe(16),
    }


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def problem(answer: httpx.Response, status: int, code: str | None = None) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith(PROBLEM_JSON), answer.headers
    body = answer.json()
    assert {"type", "title", "status", "detail"} <= body.keys()
    assert body["status"] == status
    if code is not None:
        assert body["type"] == f"urn:jwtauth:problem:{code}"


def obtain(http: httpx.Client, password: str) -> dict[str, Any]:
    answer = http.post("/api/token/", json={"username": "alice", "password": password})
    assert answer.status_code == 200, answer.text
    pair: dict[str, Any] = answer.json()
    assert set(pair) == {"access", "refresh"}
    return pair


# The tests ----------------------------------------------------------------------------------------


def test_the_sample_before_and_after_the_guide(
    tmp_path: Path, env: dict[str, str], redis_url: str
) -> None:
    guide = GUIDE.read_text(encoding="utf-8")
    password = env["SAMPLE_PASSWORD"]
    original = write(tmp_path / "original", sample_sources())
    assert django(original, env, "migrate", "--verbosity=0").returncode == 0
    assert django(original, env, "shell", "-c", CREATE_USER).returncode == 0

    # The simplejwt project as it is: the flows its clients rely on.
    with serve(original, env) as http:
        assert http.get("/api/orders/").status_code == 401
        pair = obtain(http, password)
        orders = http.get("/api/orders/", headers=bearer(pair["access"])).json()
        assert orders["name"] == "Alice Liddell"
        refreshed = http.post("/api/token/refresh/", json={"refresh": pair["refresh"]}).json()
        assert http.get("/api/orders/", headers=bearer(refreshed["access"])).json() == orders
        blacklisted = http.post("/api/token/blacklist/", json={"refresh": refreshed["refresh"]})
        assert blacklisted.status_code == 200
        assert http.post("/api/token/refresh/", json={"refresh": refreshed["refresh"]}).is_error
        outstanding = obtain(http, password)  # what a client holds at the cut-over

    # The guide's steps, then the deployment's: migrate, check, two workers sharing Redis.
    migrated = write(tmp_path / "migrated", migrate(sample_sources(), guide))
    after = {**env, **environment(guide), "REDIS_URL": redis_url}
    migration = django(migrated, after, "migrate", "--verbosity=0")
    assert migration.returncode == 0, migration.stderr
    check = django(migrated, after, "check")
    assert check.returncode == 0, check.stderr
    assert "jwtauth." not in check.stderr  # no error, no warning of jwtauth's
    with serve(migrated, after, workers=2) as http:
        problem(http.get("/api/orders/"), 401, "missing_token")
        # simplejwt's tokens: refused, so every client logs in once.
        problem(http.get("/api/orders/", headers=bearer(outstanding["access"])), 401)
        stale = http.post("/api/token/refresh/", json={"refresh": outstanding["refresh"]})
        problem(stale, 401, "invalid_refresh_token")

        # The token views: simplejwt's shapes, the opaque single-use refresh token.
        pair = obtain(http, password)
        assert "." not in pair["refresh"]
        orders = http.get("/api/orders/", headers=bearer(pair["access"])).json()
        assert orders == {"user": "alice", "name": "Alice Liddell", "orders": ["o-1"]}
        refreshed = http.post("/api/token/refresh/", json={"refresh": pair["refresh"]})
        assert refreshed.status_code == 200
        assert refreshed.headers["cache-control"] == "no-store"
        renewed = refreshed.json()
        assert set(renewed) == {"access", "refresh"}
        assert http.get("/api/orders/", headers=bearer(renewed["access"])).json() == orders
        reuse = http.post("/api/token/refresh/", json={"refresh": pair["refresh"]})
        problem(reuse, 401, "invalid_refresh_token")
        problem(http.post("/api/token/refresh/", json={"refresh": renewed["refresh"]}), 401)
        for _ in range(6):  # whichever worker answers: the family's access tokens are dead
            problem(http.get("/api/orders/", headers=bearer(renewed["access"])), 401)

        logged_out = obtain(http, password)
        blacklisted = http.post("/api/token/blacklist/", json={"refresh": logged_out["refresh"]})
        assert blacklisted.status_code == 200
        assert blacklisted.json() == {}
        problem(http.post("/api/token/refresh/", json={"refresh": logged_out["refresh"]}), 401)
        for _ in range(6):
            problem(http.get("/api/orders/", headers=bearer(logged_out["access"])), 401)
        problem(http.post("/api/token/", json=[]), 400)
        problem(http.post("/api/token/", json={"username": "alice", "password": "x"}), 401)

        # The auth API beside them (docs/api.md), on the same users and sessions.
        problem(http.post("/auth/login", json={"email": "x@example.com", "password": "x"}), 403)
        credentials = {"email": "alice@example.com", "password": password}
        login = http.post("/auth/login", json=credentials, headers=HTTPS)
        assert login.status_code == 200, login.text
        tokens = login.json()
        assert {"access_token", "refresh_token", "expires_in", "refresh_expires_in"} <= set(tokens)
        assert tokens["token_type"] == "Bearer"
        access = {**HTTPS, **bearer(tokens["access_token"])}
        me = http.get("/auth/me", headers=access).json()
        assert me["email"] == "alice@example.com"
        # claims_for is the claims hook of the auth API too.
        assert http.get("/api/orders/", headers=access).json() == orders
        current = obtain(http, password)  # a session of the token views, listed beside
        sessions = http.get("/auth/sessions", headers=access).json()
        assert len(sessions) == 2
        assert [s["current"] for s in sessions].count(True) == 1
        rotated = http.post(
            "/auth/refresh", json={"refresh_token": tokens["refresh_token"]}, headers=HTTPS
        )
        assert rotated.status_code == 200
        assert http.post("/auth/logout", headers=access).status_code == 204
        problem(http.get("/auth/me", headers=access), 401)
        keys = http.get("/.well-known/jwks.json", headers=HTTPS)
        assert keys.status_code == 200
        assert "keys" in keys.json()
        assert http.get("/api/orders/", headers=bearer(current["access"])).status_code == 200


def test_the_migrated_project_names_nothing_of_simplejwt() -> None:
    migrated = migrate(sample_sources(), GUIDE.read_text(encoding="utf-8"))
    for path, text in migrated.items():
        assert "rest_framework_simplejwt" not in text, path
        assert "SIMPLE_JWT" not in text, path
        assert "rest_framework_simplejwt.token_blacklist" not in text, path


def test_the_reference_names_every_simplejwt_setting() -> None:
    code = (
        "from django.conf import settings\n"
        "settings.configure(SECRET_KEY='x' * 50)\n"
        "from rest_framework_simplejwt.settings import DEFAULTS\n"
        "print(' '.join(sorted(DEFAULTS)))\n"
    )
    result = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    names = result.stdout.split()
    assert names, "simplejwt has no settings"
    guide = GUIDE.read_text(encoding="utf-8")
    assert [n for n in names if f"`{n}`" not in guide] == []


def test_a_guide_without_its_steps_fails_the_migration() -> None:
    with pytest.raises(AssertionError, match="no migrate:names"):
        renames("no table")
    guide = GUIDE.read_text(encoding="utf-8")
    broken = guide.replace('token["name"] = user.get_full_name()', 'token["name"] = user.name')
    with pytest.raises(AssertionError, match="claims"):
        migrate(sample_sources(), broken)
