"""The DRF example: it starts as its README says (check, migrate, a WSGI server); with
SHOP_DEMO_OPEN_VIEWSET=1 the audit (command, system check, CLI) catches the deliberately open
viewset; the token flow works end to end. Each run is a process of its own (one Django
configuration per process), on a copy of the example and a scratch SQLite."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.live import free_port, wait_ready

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "drf_app"
AUDIT_ROUTES = (sys.executable, "-m", "jwtauth.cli", "audit-routes", "shop.wsgi:application")
OPEN = {"SHOP_DEMO_OPEN_VIEWSET": "1"}
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
    migrated = run(copy, "migrate", "--verbosity=0")  # with the checks, as the README says
    assert migrated.returncode == 0, migrated.stderr
    return copy


def environment(example: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("EXAMPLE_", "DJANGO_", "SHOP_"))
    }
    env["EXAMPLE_DB"] = str(example / "db.sqlite3")
    env.update(extra or {})
    return env


def run(
    example: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our interpreter, the example's manage.py
        [sys.executable, "manage.py", *args],
        cwd=example,
        env=environment(example, env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def cli_audit(example: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own CLI
        [*AUDIT_ROUTES, "--app-dir", str(example)],
        env=environment(example, env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def flagged(output: str) -> list[str]:
    return [" ".join(line.split()[:3]) for line in output.splitlines() if line.startswith("UNPROT")]


def test_the_audit_catches_the_open_viewset_behind_its_flag(example: Path) -> None:
    audit = run(example, "jwtauth_audit", env=OPEN)
    assert audit.returncode == 1, audit.stderr
    expected = ["UNPROTECTED GET /api/orders/", "UNPROTECTED GET /api/orders/<pk>/"]
    assert flagged(audit.stdout) == expected
    check = run(example, "check", env=OPEN)
    assert check.returncode != 0
    assert check.stderr.count("jwtauth.E003") == 2
    cli = cli_audit(example, OPEN)
    assert cli.returncode == 1, cli.stderr
    assert flagged(cli.stdout) == expected


def test_without_the_flag_the_example_passes_its_checks_and_audit(example: Path) -> None:
    check = run(example, "check")
    assert check.returncode == 0, check.stderr
    assert "jwtauth.E003" not in check.stderr
    fixed = run(example, "jwtauth_audit")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    rows = [" ".join(line.split()[:3]) for line in fixed.stdout.splitlines()]
    assert rows.count("protected GET /api/orders/") == 1
    assert cli_audit(example).returncode == 0


def test_the_example_serves_under_a_wsgi_server(example: Path) -> None:
    port = free_port()
    process = subprocess.Popen(  # noqa: S603 - our environment's gunicorn, fixed arguments
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "-b",
            f"127.0.0.1:{port}",
            "shop.wsgi:application",
        ],
        cwd=example,
        env=environment(example),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(process, f"{base}/api/health/", "the DRF example")
        assert httpx.get(f"{base}/api/orders/").status_code == 401
        assert httpx.get(f"{base}/api/users/").status_code == 401
    finally:
        process.terminate()
        process.wait(timeout=30)
        if process.stdout is not None:
            process.stdout.close()


def test_the_token_flow_of_the_example(example: Path) -> None:
    shell = run(example, "shell", "-c", FLOW)
    assert shell.returncode == 0, shell.stderr
    assert "anonymous orders: 401" in shell.stdout  # the default, without the demo flag
    opened = run(example, "shell", "-c", FLOW.replace('"dora"', '"erin"'), env=OPEN)
    assert "anonymous orders: 200" in opened.stdout  # the open viewset, as the audit says
    assert "flow ok" in shell.stdout
