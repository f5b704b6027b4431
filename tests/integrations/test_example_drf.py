"""The DRF example: the audit (command, system check, CLI) catches the deliberately open viewset
and passes once its line is removed; the token flow works end to end. Each run is a process of
its own (one Django configuration per process), on a copy of the example and a scratch SQLite."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "drf_app"
AUDIT_ROUTES = (sys.executable, "-m", "jwtauth.cli", "audit-routes", "shop.wsgi:application")
OPEN_LINE = "    permission_classes = [IsAuthenticatedOrReadOnly]  # the open viewset\n"
FLOW = """
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient
get_user_model().objects.create_user("dora", password="correct horse battery staple")
client = APIClient()
credentials = {"username": "dora", "password": "correct horse battery staple"}
pair = client.post("/api/token/obtain/", credentials).json()
auth = {"Authorization": "Bearer " + pair["access"]}
assert client.get("/api/users/").status_code == 401
assert client.get("/api/users/", headers=auth).status_code == 200
assert client.post("/api/orders/", {"item": "teapot"}, headers=auth).status_code == 201
print("anonymous orders:", client.get("/api/orders/").status_code)
assert client.post("/api/token/logout/", {"refresh": pair["refresh"]}).status_code == 200
assert client.get("/api/users/", headers=auth).status_code == 401
print("flow ok")
"""


@pytest.fixture
def example(tmp_path: Path) -> Path:
    copy = tmp_path / "drf_app"
    shutil.copytree(EXAMPLE, copy, ignore=shutil.ignore_patterns("__pycache__", "*.sqlite3"))
    # --skip-checks: the checks fail on the open viewset, which is the point of the example.
    migrated = run(copy, "migrate", "--verbosity=0", "--skip-checks")
    assert migrated.returncode == 0, migrated.stderr
    return copy


def environment(example: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EXAMPLE_", "DJANGO_"))}
    env["EXAMPLE_DB"] = str(example / "db.sqlite3")
    return env


def run(example: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our interpreter, the example's manage.py
        [sys.executable, "manage.py", *args],
        cwd=example,
        env=environment(example),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def cli_audit(example: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own CLI
        [*AUDIT_ROUTES, "--app-dir", str(example)],
        env=environment(example),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def flagged(output: str) -> list[str]:
    return [" ".join(line.split()[:3]) for line in output.splitlines() if line.startswith("UNPROT")]


def test_the_audit_catches_the_open_viewset_and_passes_once_fixed(example: Path) -> None:
    audit = run(example, "jwtauth_audit")
    assert audit.returncode == 1, audit.stderr
    expected = ["UNPROTECTED GET /api/orders/", "UNPROTECTED GET /api/orders/<pk>/"]
    assert flagged(audit.stdout) == expected
    check = run(example, "check")
    assert check.returncode != 0
    assert check.stderr.count("jwtauth.E003") == 2
    cli = cli_audit(example)
    assert cli.returncode == 1, cli.stderr
    assert flagged(cli.stdout) == expected

    views = example / "orders" / "views.py"
    source = views.read_text()
    assert OPEN_LINE in source  # the line the comment tells the reader to delete
    views.write_text(source.replace(OPEN_LINE, ""))
    fixed = run(example, "jwtauth_audit")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert [" ".join(line.split()[:3]) for line in fixed.stdout.splitlines()].count(
        "protected GET /api/orders/"
    ) == 1
    assert cli_audit(example).returncode == 0
    assert "jwtauth.E003" not in run(example, "check").stderr


def test_the_token_flow_of_the_example(example: Path) -> None:
    shell = run(example, "shell", "-c", FLOW)
    assert shell.returncode == 0, shell.stderr
    assert "anonymous orders: 200" in shell.stdout  # the open viewset, as the audit says
    assert "flow ok" in shell.stdout
