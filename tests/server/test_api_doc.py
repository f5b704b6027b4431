"""docs/api.md is the one description of the HTTP endpoints: every route the server serves is
in it, and the README links it inside the repository."""

from __future__ import annotations

import re
from pathlib import Path

from jwtauth.config import Settings
from jwtauth.server.app import create_app

ROOT = Path(__file__).resolve().parents[2]
API_DOC = ROOT / "docs" / "api.md"


def _documented() -> set[tuple[str, str]]:
    text = API_DOC.read_text(encoding="utf-8")
    return {
        (method, re.sub(r"\{[^}]+\}", "{}", path))
        for method, path in re.findall(r"`(GET|POST|PUT|PATCH|DELETE) (/[^\s`]*)", text)
    }


def test_every_server_route_is_in_docs_api(tmp_path: Path, clean_env: None) -> None:
    app = create_app(Settings.load(state_dir=tmp_path, mfa=True))
    served = {
        (method.upper(), re.sub(r"\{[^}]+\}", "{}", path))
        for path, item in app.openapi()["paths"].items()
        for method in item
    }
    assert len(served) >= 18  # the contract's 13 routes, /auth/claims and the four TOTP routes
    assert served - _documented() == set()


def test_readme_links_only_files_in_the_repository() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)#]+)", readme)
    local = [t for t in targets if not re.match(r"[a-z]+:", t)]
    assert "docs/api.md" in local
    missing = [
        t for t in local if not (ROOT / t).resolve().is_relative_to(ROOT) or not (ROOT / t).exists()
    ]
    assert missing == []
