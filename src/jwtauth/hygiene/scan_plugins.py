"""detect-secrets plugins, filters and whole-file detectors for what its stock plugins miss
about JWT secrets.

The only module that imports detect-secrets (the ``scan`` extra). detect-secrets loads custom
plugins from a file path (``plugins_used[].path = "file://..."``), so this module must stay
importable as a plain file: it imports nothing from jwtauth.
"""

from __future__ import annotations

import ast
import base64
import binascii
import bisect
import json
import re
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from functools import lru_cache
from itertools import pairwise
from pathlib import Path, PurePath
from typing import Any, NamedTuple

from detect_secrets.core import baseline as ds_baseline
from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
from detect_secrets.core.potential_secret import PotentialSecret
from detect_secrets.core.scan import scan_file
from detect_secrets.core.secrets_collection import SecretsCollection
from detect_secrets.filters.allowlist import is_line_allowlisted
from detect_secrets.filters.heuristic import (
    is_not_alphanumeric_string,
    is_potential_uuid,
    is_prefixed_with_dollar_sign,
    is_sequential_string,
    is_swagger_file,
    is_templated_secret,
)
from detect_secrets.plugins.base import BasePlugin
from detect_secrets.settings import transient_settings
from detect_secrets.util.code_snippet import get_code_snippet

__all__ = [
    "KEY_LITERAL_KIND",
    "CodeFinding",
    "DotenvSecretDetector",
    "JWTSecretSettingDetector",
    "RawFinding",
    "baseline_document",
    "baseline_keys",
    "code_findings",
    "detector",
    "is_dotenv_file",
    "is_expression_in_code",
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
     "uri", "header", "prefix", "field", "fields", "source", "ttl", "version", "rotation",
     "msg", "message", "warning", "error", "help", "hint", "text", "label", "description",
     "pattern", "regex", "format", "template", "chars", "characters"}
)  # fmt: skip
# Words before a final `key` that make it the key of a lookup, not a signing key:
# flask-jwt-extended's `JWT_JSON_KEY = "access_token"`, `JWT_ERROR_MESSAGE_KEY = "msg"`.
_LOOKUP_KEY_WORDS = frozenset(
    {"json", "message", "error", "claim", "claims", "cache", "storage", "lookup", "query",
     "cookie", "session", "dict", "map", "context", "state", "attribute", "attr"}
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
    {".py", ".pyi", ".js", ".mjs", ".cjs", ".ts", ".tsx", ".jsx", ".mts", ".cts", ".go", ".rb",
     ".java", ".kt", ".php", ".rs", ".cs", ".swift", ".c", ".h", ".cpp", ".md", ".rst", ".txt",
     ".html", ".ipynb"}
)  # fmt: skip
_EXAMPLE_SUFFIXES = frozenset({"example", "sample", "template", "dist", "defaults", "tmpl"})
_DOTENV_WORDS = ("SECRET", "KEY", "TOKEN", "PASSWORD", "PASSWD")


def _words(name: str) -> list[str]:
    # The last component of a dotted or subscripted name, split at `_`/`-` and camelCase humps,
    # an acronym being one word (`JWTSecret`, `HMACKey`: Go's and C#'s spelling).
    last = re.split(r"[.\[\]\"']", name.strip("\"'[]."))[-1] or name
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", last)
    return [w for w in re.split(r"[_\-]+", spaced.lower()) if w]


def is_jwt_setting_name(name: str) -> bool:
    """True for names such as ``JWT_SECRET``, ``SECRET_KEY``, ``SIGNING_KEY``, ``jwtSecret``."""
    words = _words(name)
    if not words or words[-1] in _NOT_SECRET_WORDS or {"public", "pub"} & set(words):
        return False
    if len(words) > 1 and words[-1] == "key" and words[-2] in _LOOKUP_KEY_WORDS:
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


# A call or member expression: `new TextEncoder().encode(process.env.X)`, `config.get("x")`.
_CODE_EXPRESSION = re.compile(
    r"^(?:new\s+|await\s+)?[A-Za-z_$][\w$]*(?:\s*\??\.\s*[A-Za-z_$][\w$]*)*"
    r"\s*(?:[(\[].*[)\]]\s*;?|;?)$"
)


def is_expression_in_code(secret: str, plugin: BasePlugin, filename: str) -> bool:
    """A detect-secrets filter: drop a ``KeywordDetector`` match in code whose value is a call or
    member expression. detect-secrets re-reads a file type it has no parser for (`.ts`, `.mjs`,
    `.ipynb`) as INI when nothing was found, quoting every right-hand side, so
    ``const secret = new TextEncoder().encode(process.env.X)`` would be a password."""
    if plugin.secret_type != "Secret Keyword" or _allows_bare_values(filename):  # noqa: S105
        return False
    looks_called = "(" in secret or "[" in secret or "." in secret
    return looks_called and bool(_CODE_EXPRESSION.match(secret))


# Whole-file detectors -----------------------------------------------------------------------------
# detect-secrets hands a plugin one line at a time, and its `is_indirect_reference` heuristic drops
# every line shaped like `x = f(...)` before any plugin sees it. A key passed to `jwt.encode(...)`,
# an `os.getenv(..., "default")`, a value on the line after its name, an f-string or a notebook
# cell need the file's syntax, so :func:`scan_path` runs these over the whole file: Python (and
# notebooks' code cells) through `ast`, JS/TS and Go through a tokenizer.

KEY_LITERAL_KIND = "JWT Key Literal"
_SETTING = JWTSecretSettingDetector.secret_type
_PYTHON_SUFFIXES = frozenset({".py", ".pyi", ".pyw"})
_JS_SUFFIXES = frozenset({".js", ".mjs", ".cjs", ".jsx", ".ts", ".tsx", ".mts", ".cts"})
_GO_SUFFIXES = frozenset({".go"})
_NOTEBOOK_SUFFIX = ".ipynb"
# Bundles and generated code above this size are not the place a secret is written by hand, and
# tokenizing them would dominate the scan; detect-secrets' line plugins still read them.
_MAX_SOURCE_CHARS = 2_000_000
_IDENTIFIER = re.compile(r"[A-Za-z_][\w.\-]*")


class CodeFinding(NamedTuple):
    """A literal found by a whole-file detector: the line it starts on, the kind and the value
    (the value stays in memory: only its hash leaves :func:`scan_path`)."""

    line: int
    kind: str
    value: str


def _names_a_setting(value: object) -> bool:
    return (
        isinstance(value, str) and bool(_IDENTIFIER.fullmatch(value)) and is_jwt_setting_name(value)
    )


# Python -------------------------------------------------------------------------------------------
# Last components of a resolved callee -> (position of its key argument, keyword names of it).
_PY_KEY_ARGUMENTS: dict[tuple[str, ...], tuple[int, frozenset[str]]] = {
    ("jwt", "encode"): (1, frozenset({"key"})),  # PyJWT, python-jose; authlib/joserfc: below
    ("jwt", "decode"): (1, frozenset({"key"})),  # PyJWT, python-jose, authlib, joserfc
    ("jws", "sign"): (1, frozenset({"key"})),  # python-jose
    ("jws", "verify"): (1, frozenset({"key"})),
    ("PyJWT", "encode"): (1, frozenset({"key"})),
    ("PyJWT", "decode"): (1, frozenset({"key"})),
    ("PyJWS", "encode"): (1, frozenset({"key"})),
    ("PyJWS", "decode"): (1, frozenset({"key"})),
    ("JsonWebToken", "encode"): (2, frozenset({"key"})),  # authlib: (header, payload, key)
    ("JsonWebToken", "decode"): (1, frozenset({"key"})),
    ("OctKey", "import_key"): (0, frozenset({"raw", "value"})),  # authlib, joserfc
    ("jwk", "construct"): (0, frozenset({"key_data"})),  # python-jose
    ("HMACKey",): (0, frozenset({"secret"})),  # jwtauth
}
# Libraries whose `jwt.encode` takes (header, payload, key), not PyJWT's (payload, key, alg).
_HEADER_FIRST = frozenset({"authlib", "joserfc"})
# Lookups whose second positional argument is the value or default of the name in the first.
_PY_LOOKUPS = frozenset({"get", "getenv", "setdefault", "pop", "setenv", "putenv", "str", "set"})
_PY_DEFAULT_KEYWORDS = frozenset({"default", "fallback"})
_ENVIRONMENT_WORDS = frozenset({"environ", "getenv", "env", "setenv", "putenv"})
# Calls that hand their first argument through unchanged, as far as a secret is concerned.
_PY_WRAPPERS = frozenset({"bytes", "bytearray", "str", "SecretStr", "SecretBytes", "Field"})


def _dotted(node: ast.expr) -> list[str]:
    """`a.b.c` as ["a", "b", "c"]; a call in the chain counts as its callee (`jwt.PyJWT().x`)."""
    if isinstance(node, ast.Name):
        return [node.id]
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return [*base, node.attr] if base else []
    if isinstance(node, ast.Call):
        return _dotted(node.func)
    return []


def _py_literals(node: ast.expr | None) -> list[tuple[str, int]]:
    """The literal values ``node`` evaluates to, or may: `"x"`, `b"x"`, an f-string's literal
    text, `"a" + "b"`, `"x".encode()`, `SecretStr("x")`, `Field(default="x")`, `os.getenv(n, "x")`,
    `a or "x"`, `"x" if c else y`. Anything computed at run time yields nothing."""
    found: list[tuple[str, int]] = []
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bytes):
            value = value.decode("utf-8", "backslashreplace")
        if isinstance(value, str) and value:
            found.append((value, node.lineno))
    elif isinstance(node, ast.JoinedStr):
        text = "".join(
            part.value
            for part in node.values
            if isinstance(part, ast.Constant) and isinstance(part.value, str)
        )
        found += [(text, node.lineno)] if text else []
    elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _py_literals(node.left), _py_literals(node.right)
        if len(left) == len(right) == 1:
            found.append((left[0][0] + right[0][0], left[0][1]))
    elif isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or):
        found += [literal for value in node.values for literal in _py_literals(value)]
    elif isinstance(node, ast.IfExp):
        found += _py_literals(node.body) + _py_literals(node.orelse)
    elif isinstance(node, ast.Call):
        found += _py_call_literals(node)
    return found


def _py_call_literals(node: ast.Call) -> list[tuple[str, int]]:
    func = node.func
    if isinstance(func, ast.Attribute) and func.attr == "encode" and not _dotted(func.value):
        return _py_literals(func.value)  # "x".encode("utf-8")
    name = (_dotted(func) or [""])[-1]
    found = _py_literals(node.args[0]) if name in _PY_WRAPPERS and node.args else []
    return found + [f for default in _py_defaults(node) for f in _py_literals(default)]


def _py_defaults(node: ast.Call) -> list[ast.expr]:
    """The fallback values of a lookup: `default=`/`fallback=`, and the second argument of
    `get`/`getenv`/`setdefault`/... when it reads the environment or a secret-named key. Not
    ConfigParser's `get(section, option)`, whose second argument is a name."""
    found = [kw.value for kw in node.keywords if kw.arg in _PY_DEFAULT_KEYWORDS]
    parts = _dotted(node.func)
    if parts and parts[-1] in _PY_LOOKUPS and len(node.args) >= 2:
        first = node.args[0]
        environment = bool(_ENVIRONMENT_WORDS & set(parts))
        if environment or (isinstance(first, ast.Constant) and _names_a_setting(first.value)):
            found.append(node.args[1])
    return found


def _target_name(node: ast.expr) -> str | None:
    """The name an assignment target gives its value: `X`, `a.X`, `a["X"]`."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
        key = node.slice.value
        return key if isinstance(key, str) else None
    return None


class _Scope:
    """The names a function (or the module, or a class body) binds, and the literals among them."""

    def __init__(self, *, is_class: bool = False) -> None:
        self.is_class = is_class
        self.params: set[str] = set()
        self.bound: set[str] = set()
        self.literals: dict[str, list[tuple[str, int]]] = {}


class _PythonScan(ast.NodeVisitor):
    """Literal JWT secrets in one module: values of secret-named settings, and keys passed to the
    JWT libraries' calls, directly or through a name bound to a literal in scope."""

    def __init__(self, tree: ast.Module) -> None:
        self.found: set[CodeFinding] = set()
        self._imports: dict[str, str] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    local = alias.asname or alias.name.split(".")[0]
                    self._imports[local] = alias.name if alias.asname else local
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for alias in node.names:
                    self._imports[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        self._header_first = any(
            qualified.split(".")[0] in _HEADER_FIRST for qualified in self._imports.values()
        )
        self._scopes: list[_Scope] = [_Scope()]
        # Names passed as keys, resolved once every scope is complete (a module-level key may be
        # bound below the function that uses it).
        self._key_names: list[tuple[list[_Scope], str]] = []
        # An expression nested too deep (generated code): keep what was found before it.
        with suppress(RecursionError):
            self.visit(tree)
        for chain, name in self._key_names:
            for value, line in self._lookup(chain, name):
                self.found.add(CodeFinding(line, KEY_LITERAL_KIND, value))

    def _add(self, kind: str, literals: Iterable[tuple[str, int]]) -> None:
        self.found.update(CodeFinding(line, kind, value) for value, line in literals)

    @staticmethod
    def _lookup(chain: list[_Scope], name: str) -> list[tuple[str, int]]:
        for depth, scope in enumerate(reversed(chain)):
            if scope.is_class and depth:
                continue  # a class body's names are not visible from its methods
            if name in scope.params:
                return []
            if name in scope.bound:
                return scope.literals.get(name, [])
        return []

    # Bindings and settings ---------------------------------------------------------------------
    def _bind(self, target: ast.expr, value: ast.expr | None) -> None:
        if isinstance(target, ast.Tuple | ast.List):
            values: list[ast.expr | None] = [None] * len(target.elts)
            if isinstance(value, ast.Tuple | ast.List) and len(value.elts) == len(target.elts):
                values = list(value.elts)
            for element, element_value in zip(target.elts, values, strict=True):
                self._bind(element, element_value)
            return
        name = _target_name(target)
        literals = _py_literals(value)
        if name is not None and is_jwt_setting_name(name):
            self._add(_SETTING, literals)
        if isinstance(target, ast.Name):
            scope = self._scopes[-1]
            scope.bound.add(target.id)
            if literals:
                scope.literals.setdefault(target.id, []).extend(literals)

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            self._bind(target, node.value)
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self._bind(node.target, node.value)
        self.generic_visit(node)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self._bind(node.target, node.value)
        self.generic_visit(node)

    def visit_For(self, node: ast.For) -> None:
        self._bind(node.target, None)
        self.generic_visit(node)

    def visit_withitem(self, node: ast.withitem) -> None:
        if node.optional_vars is not None:
            self._bind(node.optional_vars, None)
        self.generic_visit(node)

    def visit_Dict(self, node: ast.Dict) -> None:
        for key, value in zip(node.keys, node.values, strict=True):
            if isinstance(key, ast.Constant) and _names_a_setting(key.value):
                self._add(_SETTING, _py_literals(value))
        self.generic_visit(node)

    # Scopes -------------------------------------------------------------------------------------
    def _visit_function(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> None:
        arguments = node.args
        positional = [*arguments.posonlyargs, *arguments.args]
        with_defaults = positional[len(positional) - len(arguments.defaults) :]
        defaults = zip(with_defaults, arguments.defaults, strict=True)
        keyword_defaults = zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True)
        for argument, default in [*defaults, *keyword_defaults]:
            if default is not None and is_jwt_setting_name(argument.arg):
                self._add(_SETTING, _py_literals(default))
        for default in [*arguments.defaults, *arguments.kw_defaults]:
            if default is not None:
                self.visit(default)
        if not isinstance(node, ast.Lambda):
            self._scopes[-1].bound.add(node.name)
            for decorator in node.decorator_list:
                self.visit(decorator)
        scope = _Scope()
        every = [*positional, *arguments.kwonlyargs, arguments.vararg, arguments.kwarg]
        scope.params = {argument.arg for argument in every if argument is not None}
        self._scopes.append(scope)
        for statement in node.body if isinstance(node.body, list) else [node.body]:
            self.visit(statement)
        self._scopes.pop()

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._visit_function(node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self._visit_function(node)

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self._visit_function(node)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._scopes[-1].bound.add(node.name)
        for expression in [*node.bases, *node.keywords, *node.decorator_list]:
            self.visit(expression)
        self._scopes.append(_Scope(is_class=True))
        for statement in node.body:
            self.visit(statement)
        self._scopes.pop()

    # Calls --------------------------------------------------------------------------------------
    def _resolve(self, func: ast.expr) -> list[str]:
        parts = _dotted(func)
        if parts and parts[0] in self._imports:
            parts = [*self._imports[parts[0]].split("."), *parts[1:]]
        return parts

    def _key_argument(self, node: ast.Call) -> ast.expr | None:
        parts = self._resolve(node.func)
        rule = _PY_KEY_ARGUMENTS.get(tuple(parts[-2:])) or _PY_KEY_ARGUMENTS.get(tuple(parts[-1:]))
        if rule is None:
            return None
        position, keywords = rule
        if tuple(parts[-2:]) == ("jwt", "encode") and self._takes_header(parts, node):
            position = 2
        for keyword in node.keywords:
            if keyword.arg in keywords:
                return keyword.value
        positional = [a for a in node.args if not isinstance(a, ast.Starred)]
        return positional[position] if len(positional) > position else None

    def _takes_header(self, parts: list[str], node: ast.Call) -> bool:
        if parts[0] in _HEADER_FIRST:
            return True
        if parts[0] == "jwt" and len(parts) == 2 and self._header_first:
            return True  # `jwt` bound some other way in a module that uses authlib or joserfc
        first = node.args[0] if node.args else None
        return isinstance(first, ast.Dict) and any(
            isinstance(key, ast.Constant) and key.value == "alg" for key in first.keys
        )

    def visit_Call(self, node: ast.Call) -> None:
        key = self._key_argument(node)
        if isinstance(key, ast.Name):
            self._key_names.append((list(self._scopes), key.id))
        elif key is not None:
            self._add(KEY_LITERAL_KIND, _py_literals(key))
        for keyword in node.keywords:
            if keyword.arg is not None and is_jwt_setting_name(keyword.arg):
                self._add(_SETTING, _py_literals(keyword.value))
        # os.getenv("JWT_SECRET", "x"), os.environ.setdefault(...), env("SECRET_KEY", default=...)
        first = node.args[0] if node.args else None
        if isinstance(first, ast.Constant) and _names_a_setting(first.value):
            for default in _py_defaults(node):
                self._add(_SETTING, _py_literals(default))
        self.generic_visit(node)


def _python_findings(source: str) -> set[CodeFinding]:
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError):
        return set()  # not Python this interpreter reads: the line plugins still scan it
    return _PythonScan(tree).found


# Notebooks ----------------------------------------------------------------------------------------
_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\]:,]|[^\s{}\[\]:,"]+', re.DOTALL)
# IPython syntax that is not Python: line magics, shell escapes, help.
_MAGIC = re.compile(r"^\s*(?:[%!?]|[\w.]+\?{1,2}\s*$)")


class _Located(str):
    """A JSON string value that knows the offset of its opening quote in the document."""

    __slots__ = ("offset",)
    offset: int


def _located_json(text: str) -> Any:
    """``text`` (already known to be valid JSON) decoded, each string a :class:`_Located`."""
    tokens = [(match.group(), match.start()) for match in _JSON_TOKEN.finditer(text)]
    position = 0

    def value() -> Any:
        nonlocal position
        text, offset = tokens[position]
        position += 1
        if text in ("{", "["):
            closer = "}" if text == "{" else "]"
            members: list[Any] = []
            while tokens[position][0] != closer:
                if tokens[position][0] in ",:":
                    position += 1
                    continue
                members.append(value())
            position += 1
            if text == "[":
                return members
            return {str(k): v for k, v in zip(members[::2], members[1::2], strict=True)}
        decoded = json.loads(text)
        if isinstance(decoded, str):
            located = _Located(decoded)
            located.offset = offset
            return located
        return decoded

    return value()


def _notebook_findings(text: str) -> set[CodeFinding]:
    """Findings in a notebook's Python code cells, at the lines of the ``.ipynb`` file."""
    try:
        json.loads(text)
        document = _located_json(text)
    except (ValueError, IndexError, RecursionError):
        return set()
    cells = document.get("cells") if isinstance(document, dict) else None
    newlines = [match.start() for match in re.finditer("\n", text)]
    file_lines: list[int] = []  # code line - 1 -> line of the .ipynb file
    code: list[str] = []
    for cell in cells if isinstance(cells, list) else []:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source")
        pieces = [source] if isinstance(source, _Located) else source
        if not isinstance(pieces, list) or not all(isinstance(p, _Located) for p in pieces):
            continue
        cell_lines: list[str] = []
        cell_file_lines: list[int] = []
        for piece in pieces:
            line = bisect.bisect_left(newlines, piece.offset) + 1
            for text_line in piece.removesuffix("\n").split("\n") if piece else []:
                cell_lines.append(text_line)
                cell_file_lines.append(line)
        if not cell_lines or cell_lines[0].lstrip().startswith("%%"):
            continue  # a cell magic runs the cell as something other than Python
        cell_source = "\n".join("" if _MAGIC.match(ln) else ln for ln in cell_lines) + "\n"
        try:
            ast.parse(cell_source)
        except (SyntaxError, ValueError, RecursionError):
            continue
        code.append(cell_source)
        file_lines.extend(cell_file_lines)
    # One module of every cell, in order: an import or a key bound in one cell serves the next.
    return {
        found._replace(line=file_lines[found.line - 1])
        for found in _python_findings("".join(code))
        if 0 < found.line <= len(file_lines)
    }


# JS/TS and Go -------------------------------------------------------------------------------------
_C_TOKEN = re.compile(
    r"""(?x)
      (?P<space>\s+)
    | (?P<comment>//[^\n]*|/\*[\s\S]*?(?:\*/|\Z))
    | (?P<string>"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*')
    | (?P<template>`(?:\\[\s\S]|\$\{(?:[^{}`]|\{[^{}`]*\})*\}|\$(?!\{)|[^`\\$])*`)
    | (?P<word>[A-Za-z_$][\w$]*|\d[\w.]*)
    | (?P<op>\|\||\?\?|\?\.|:=|=>|===|!==|==|!=|<=|>=|&&|\.\.\.|\S)
    """
)
_JS_REGEX_LITERAL = re.compile(r"/(?:\\.|\[(?:\\.|[^\]\\\n])*\]|[^/\\\n\[])+/[A-Za-z]*")
_TEMPLATE_SUBSTITUTION = re.compile(r"\$\{(?:[^{}`]|\{[^{}`]*\})*\}")
# After these a `/` starts a regular expression, not a division.
_BEFORE_REGEX = frozenset("(,=:[!&|?{};+-*%<>~^") | {"=>", "&&", "||", "??", "==", "===", "!="}
_KEYWORDS_BEFORE_REGEX = frozenset({"return", "typeof", "case", "in", "of", "void", "throw", "new"})
_OPENERS = {"(": ")", "[": "]", "{": "}"}
_CLOSERS = frozenset(_OPENERS.values())
# A statement goes on past a line break after or before one of these.
_CONTINUATION = frozenset({"||", "??", "&&", "+", "-", "*", "/", ".", "?.", "?", ":", "=", "=>"})


class _Token(NamedTuple):
    kind: str  # "string", "word" or "op"
    text: str  # the word or operator; for a string, its quote character
    line: int
    value: str = ""  # a string's content, as written; a template's without its `${...}`
    interpolated: bool = False  # a template literal with `${...}` parts


def _c_tokens(text: str, *, regex_literals: bool) -> list[_Token]:
    """JS/TS or Go source as tokens, without comments; strings keep their line."""
    tokens: list[_Token] = []
    position, line = 0, 1
    while position < len(text):
        if regex_literals and text[position] == "/" and _starts_regex(tokens):
            literal = _JS_REGEX_LITERAL.match(text, position)
            if literal is not None and text[position : position + 2] not in ("//", "/*"):
                line += literal.group().count("\n")
                position = literal.end()
                continue
        match = _C_TOKEN.match(text, position)
        if match is None:  # pragma: no cover - the `\S` alternative matches any other character
            break
        kind, raw = match.lastgroup or "op", match.group()
        if kind == "string":
            tokens.append(_Token("string", raw[0], line, raw[1:-1]))
        elif kind == "template":
            body = raw[1:-1]
            bare = _TEMPLATE_SUBSTITUTION.sub("", body)
            tokens.append(_Token("string", "`", line, bare, interpolated=bare != body))
        elif kind in ("word", "op"):
            tokens.append(_Token(kind, raw, line))
        line += raw.count("\n")
        position = match.end()
    return tokens


def _starts_regex(tokens: Sequence[_Token]) -> bool:
    """Whether a `/` after ``tokens`` begins a regular expression literal (not a division)."""
    if not tokens:
        return True
    last = tokens[-1]
    if last.kind == "op":
        return last.text in _BEFORE_REGEX
    return last.kind == "word" and last.text in _KEYWORDS_BEFORE_REGEX


def _closing(tokens: Sequence[_Token], start: int) -> int:
    """The index of the bracket closing ``tokens[start]`` (or the end)."""
    depth = 0
    for index in range(start, len(tokens)):
        token = tokens[index]
        if token.kind == "op" and token.text in _OPENERS:
            depth += 1
        elif token.kind == "op" and token.text in _CLOSERS:
            depth -= 1
            if depth == 0:
                return index
    return len(tokens)


def _split(tokens: Sequence[_Token], separators: frozenset[str]) -> list[list[_Token]]:
    """``tokens`` split at ``separators`` outside brackets."""
    parts: list[list[_Token]] = [[]]
    depth = 0
    for token in tokens:
        if token.kind == "op" and token.text in _OPENERS:
            depth += 1
        elif token.kind == "op" and token.text in _CLOSERS:
            depth -= 1
        elif depth == 0 and token.kind == "op" and token.text in separators:
            parts.append([])
            continue
        parts[-1].append(token)
    return parts


def _arguments(tokens: Sequence[_Token], opening: int) -> list[list[_Token]]:
    """The arguments of the call whose `(` is ``tokens[opening]``."""
    inside = tokens[opening + 1 : _closing(tokens, opening)]
    return [argument for argument in _split(inside, frozenset({","})) if argument]


def _expression_end(tokens: Sequence[_Token], start: int) -> int:
    """Where the expression starting at ``tokens[start]`` ends: a `,` or `;` outside brackets,
    the bracket that closes around it, or a line break no operator carries on across."""
    depth = 0
    for index in range(start, len(tokens)):
        token = tokens[index]
        broken = index > start and token.line > tokens[index - 1].line
        if depth == 0 and broken and not _carries_on(tokens[index - 1], token):
            return index
        if token.kind == "op" and token.text in _OPENERS:
            depth += 1
        elif token.kind == "op" and token.text in _CLOSERS:
            depth -= 1
            if depth < 0:
                return index
        elif depth == 0 and token.kind == "op" and token.text in (",", ";"):
            return index
    return len(tokens)


def _carries_on(before: _Token, after: _Token) -> bool:
    """Whether a statement goes on across the line break between ``before`` and ``after``."""
    if before.kind == "op" and (before.text in _CONTINUATION or before.text in _OPENERS):
        return True
    return after.kind == "op" and (after.text in _CONTINUATION or after.text in _CLOSERS)


def _texts(tokens: Sequence[_Token]) -> list[str]:
    return [token.text if token.kind != "string" else "\0" for token in tokens]


# Calls that hand a literal through: Go's []byte("x") and string("x"), Node's Buffer.from("x"),
# the jose idiom new TextEncoder().encode("x"), String("x").
_C_WRAPPERS = (
    ["[", "]", "byte", "("],
    ["string", "("],
    ["Buffer", ".", "from", "("],
    ["new", "TextEncoder", "(", ")", ".", "encode", "("],
    ["String", "("],
)


def _c_literals(
    expression: Sequence[_Token], bindings: dict[str, list[tuple[str, int]]] | None = None
) -> list[tuple[str, int]]:
    """The literal values a JS/TS or Go expression evaluates to, or may (`a || "x"`,
    `a ?? "x"`, `c ? "x" : y`, `"a" + "b"`, the wrappers above); with ``bindings``, a name bound
    to a literal counts as that literal."""
    while (
        len(expression) > 1
        and expression[0].text == "("
        and expression[0].kind == "op"
        and _closing(expression, 0) == len(expression) - 1
    ):
        expression = expression[1:-1]
    alternatives = _split(expression, frozenset({"||", "??"}))
    question = _split(expression, frozenset({"?"}))
    if len(alternatives) > 1:
        parts = alternatives
    elif len(question) == 2:
        parts = _split(question[1], frozenset({":"}))  # either branch of `c ? a : b`
    else:
        return _c_operand_literals(expression, bindings)
    return [found for part in parts for found in _c_literals(part, bindings)]


def _c_operand_literals(
    expression: Sequence[_Token], bindings: dict[str, list[tuple[str, int]]] | None
) -> list[tuple[str, int]]:
    terms = _split(expression, frozenset({"+"}))
    strings = [term[0] for term in terms if len(term) == 1 and term[0].kind == "string"]
    if len(terms) == 1 and strings:
        # A template's text outside `${...}` counts, as an f-string's does in Python.
        return [(strings[0].value, strings[0].line)] if strings[0].value else []
    if len(terms) > 1:
        complete = len(strings) == len(terms) and not any(s.interpolated for s in strings)
        return [("".join(s.value for s in strings), strings[0].line)] if complete else []
    if len(expression) == 1 and expression[0].kind == "word" and bindings is not None:
        return bindings.get(expression[0].text, [])
    texts = _texts(expression)
    for wrapper in _C_WRAPPERS:
        size = len(wrapper)
        if texts[:size] == wrapper and _closing(expression, size - 1) == len(expression) - 1:
            arguments = _arguments(expression, size - 1)
            return _c_literals(arguments[0], bindings) if arguments else []
    return []


def _c_bindings(tokens: Sequence[_Token]) -> dict[str, list[tuple[str, int]]]:
    """Names bound once in the file (`const k = "x"`, `k := []byte("x")`, `var k = ...`) to a
    literal. A name bound twice is left out: which binding a use sees needs scopes."""
    seen: dict[str, int] = {}
    literals: dict[str, list[tuple[str, int]]] = {}
    for index, token in enumerate(tokens[:-1]):
        operator = tokens[index + 1]
        if token.kind != "word" or operator.kind != "op" or operator.text not in ("=", ":="):
            continue
        declared = index > 0 and tokens[index - 1].text in ("const", "let", "var")
        if operator.text != ":=" and not declared:
            continue
        seen[token.text] = seen.get(token.text, 0) + 1
        value = tokens[index + 2 : _expression_end(tokens, index + 2)]
        found = _c_literals(value)
        if found:
            literals[token.text] = found
    return {name: found for name, found in literals.items() if seen[name] == 1}


def _c_setting_findings(tokens: Sequence[_Token]) -> Iterator[CodeFinding]:
    """`jwtSecret = "x"`, `JWT_SECRET: "x"`, `"jwt_secret": "x"`, `jwtKey := []byte("x")`, and
    `process.env.JWT_SECRET || "x"`, wherever the value starts and ends."""
    for index, token in enumerate(tokens[:-1]):
        operator = tokens[index + 1]
        name = token.text if token.kind == "word" else token.value
        if token.kind == "word" and name == "env" and operator.text in (".", "["):
            # process.env.NAME || "fallback", import.meta.env["NAME"] ?? "fallback"
            member = tokens[index + 2] if index + 2 < len(tokens) else None
            if member is not None and _names_a_setting(member.value or member.text):
                start = index - 2 if index >= 2 and tokens[index - 1].text == "." else index
                expression = tokens[start : _expression_end(tokens, start)]
                for value, line in _c_literals(expression):
                    yield CodeFinding(line, _SETTING, value)
            continue
        if operator.kind != "op" or operator.text not in ("=", ":=", ":"):
            continue
        if token.kind == "string" and operator.text != ":":
            continue
        if not _names_a_setting(name):
            continue
        start = index + 2
        annotated = (
            operator.text == ":"
            and start + 1 < len(tokens)
            and tokens[start].kind == "word"
            and tokens[start + 1].text == "="
        )
        if annotated:
            start += 2  # TypeScript: `jwtSecret: string = "x"`
        for value, line in _c_literals(tokens[start : _expression_end(tokens, start)]):
            yield CodeFinding(line, _SETTING, value)


def _callee(tokens: Sequence[_Token], opening: int) -> list[str]:
    """The dotted name before the `(` at ``opening``: ["jwt", "sign"] for `jwt.sign(`."""
    parts: list[str] = []
    index = opening - 1
    while index >= 0 and tokens[index].kind == "word":
        parts.insert(0, tokens[index].text)
        if index >= 1 and tokens[index - 1].text in (".", "?."):
            index -= 2
        else:
            break
    return parts


def _js_imports(tokens: Sequence[_Token]) -> dict[str, tuple[str, str]]:
    """Local name -> (module, exported name; "*" for the module itself) for `import x from`,
    `import * as x from`, `import { a as b } from`, `const x = require(...)` and
    `const { a: b } = require(...)`."""
    imports: dict[str, tuple[str, str]] = {}
    for index, token in enumerate(tokens):
        if token.kind == "word" and token.text == "import":
            end = index + 1
            while end < len(tokens) and not (tokens[end].text == "from" or tokens[end].text == ";"):
                end += 1
            if end + 1 >= len(tokens) or tokens[end + 1].kind != "string":
                continue
            module = tokens[end + 1].value
            clause = tokens[index + 1 : end]
            _import_names(clause, module, imports, renaming="as")
        elif token.kind == "word" and token.text == "require" and index + 2 < len(tokens):
            if tokens[index + 1].text != "(" or tokens[index + 2].kind != "string":
                continue
            module = tokens[index + 2].value
            if index >= 2 and tokens[index - 1].text == "=":
                before = index - 2
                if tokens[before].kind == "word":
                    imports[tokens[before].text] = (module, "*")
                elif tokens[before].text == "}":
                    depth, start = 0, before
                    while start > 0:
                        depth += {"}": 1, "{": -1}.get(tokens[start].text, 0)
                        if depth == 0:
                            break
                        start -= 1
                    _import_names(tokens[start : before + 1], module, imports, renaming=":")
    return imports


def _import_names(
    clause: Sequence[_Token], module: str, imports: dict[str, tuple[str, str]], *, renaming: str
) -> None:
    inside = False
    texts = _texts(clause)
    for index, text in enumerate(texts):
        if text == "{":
            inside = True
        elif text == "}":
            inside = False
        elif clause[index].kind != "word" or text in ("as", "type"):
            continue
        elif inside:
            if index + 2 < len(texts) and texts[index + 1] == renaming:
                imports[texts[index + 2]] = (module, text)
            elif index >= 1 and texts[index - 1] == renaming:
                continue
            else:
                imports[text] = (module, text)
        elif index >= 1 and texts[index - 1] == "as":
            imports[text] = (module, "*")  # import * as x
        elif texts[index - 1 : index] != ["*"]:
            imports[text] = (module, "*")  # import x from (the default export)


_JSONWEBTOKEN_KEY_CALLS = frozenset({"sign", "verify"})
_MIDDLEWARE_MODULES = frozenset({"express-jwt", "koa-jwt"})  # options.secret is the key
_KEY_PROPERTIES = frozenset({"secretOrKey", "secretOrPrivateKey"})  # passport-jwt, jsonwebtoken
_TEXT_ENCODER = ["TextEncoder", "(", ")", ".", "encode"]


def _js_findings(text: str) -> set[CodeFinding]:
    tokens = _c_tokens(text, regex_literals=True)
    imports = _js_imports(tokens)
    bindings = _c_bindings(tokens)
    found = set(_c_setting_findings(tokens))
    uses_jose = any(module == "jose" for module, _ in imports.values())

    def add_key(expression: Sequence[_Token], *, through_names: bool = True) -> None:
        for value, line in _c_literals(expression, bindings if through_names else None):
            found.add(CodeFinding(line, KEY_LITERAL_KIND, value))

    for index, token in enumerate(tokens):
        if token.kind == "word" and token.text in _KEY_PROPERTIES:
            following = tokens[index + 1] if index + 1 < len(tokens) else None
            if following is not None and following.text in (":", "="):
                add_key(tokens[index + 2 : _expression_end(tokens, index + 2)])
            continue
        if token.kind != "op" or token.text != "(" or index == 0:
            continue
        callee = _callee(tokens, index)
        if not callee:
            continue
        module, exported = imports.get(callee[0], ("", "*"))
        path = ([module] if module else [callee[0]]) + ([exported] if exported != "*" else [])
        path += callee[1:]
        arguments = _arguments(tokens, index)
        if path[0] in ("jsonwebtoken", "jwt") and path[-1] in _JSONWEBTOKEN_KEY_CALLS:
            if len(path) == 2 and len(arguments) > 1:
                add_key(arguments[1])
        elif path[0] in _MIDDLEWARE_MODULES or path[-1] in ("expressjwt", "expressJwt"):
            options = arguments[0] if arguments else []
            if options and options[0].text == "{" and _closing(options, 0) == len(options) - 1:
                for member in _split(options[1:-1], frozenset({","})):
                    if len(member) > 2 and member[0].text == "secret" and member[1].text == ":":
                        add_key(member[2:])
        elif uses_jose and arguments and _texts(tokens[index - 5 : index]) == _TEXT_ENCODER:
            add_key(arguments[0], through_names=False)  # jose: new TextEncoder().encode("x")
    return found


def _go_findings(text: str) -> set[CodeFinding]:
    tokens = _c_tokens(text, regex_literals=False)
    bindings = _c_bindings(tokens)
    found = set(_c_setting_findings(tokens))
    for index, token in enumerate(tokens):
        if token.kind != "word":
            continue
        following = tokens[index + 1].text if index + 1 < len(tokens) else ""
        if token.text == "SignedString" and following == "(":
            arguments = _arguments(tokens, index + 1)
            for value, line in _c_literals(arguments[0] if arguments else [], bindings):
                found.add(CodeFinding(line, KEY_LITERAL_KIND, value))
        elif token.text == "func":
            found.update(_go_keyfunc_findings(tokens, index, bindings))
    return found


def _go_keyfunc_findings(
    tokens: Sequence[_Token], index: int, bindings: dict[str, list[tuple[str, int]]]
) -> Iterator[CodeFinding]:
    """The literal keys a golang-jwt Keyfunc (a func taking a `*jwt.Token`) returns."""
    opening = index + 1
    while opening < len(tokens) and tokens[opening].text != "(":
        opening += 1  # past a name or receiver
    closing = _closing(tokens, opening)
    parameters = _texts(tokens[opening:closing])
    # `*jwt.Token` (whatever the import is called): golang-jwt's Keyfunc signature.
    if not any(
        parameters[i] == "*" and parameters[i + 2 : i + 4] == [".", "Token"]
        for i in range(len(parameters) - 3)
    ):
        return
    body = closing + 1
    while body < len(tokens) and tokens[body].text != "{":
        if tokens[body].text in ("(", "[") or tokens[body].text == "interface":
            body = _closing(tokens, body + (tokens[body].text == "interface"))
        body += 1
    end = _closing(tokens, body)
    for position in range(body, end):
        if tokens[position].text == "return":
            stop = _expression_end(tokens, position + 1)
            for value, line in _c_literals(tokens[position + 1 : stop], bindings):
                yield CodeFinding(line, KEY_LITERAL_KIND, value)


def code_findings(text: str, filename: str) -> set[CodeFinding]:
    """Literal JWT secrets in the source ``text`` of ``filename``, by its suffix: Python modules
    and notebooks through `ast`, JS/TS and Go through a tokenizer; nothing for other files."""
    suffix = PurePath(filename).suffix.lower()
    detectors: dict[str, Callable[[str], set[CodeFinding]]] = {_NOTEBOOK_SUFFIX: _notebook_findings}
    detectors.update(dict.fromkeys(_PYTHON_SUFFIXES, _python_findings))
    detectors.update(dict.fromkeys(_JS_SUFFIXES, _js_findings))
    detectors.update(dict.fromkeys(_GO_SUFFIXES, _go_findings))
    detect = detectors.get(suffix)
    if detect is None or len(text) > _MAX_SOURCE_CHARS:
        return set()
    try:
        return detect(text)
    except RecursionError:
        return set()  # nesting deeper than the interpreter's stack: the line plugins still read it


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
    f"{__name__}.is_expression_in_code",
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


_WHOLE_FILE_SUFFIXES = _PYTHON_SUFFIXES | _JS_SUFFIXES | _GO_SUFFIXES | {_NOTEBOOK_SUFFIX}
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def _is_placeholder(value: str) -> bool:
    # The whole-file detectors bypass detect-secrets' filters, so its value heuristics are
    # applied here; its `is_indirect_reference` (a line heuristic) is the one left out on purpose.
    return any(
        check(value)
        for check in (
            is_reference,
            is_templated_secret,
            is_not_alphanumeric_string,
            is_sequential_string,
            is_potential_uuid,
            is_prefixed_with_dollar_sign,
        )
    )


def _whole_file_findings(path: str, name: str, text: str, lines: list[str]) -> list[RawFinding]:
    if PurePath(path).suffix.lower() not in _WHOLE_FILE_SUFFIXES or is_swagger_file(path):
        return []
    found = []
    for finding in sorted(code_findings(text, path)):
        if _is_placeholder(finding.value) or not 0 < finding.line <= len(lines):
            continue
        line = lines[finding.line - 1]
        if is_line_allowlisted(path, line, get_code_snippet(lines, finding.line)):
            continue
        hashed = PotentialSecret.hash_secret(finding.value)
        found.append(RawFinding(name, finding.line, finding.kind, hashed))
    return found


def _is_transformer_artefact(secret: PotentialSecret, lines: list[str]) -> bool:
    # When a file has no finding, detect-secrets reads it again as INI (its "eager" transformer,
    # for every file type it has no parser for: `.ts`, `.txt`, `.ipynb`...) and quotes each
    # right-hand side, escaping the quotes inside: `x = f"{a}-b"` becomes `x = "f\"{a}-b\""`. In
    # code the value a line plugin finds then is not on the line at all.
    value = secret.secret_value
    if value is None or not 0 < secret.line_number <= len(lines):
        return False
    return value not in lines[secret.line_number - 1]


def scan_path(path: str, name: str) -> list[RawFinding]:
    """Scan the file at ``path`` (inside :func:`detector`); ``name`` is how findings call it.

    detect-secrets' line plugins, then the whole-file detectors (:func:`code_findings`), whose
    findings honour the same ``pragma: allowlist secret`` comments."""
    code = not _allows_bare_values(path)
    suffix = PurePath(path).suffix.lower()
    text = None
    if code or suffix in _WHOLE_FILE_SUFFIXES:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            text = None
    lines = _LINE_BREAK.split(text) if text is not None else []
    found = [
        RawFinding(name, secret.line_number, secret.type, secret.secret_hash)
        for secret in scan_file(path)
        if not (code and text is not None and _is_transformer_artefact(secret, lines))
    ]
    if text is not None:
        found += _whole_file_findings(path, name, text, lines)
    return found


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
