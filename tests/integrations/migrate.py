"""The migration guides' steps, read from their markdown, and applied to a sample application.

Each guide marks its mechanical steps, which the tests apply exactly as written and never
restate:

- ``<!-- migrate:names -->`` ... ``<!-- /migrate:names -->``: a table whose rows start with two
  code spans, the old name and the new; each is replaced as a whole word;
- ``<!-- migrate:environment -->``: the ``sh`` block after it: its ``export NAME=value`` lines,
  and its ``jwtauth ...`` command lines (see :func:`commands`);
- ``<!-- migrate:before NAME -->`` / ``<!-- migrate:after NAME -->``: the ``python`` block after
  each; the sample must contain every "before" block exactly once, and it becomes the "after".
"""

from __future__ import annotations

import importlib.util
import re
import shlex
import sys
from pathlib import Path
from types import ModuleType

__all__ = ["commands", "environment", "load", "migrate", "renames", "replacements"]

NAMES_TABLE = re.compile(r"<!-- migrate:names -->\n(.*?)<!-- /migrate:names -->", re.S)
NAME_ROW = re.compile(r"^\|\s*`([^`]+)`\s*\|\s*`([^`]+)`\s*\|", re.M)
ENVIRONMENT = re.compile(r"<!-- migrate:environment -->\s*```sh\n(.*?)^```", re.S | re.M)
EXPORT = re.compile(r"^export (\w+)=(\S+)", re.M)
COMMAND = re.compile(r"^jwtauth .*$", re.M)
BLOCK = re.compile(r"<!-- migrate:(before|after) (\w+) -->\s*```python\n(.*?)^```", re.S | re.M)


def renames(guide: str) -> list[tuple[str, str]]:
    """The (old, new) names of the guide's ``migrate:names`` table, in order."""
    table = NAMES_TABLE.search(guide)
    assert table is not None, "the guide has no migrate:names table"
    rows = NAME_ROW.findall(table.group(1))
    assert rows, "the migrate:names table has no rows"
    return rows


def _environment_block(guide: str) -> str:
    block = ENVIRONMENT.search(guide)
    assert block is not None, "the guide has no migrate:environment block"
    return block.group(1)


def environment(guide: str) -> dict[str, str]:
    """The variables the ``migrate:environment`` block exports."""
    return dict(EXPORT.findall(_environment_block(guide)))


def commands(guide: str) -> list[list[str]]:
    """The ``jwtauth`` commands of the ``migrate:environment`` block, as argument lists without
    the program name and without trailing comments."""
    lines = COMMAND.findall(_environment_block(guide))
    return [shlex.split(line, comments=True)[1:] for line in lines]


def replacements(guide: str) -> dict[str, tuple[str, str]]:
    """Each ``migrate:before``/``migrate:after`` pair by name: (before, after)."""
    found: dict[str, dict[str, str]] = {}
    for side, name, code in BLOCK.findall(guide):
        assert side not in found.setdefault(name, {}), f"two {side} blocks named {name}"
        found[name][side] = code
    assert found, "the guide has no migrate:before/after blocks"
    for name, sides in found.items():
        assert set(sides) == {"before", "after"}, f"{name} lacks a before or an after block"
    return {name: (sides["before"], sides["after"]) for name, sides in found.items()}


def migrate(source: str, guide: str) -> str:
    """``source`` after the guide's blocks are replaced, then its names renamed."""
    for name, (before, after) in replacements(guide).items():
        assert source.count(before) == 1, f"the sample does not hold the {name} block once"
        source = source.replace(before, after)
    for old, new in renames(guide):
        source = re.sub(rf"\b{re.escape(old)}\b", new, source)
    return source


def load(path: Path, name: str) -> ModuleType:
    """Import the file at ``path`` as the module ``name`` (left out of ``sys.modules`` if its
    import fails)."""
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
