"""A logging filter that replaces tokens, credentials and configured secrets with `[REDACTED]`.

It rewrites what a handler is about to write: the message template and its ``%`` arguments,
string ``extra`` fields, the formatted traceback and the stack. It recognises by shape compact
JWS/JWE (`eyJ...`), `Bearer <token>`, `Authorization:` values, `password=`/`token=`-style
pairs and passwords in URLs; and by value any secret it is given (the HMAC secret, the
database and Redis passwords, a refresh token). Install it with :func:`install_redaction`.
"""

from __future__ import annotations

import logging
import re
import threading
import traceback
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import quote

__all__ = [
    "MIN_SECRET_LENGTH",
    "REDACTED",
    "RedactingFilter",
    "install_redaction",
    "redacting_log_config",
]

REDACTED = "[REDACTED]"
# Shorter values are not redacted by value: a 3-character "secret" would shred every log line,
# and the shape rules below still catch it inside a URL or a `password=` pair.
MIN_SECRET_LENGTH = 6

_B64URL = r"[A-Za-z0-9_-]"


def _keep_quotes(match: re.Match[str]) -> str:
    quote_mark = match.group("q") or ""
    return f"{match.group('key')}{quote_mark}{REDACTED}{quote_mark}"


_SHAPES: tuple[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]], ...] = (
    # The value of an Authorization header, in a header line, a dict repr or an ASGI tuple.
    (
        re.compile(r"""(?i)(\bauthorization(?:["']\s*[:=,]|\s*[:=])\s*(?:b?["'])?)[^"'\r\n]+"""),
        rf"\1{REDACTED}",
    ),
    (re.compile(r"(?i)\b(bearer)(\s+)[^\s\"',;]+"), rf"\1\2{REDACTED}"),
    # Compact JWS or JWE: a header that decodes to a JSON object ({" is `eyJ`), then segments;
    # a non-canonical header ({ " or {\n) needs three segments to count.
    # Each starts only where a base64url run starts: started inside one (`eyJeyJeyJ...`), every
    # start would rescan the run to its end, quadratic in a client-chosen request line.
    (re.compile(rf"(?<![\w-])eyJ{_B64URL}*\.{_B64URL}*(?:\.{_B64URL}*)*"), REDACTED),
    (re.compile(rf"(?<![\w-])e[wy]{_B64URL}{{6,}}(?:\.{_B64URL}+){{2,4}}"), REDACTED),
    # `password=...`, "refresh_token": "...", secret: ... (JSON, form bodies, reprs, key=value).
    # The name's prefix is bounded: `[\w-]*` there let a path like `a-a-a-...token` (which a
    # client can put in the access log) backtrack quadratically and stall the event loop.
    (
        re.compile(
            r"""(?ix)
            (?P<key>\b[\w-]{0,32}?(?:password|passwd|secret|token|api[_-]?key)["']?\s*[:=]\s*)
            (?:b?(?P<q>["'])(?:(?!(?P=q)).)*(?P=q)|\[REDACTED\]|[^\s&,;"'}\])]+)
            """
        ),
        _keep_quotes,  # `[REDACTED]` is matched whole, so a second pass changes nothing
    ),
    # scheme://user:password@host (a bounded scheme, for the same reason as above)
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]{0,31}://[^:/@\s]*):[^@/\s]+@"), rf"\1:{REDACTED}@"),
)

# Something at least one shape above needs; most log lines have none, and one search is cheaper
# than running every shape (about 4x on an access-log record).
_ANY_SHAPE = re.compile(
    r"(?i)eyJ|(?<![\w-])e[wy][\w-]{6,}\.|bearer|authorization|passw|secret|token|api[_-]?key|://"
)

# The attributes every LogRecord has; any other attribute came from `extra=`.
_RECORD_FIELDS = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class RedactingFilter(logging.Filter):
    """Rewrite each record so that no token, credential or configured secret survives.

    Attach it to handlers, not loggers: a logger's filters see only records logged on that very
    logger, while a handler's see every record it writes, whichever logger it came from.

    Args:
        secrets: values to redact wherever they appear (shorter than
            :data:`MIN_SECRET_LENGTH` characters are ignored).
    """

    def __init__(self, secrets: Iterable[str | bytes] = ()) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._values: frozenset[str] = frozenset()
        self._pattern: re.Pattern[str] | None = None
        self.add_secrets(secrets)

    def __repr__(self) -> str:
        return f"RedactingFilter(secrets={len(self._values)})"

    def add_secrets(self, secrets: Iterable[str | bytes]) -> None:
        """Also redact these values (a refresh token, a rotated secret) from now on."""
        found: set[str] = set()
        for secret in secrets:
            try:
                text = secret.decode("utf-8") if isinstance(secret, bytes) else secret
            except UnicodeDecodeError:
                continue  # binary: it can only reach a log as a repr, which no value matches
            if len(text) >= MIN_SECRET_LENGTH:
                # As written, and as it appears percent-encoded inside a URL.
                found |= {text, quote(text, safe="")}
        with self._lock:
            values = self._values | found
            if values == self._values:
                return
            longest_first = sorted(values, key=len, reverse=True)
            self._pattern = re.compile("|".join(map(re.escape, longest_first)))
            self._values = frozenset(values)

    def redact(self, text: str) -> str:
        """``text`` with every secret, token and credential replaced by :data:`REDACTED`."""
        pattern = self._pattern
        if pattern is not None:
            text = pattern.sub(REDACTED, text)
        if _ANY_SHAPE.search(text) is None:
            return text
        for shape, replacement in _SHAPES:
            text = shape.sub(replacement, text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact ``record`` in place; never drop it."""
        self._redact_message(record)
        for name, value in list(record.__dict__.items()):
            if name not in _RECORD_FIELDS and isinstance(value, str):
                setattr(record, name, self.redact(value))
        if record.exc_info and record.exc_info[0] is not None:
            # Format once, redacted, and drop the live exception: a formatter that formats
            # exc_info itself (JSON formatters do) would otherwise print the original text.
            record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
            record.exc_info = None
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True

    def _redact_message(self, record: logging.LogRecord) -> None:
        # Arguments are redacted one by one so that formatters which unpack them (uvicorn's
        # access log) keep working; a value that only appears once formatted (a `Bearer %s`
        # template) makes us fall back to the formatted, redacted message.
        args = record.args
        if isinstance(args, Mapping):
            record.args = {key: self._redact_arg(value) for key, value in args.items()}
        elif isinstance(args, tuple):
            record.args = tuple(self._redact_arg(value) for value in args)
        try:
            message = record.getMessage()
        except Exception:
            # A broken format must not leak either: logging.Handler.handleError prints the
            # template and the arguments, so redact both.
            record.msg = self.redact(str(record.msg))
            record.args = tuple(self.redact(str(a)) for a in _flat(record.args))
            return
        redacted = self.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, ()

    def _redact_arg(self, value: Any) -> Any:
        if isinstance(value, (int, float)) or value is None:
            return value
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
        redacted = self.redact(text)
        if isinstance(value, str) or redacted != text:
            return redacted
        return value


def _flat(args: Any) -> tuple[Any, ...]:
    if isinstance(args, Mapping):
        return tuple(args.values())
    return tuple(args or ())


def install_redaction(secrets: Iterable[str | bytes] = ()) -> RedactingFilter:
    """Redact every record the process's handlers write; returns the one shared filter.

    The filter goes on the root logger's handlers, on every handler of a logger that exists
    now (uvicorn's loggers do not propagate to the root), and on ``logging.lastResort``. Call
    it again after a logging configuration adds handlers: it reuses the installed filter, adds
    ``secrets`` to it, and never attaches it twice.
    """
    handlers = _all_handlers()
    installed = next(
        (f for h in handlers for f in h.filters if isinstance(f, RedactingFilter)), None
    )
    redactor = installed if installed is not None else RedactingFilter()
    redactor.add_secrets(secrets)
    for handler in handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(redactor)
    return redactor


def redacting_log_config(config: Mapping[str, Any], redactor: RedactingFilter) -> dict[str, Any]:
    """A copy of a :func:`logging.config.dictConfig` dictionary whose every handler carries
    ``redactor``: for servers that configure logging after the app is built (uvicorn does)."""
    # Copies only what changes: values such as stream objects must stay the very same objects.
    result = dict(config)
    result["filters"] = {**config.get("filters", {}), "jwtauth_redaction": {"()": lambda: redactor}}
    result["handlers"] = {
        name: {**handler, "filters": [*handler.get("filters", []), "jwtauth_redaction"]}
        for name, handler in config.get("handlers", {}).items()
    }
    return result


def _all_handlers() -> list[logging.Handler]:
    loggers: list[logging.Logger] = [logging.getLogger()]
    loggers += [
        logger
        for logger in list(logging.Logger.manager.loggerDict.values())
        if isinstance(logger, logging.Logger)
    ]
    handlers = [handler for logger in loggers for handler in logger.handlers]
    if logging.lastResort is not None:
        handlers.append(logging.lastResort)
    return list(dict.fromkeys(handlers))
