"""`jwtauth scan`: hardcoded JWT secrets, private keys, committed `.env` files and literal JWTs.

The detectors are detect-secrets' engine with its stock plugins and ours, and whole-file
detectors for keys passed to JWT libraries in Python, notebooks, JS/TS and Go
(:mod:`jwtauth.hygiene.scan_plugins`, the only importer of detect-secrets). This module walks
the tree, applies the baseline and prints ``path:line: kind``: never the secret, nor any part of it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jwtauth.errors import ConfigurationError
from jwtauth.hygiene.scan_plugins import (
    KEY_LITERAL_KIND,
    RawFinding,
    baseline_document,
    baseline_keys,
    detector,
    scan_path,
)

__all__ = ["DEFAULT_BASELINE", "SKIPPED_DIRECTORIES", "Finding", "scan", "update_baseline"]

DEFAULT_BASELINE = ".secrets.baseline"

# Tools' environments, dependencies and caches: not the project's own code. `.jwtauth` is our
# development state directory (git-ignored): it holds the key `jwtauth serve` generated there.
SKIPPED_DIRECTORIES = frozenset(
    {".git", ".hg", ".svn", ".venv", "venv", ".uv", "node_modules", "__pycache__", ".mypy_cache",
     ".pytest_cache", ".ruff_cache", ".hypothesis", ".tox", ".nox", ".cache", ".eggs", ".jwtauth"}
)  # fmt: skip
_SNIFF_BYTES = 8192

# A line that holds a JWT setting also matches the generic keyword plugin, and a setting's value
# used as a key is also a key literal; one report per line is enough, the most specific one.
_SETTING_KINDS = frozenset({"JWT Secret Setting", "Dotenv Secret"})
_SPECIFIC_KINDS = _SETTING_KINDS | {KEY_LITERAL_KIND}
_GENERIC_KIND = "Secret Keyword"


@dataclass(frozen=True, slots=True, order=True)
class Finding:
    """A potential secret at ``path:line``; it holds no part of the secret."""

    path: str
    line: int
    kind: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.kind}"


def _is_binary(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return b"\0" in handle.read(_SNIFF_BYTES)
    except OSError:
        return True


def _is_baseline(path: Path) -> bool:
    """A detect-secrets baseline (hashes beside names like "hashed_secret"), by its content: a
    file that only bears the name, anywhere in the tree, is scanned like any other."""
    if path.name != DEFAULT_BASELINE:
        return False
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return False
    return isinstance(content, dict) and {"version", "plugins_used", "results"} <= content.keys()


def _files(paths: Sequence[Path], skip: set[Path]) -> Iterator[Path]:
    """Every regular file under ``paths``, skipping tool directories, symlinks and ``skip``."""
    for root in paths:
        if root.is_file():
            candidates: Iterable[Path] = [root]
        elif root.is_dir():
            candidates = _walk(root)
        else:
            raise ConfigurationError(f"{root}: no such file or directory")
        for path in candidates:
            if path.resolve() in skip or _is_baseline(path) or _is_binary(path):
                continue
            yield path


def _walk(root: Path) -> Iterator[Path]:
    for directory, subdirectories, names in os.walk(root):
        subdirectories[:] = sorted(d for d in subdirectories if d not in SKIPPED_DIRECTORIES)
        for name in sorted(names):
            path = Path(directory, name)
            if not path.is_symlink():
                yield path


def _name_under(path: Path, base: Path) -> str:
    """``path`` relative to ``base`` when it lies under it (POSIX separators), else absolute."""
    absolute = path.resolve()
    try:
        return absolute.relative_to(base.resolve()).as_posix()
    except ValueError:
        return absolute.as_posix()


def _raw_findings(paths: Sequence[Path], base: Path, skip: set[Path]) -> list[RawFinding]:
    """All findings, each named relative to ``base`` (the baseline's directory)."""
    found: list[RawFinding] = []
    with detector():
        for path in _files(paths, skip):
            found.extend(scan_path(str(path), _name_under(path, base)))
    return found


def _read_baseline(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigurationError(f"{path}: no such baseline file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        raise ConfigurationError(f"{path}: not a readable detect-secrets baseline") from None
    if not isinstance(document, dict):
        raise ConfigurationError(f"{path}: not a detect-secrets baseline")
    return document


def _known(path: Path) -> set[tuple[str, str, str]]:
    try:
        return baseline_keys(_read_baseline(path))
    except (KeyError, TypeError, ValueError, AttributeError):
        raise ConfigurationError(f"{path}: not a detect-secrets baseline") from None


def _report(found: Iterable[RawFinding], base: Path) -> list[Finding]:
    cwd = Path.cwd()
    findings = {Finding(_name_under(base / f.filename, cwd), f.line, f.kind) for f in found}
    specific = {(f.path, f.line) for f in findings if f.kind in _SPECIFIC_KINDS}
    settings = {(f.path, f.line) for f in findings if f.kind in _SETTING_KINDS}
    return sorted(
        f
        for f in findings
        if not (f.kind == _GENERIC_KIND and (f.path, f.line) in specific)
        and not (f.kind == KEY_LITERAL_KIND and (f.path, f.line) in settings)
    )


def scan(paths: Sequence[Path], *, baseline: Path | None = None) -> list[Finding]:
    """Potential secrets under ``paths`` that ``baseline`` does not record, sorted.

    Paths print relative to the working directory; a baseline names files relative to its own
    directory, so it matches wherever the scan runs from.

    Raises:
        ConfigurationError: a path does not exist, or the baseline is not one.
    """
    base = baseline.parent if baseline is not None else Path.cwd()
    known = _known(baseline) if baseline is not None else set()
    skip = {baseline.resolve()} if baseline is not None else set()
    found = _raw_findings(paths, base, skip)
    return _report((f for f in found if f.key not in known), base)


def update_baseline(paths: Sequence[Path], baseline: Path) -> int:
    """Write ``baseline`` (detect-secrets' format) recording every finding under ``paths``;
    audit verdicts already recorded for the same findings are kept. Returns how many entries it
    holds (a secret repeated in one file is one entry).

    Raises:
        ConfigurationError: a path does not exist, or the existing file is not a baseline.
    """
    previous = _read_baseline(baseline) if baseline.exists() else None
    base = baseline.parent
    found = _raw_findings(paths, base, {baseline.resolve()})
    with detector():
        try:
            document = baseline_document(found, previous)
        except (KeyError, TypeError, ValueError, AttributeError):
            raise ConfigurationError(f"{baseline}: not a detect-secrets baseline") from None
    baseline.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return len({f.key for f in found})
