"""Fixtures shared across the suite."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run in an empty working directory (no stray `.env`) with no JWTAUTH_* variable set."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.upper().startswith("JWTAUTH_"):
            monkeypatch.delenv(name)
