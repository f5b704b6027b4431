"""detect-secrets plugins and a filter for what its stock plugins miss about JWT secrets.

The only module that imports detect-secrets (the ``scan`` extra). detect-secrets loads custom
plugins from a file path (``plugins_used[].path = "file://..."``), so this module must stay
importable as a plain file: it imports nothing from jwtauth.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Generator, Iterable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from itertools import pairwise
from pathlib import Path, PurePath
from typing import Any, NamedTuple

from detect_secrets.core import baseline as ds_baseline
from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
from detect_secrets.core.potential_secret import PotentialSecret
from detect_secrets.core.scan import scan_file
from detect_secrets.core.secrets_collection import SecretsCollection
from detect_secrets.plugins.base import BasePlugin
from detect_secrets.settings import transient_settings

__all__ = [
    "DotenvSecretDetector",
    "JWTSecretSettingDetector",
    "RawFinding",
    "baseline_document",
    "baseline_keys",
    "detector",
    "is_dotenv_file",
    "is_jwt_setting_name",
    "is_jwt_without_alg",
    "is_keyword_about_something_else",
    "is_reference",
    "setting_values",
]

# A name, an optional type annotation (`X: str = ...`), then `=`, `:`, `:=` or `=>`. The name may
# be a dict key or subscript (`"SIGNING_KEY": ...`, `app.config["SECRET_KEY"] = ...`).
_ASSIGNMENT = re.compile(
    r"""(?x)
    (?P<name>[A-Za-z_][\w.\-]*)["'\]]*      # the name, with any closing quote or bracket
    (?:\s*:\s*[A-Za-z_][\w\[\]., |]*?(?=\s*=))?   # a type annotation
    \s*(?::=|=>|=|:)\s*
    (?:
        [bBrRuU]{0,2}(?P<quote>["'`])(?P<quoted>(?:\\.|(?!(?P=quote)).)*)(?P=quote)
      | (?P<bare>[^\s"'`#;,{}()\[\]]+)
    )
    """
)
_EXPORT = re.compile(r"^\s*export\s+")

# Words of a name that make it a JWT signing secret, and words that make it something else.
_SECRET_WORDS = frozenset({"secret", "key"})
_JWT_WORDS = frozenset({"jwt", "jwtauth", "signing", "hmac", "jws"})
_NOT_SECRET_WORDS = frozenset(
    {"public", "pub", "verify", "verifying", "file", "path", "dir", "id", "name", "env", "var",
     "length", "len", "size", "bytes", "bits", "type", "alg", "algorithm", "algorithms", "url",
     "uri", "header", "prefix", "field", "fields", "source", "ttl", "version", "rotation"}
)  # fmt: skip

# Values that point at the secret instead of being it: templates, shell and Django-environ
# references, Python `%(name)s`, and well-known "fill me in" markers.
_REFERENCE = re.compile(
    r"""(?ix)
    ^(?:
        \$\{.*\}|\$[A-Z_][A-Z0-9_]*|\{\{.*\}\}|\{%.*%\}|<[^<>]*>|%\(\w+\)s|%[A-Z_]+%
      | env\(.*\)|os\.environ.*|os\.getenv.*|\*+|x{3,}|\.{3}|…
    )$
    """
)
_CODE_SUFFIXES = frozenset(
    {".py", ".pyi", ".js", ".mjs", ".cjs", ".ts", ".tsx", ".jsx", ".go", ".rb", ".java", ".kt",
     ".php", ".rs", ".cs", ".swift", ".c", ".h", ".cpp", ".md", ".rst", ".txt", ".html"}
)  # fmt: skip
_EXAMPLE_SUFFIXES = frozenset({"example", "sample", "template", "dist", "defaults", "tmpl"})
_DOTENV_WORDS = ("SECRET", "KEY", "TOKEN", "PASSWORD", "PASSWD")


def _words(name: str) -> list[str]:
    # The last component of a dotted or subscripted name, split at `_`/`-` and camelCase humps.
    last = re.split(r"[.\[\]\"']", name.strip("\"'[]."))[-1] or name
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", last)
    return [w for w in re.split(r"[_\-]+", spaced.lower()) if w]


def is_jwt_setting_name(name: str) -> bool:
    """True for names such as ``JWT_SECRET``, ``SECRET_KEY``, ``SIGNING_KEY``, ``jwtSecret``."""
    words = _words(name)
    if not words or words[-1] in _NOT_SECRET_WORDS or {"public", "pub"} & set(words):
        return False
    if _SECRET_WORDS & set(words) and _JWT_WORDS & set(words):
        return True
    # `SECRET_KEY` (Django, Flask) signs simplejwt's tokens by default.
    return any(a == "secret" and b == "key" for a, b in pairwise(words))


def is_reference(value: str) -> bool:
    """True when ``value`` is empty or names where the secret is instead of being it."""
    stripped = value.strip()
    return not stripped or bool(_REFERENCE.match(stripped))


@lru_cache(maxsize=64)
def _allows_bare_values(filename: str) -> bool:
    # In code an unquoted right-hand side is an expression (`os.environ[...]`), never a literal;
    # in .env, INI, YAML and properties files it is the value itself.
    return PurePath(filename).suffix.lower() not in _CODE_SUFFIXES


def setting_values(line: str, *, bare: bool) -> Iterator[str]:
    """The literal values ``line`` assigns to JWT-secret-like names."""
    for match in _ASSIGNMENT.finditer(_EXPORT.sub("", line)):
        value = match.group("quoted")
        if value is None:
            if not bare:
                continue
            value = match.group("bare")
        if is_jwt_setting_name(match.group("name")) and not is_reference(value):
            yield value


class JWTSecretSettingDetector(BasePlugin):
    """Finds literal values assigned to JWT signing-secret settings: ``JWT_SECRET``,
    ``SECRET_KEY``, ``SIGNING_KEY``, ``SIMPLE_JWT = {"SIGNING_KEY": ...}``, in code and config."""

    secret_type = "JWT Secret Setting"  # noqa: S105 - a kind of finding, not a secret

    def analyze_line(
        self,
        filename: str,
        line: str,
        line_number: int = 0,
        context: Any = None,
        **kwargs: Any,
    ) -> set[PotentialSecret]:
        """The findings on one line; whether bare values count depends on the file's type."""
        bare = _allows_bare_values(filename)
        return {
            PotentialSecret(self.secret_type, filename, value, line_number)
            for value in setting_values(line, bare=bare)
        }

    def analyze_string(self, string: str) -> Generator[str, None, None]:
        """Values in ``string``, read as configuration (bare values count)."""
        yield from setting_values(string, bare=True)


@lru_cache(maxsize=64)
def is_dotenv_file(filename: str) -> bool:
    """True for ``.env`` and ``.env.<stage>``, but not ``.env.example`` and the like."""
    name = PurePath(filename).name
    if name == ".env":
        return True
    return name.startswith(".env.") and name.rsplit(".", 1)[-1].lower() not in _EXAMPLE_SUFFIXES


_DOTENV_LINE = re.compile(
    r"""^\s*(?:export\s+)?(?P<name>[A-Za-z_][A-Za-z0-9_.\-]*)\s*=\s*
        (?:(?P<quote>["'])(?P<quoted>.*?)(?P=quote)|(?P<bare>[^\s#]+))""",
    re.VERBOSE,
)


class DotenvSecretDetector(BasePlugin):
    """Finds a committed ``.env`` file that assigns a value to a ``*SECRET*``, ``*KEY*``,
    ``*TOKEN*`` or ``*PASSWORD*`` variable."""

    secret_type = "Dotenv Secret"  # noqa: S105 - a kind of finding, not a secret

    def analyze_line(
        self,
        filename: str,
        line: str,
        line_number: int = 0,
        context: Any = None,
        **kwargs: Any,
    ) -> set[PotentialSecret]:
        """The finding on one line of a ``.env`` file; nothing for any other file."""
        if not is_dotenv_file(filename):
            return set()
        return {
            PotentialSecret(self.secret_type, filename, value, line_number)
            for value in self.analyze_string(line)
        }

    def analyze_string(self, string: str) -> Generator[str, None, None]:
        """The value of a secret-named variable assigned on this line."""
        match = _DOTENV_LINE.match(string)
        if match is None or not any(w in match.group("name").upper() for w in _DOTENV_WORDS):
            return
        value = match.group("quoted")
        value = match.group("bare") if value is None else value
        if not is_reference(value):
            yield value


def _b64url_json(segment: str) -> Any:
    padded = segment + "=" * (-len(segment) % 4)
    return json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))


def is_jwt_without_alg(secret: str, plugin: BasePlugin) -> bool:
    """A detect-secrets filter: drop a ``JwtTokenDetector`` match that is not a compact JWS or
    JWE (three or five segments) whose header is a JSON object with ``alg``."""
    if plugin.secret_type != "JSON Web Token":  # noqa: S105 - a kind of finding
        return False
    segments = secret.split(".")
    if len(segments) not in (3, 5):
        return True
    try:
        header = _b64url_json(segments[0])
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return True
    return not (isinstance(header, dict) and "alg" in header)


# Last words of a keyword match's name that say the value is not the secret itself.
_NOT_THE_SECRET = _NOT_SECRET_WORDS | {
    "hash", "hashed", "kind", "policy", "score", "min", "max", "keyring", "mode"
}  # fmt: skip


def is_keyword_about_something_else(secret: str, plugin: BasePlugin, line: str) -> bool:
    """A detect-secrets filter: drop a ``KeywordDetector`` match whose name only mentions a
    secret (``secret_type = "..."``, ``secret_source != "local"``, ``password_hash == ...``)."""
    if plugin.secret_type != "Secret Keyword":  # noqa: S105 - a kind of finding
        return False
    before = line[: max(line.find(secret), 0)]
    names = re.findall(r"[A-Za-z_][\w\-]*", before)
    words = _words(names[-1]) if names else []
    return bool(words) and words[-1] in _NOT_THE_SECRET


# The engine ---------------------------------------------------------------------------------------
# Stock plugins: keys, tokens and password-like keywords. The high-entropy detectors are left out
# on purpose: on this repository they flag 36 strings (hashes, alphabets, RFC vectors) and no
# secret the plugins above miss (decision 019).
_STOCK_PLUGINS = ("JwtTokenDetector", "KeywordDetector", "PrivateKeyDetector")
_CUSTOM_PLUGINS = (JWTSecretSettingDetector.__name__, DotenvSecretDetector.__name__)
# detect-secrets' default heuristics, listed because naming any filter replaces the defaults.
# Verification (which would send a found secret over the network) is deliberately not among them.
_FILTERS = (
    "detect_secrets.filters.allowlist.is_line_allowlisted",
    "detect_secrets.filters.heuristic.is_indirect_reference",
    "detect_secrets.filters.heuristic.is_likely_id_string",
    "detect_secrets.filters.heuristic.is_lock_file",
    "detect_secrets.filters.heuristic.is_not_alphanumeric_string",
    "detect_secrets.filters.heuristic.is_potential_uuid",
    "detect_secrets.filters.heuristic.is_prefixed_with_dollar_sign",
    "detect_secrets.filters.heuristic.is_sequential_string",
    "detect_secrets.filters.heuristic.is_swagger_file",
    "detect_secrets.filters.heuristic.is_templated_secret",
    f"{__name__}.is_jwt_without_alg",
    f"{__name__}.is_keyword_about_something_else",
)


# A NamedTuple, not a dataclass: detect-secrets executes this file outside `sys.modules`, where
# a dataclass cannot resolve its postponed annotations.
class RawFinding(NamedTuple):
    """One potential secret: where, which kind, and detect-secrets' SHA-1 of it (never the
    value). ``key`` is how a baseline recognises it: file, hash and kind, not the line."""

    filename: str
    line: int
    kind: str
    hashed_secret: str

    @property
    def key(self) -> tuple[str, str, str]:
        """The baseline identity: (file, hash, kind)."""
        return (self.filename, self.hashed_secret, self.kind)


def _settings() -> dict[str, Any]:
    plugin_file = f"file://{Path(__file__).resolve()}"
    return {
        "plugins_used": [{"name": name} for name in _STOCK_PLUGINS]
        + [{"name": name, "path": plugin_file} for name in _CUSTOM_PLUGINS],
        "filters_used": [{"path": path} for path in _FILTERS],
    }


@contextmanager
def detector() -> Iterator[None]:
    """detect-secrets configured with our plugins and filters, for the ``with`` block only.

    The plugin registry is cached per process and ignores plugins configured after its first
    use, so it is rebuilt on the way in and out.
    """
    get_mapping_from_secret_type_to_class.cache_clear()
    try:
        with transient_settings(_settings()):
            yield
    finally:
        get_mapping_from_secret_type_to_class.cache_clear()


def scan_path(path: str, name: str) -> list[RawFinding]:
    """Scan the file at ``path`` (inside :func:`detector`); ``name`` is how findings call it."""
    return [
        RawFinding(name, secret.line_number, secret.type, secret.secret_hash)
        for secret in scan_file(path)
    ]


def baseline_keys(document: dict[str, Any]) -> set[tuple[str, str, str]]:
    """The (file, hash, kind) of every finding a detect-secrets baseline records.

    Only its results are read: its ``plugins_used`` could name a file to import and run, and
    which plugins run is jwtauth's choice, not the baseline's.

    Raises:
        KeyError, TypeError, ValueError: when ``document`` is not a baseline.
    """
    document = ds_baseline.upgrade(document)
    collection = SecretsCollection.load_from_baseline(document)
    return {
        (filename, secret.secret_hash, secret.type)
        for filename in collection.files
        for secret in collection[filename]
    }


def baseline_document(
    findings: Iterable[RawFinding], previous: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A detect-secrets baseline of ``findings`` (inside :func:`detector`), keeping the audit
    verdicts (``is_secret``) that ``previous`` recorded for the same findings."""
    collection = SecretsCollection()
    for found in findings:
        secret = PotentialSecret(found.kind, found.filename, "unused", found.line)
        secret.secret_hash = found.hashed_secret
        secret.secret_value = None
        collection[found.filename].add(secret)
    if previous is not None:
        collection.merge(SecretsCollection.load_from_baseline(ds_baseline.upgrade(previous)))
    document = ds_baseline.format_for_output(collection)
    for plugin in document["plugins_used"]:
        # An absolute path of this machine's site-packages would make the committed file churn.
        plugin.pop("path", None)
    return document
