"""The redacting log filter: each shape of secret, each place in a record, and its installer."""

from __future__ import annotations

import base64
import io
import json
import logging
import logging.config
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jwtauth.hygiene.redaction import (
    REDACTED,
    RedactingFilter,
    install_redaction,
    redacting_log_config,
)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def random_b64(n: int = 32) -> str:
    return b64(secrets.token_bytes(n))


def b64json(data: dict[str, object]) -> str:
    return b64(json.dumps(data, separators=(",", ":")).encode())


JWS = ".".join([b64json({"alg": "ES256", "kid": "k1"}), b64json({"sub": "a"}), random_b64(64)])
JWE = ".".join(
    [b64json({"alg": "RSA-OAEP", "enc": "A256GCM"}), random_b64(), random_b64(12), random_b64(),
     random_b64(16)]
)  # fmt: skip
# `{ "alg": ...`: not the canonical `{"` start, so not `eyJ`.
SPACED_JWS = ".".join([b64(b'{ "alg": "HS256" }'), b64json({}), random_b64()])
OPAQUE = secrets.token_urlsafe(32)


@pytest.fixture
def redactor() -> RedactingFilter:
    return RedactingFilter()


@pytest.mark.parametrize(
    ("text", "hidden"),
    [
        (f"token {JWS} accepted", JWS),
        (f"jwe={JWE};", JWE),
        (f"header {SPACED_JWS}", SPACED_JWS),
        (f"Authorization: Bearer {OPAQUE}", OPAQUE),
        (f"authorization=Basic {OPAQUE}", OPAQUE),
        (f"{{'authorization': 'Bearer {OPAQUE}', 'host': 'x'}}", OPAQUE),
        (f"[(b'authorization', b'Bearer {OPAQUE}')]", OPAQUE),
        (f"sent Bearer {OPAQUE} upstream", OPAQUE),
        (f'{{"email": "a@example.com", "password": "{OPAQUE} with spaces"}}', OPAQUE),
        (f'{{"refresh_token": "{OPAQUE}"}}', OPAQUE),
        (f"email=a%40example.com&password={OPAQUE}&next=/", OPAQUE),
        (f"client_secret: {OPAQUE}", OPAQUE),
        (f"postgresql+asyncpg://app:{OPAQUE}@db:5432/app", OPAQUE),
        (f"redis://:{OPAQUE}@cache:6379/0", OPAQUE),
    ],
)
def test_each_shape_is_redacted(redactor: RedactingFilter, text: str, hidden: str) -> None:
    redacted = redactor.redact(text)
    assert hidden not in redacted
    assert hidden[:8] not in redacted
    assert REDACTED in redacted


@pytest.mark.parametrize(
    "text",
    [
        '{"token_type": "bearer", "expires_in": 300}',
        "GET /auth/me HTTP/1.1 200",
        "logger sqlalchemy.engine.Engine started",
        "user alice@example.com logged in from 203.0.113.7",
        "password policy: at least 12 characters",
    ],
)
def test_ordinary_text_is_left_alone(redactor: RedactingFilter, text: str) -> None:
    assert redactor.redact(text) == text


def test_configured_secrets_are_redacted_as_written_and_url_encoded() -> None:
    password = "p@ss w/rd-" + secrets.token_hex(4)
    redactor = RedactingFilter([password, b"hmac-" + secrets.token_hex(8).encode()])
    encoded = password.replace("@", "%40").replace(" ", "%20").replace("/", "%2F")
    for text in (f"connect {password}", f"dsn=host/db?pw={encoded}", f"auth {password}!"):
        assert password not in redactor.redact(text)
        assert encoded not in redactor.redact(text)


def test_short_and_binary_secrets_are_not_redacted_by_value() -> None:
    redactor = RedactingFilter(["abc", b"\xff\xfe\x00binary"])
    assert redactor.redact("abc abcabc") == "abc abcabc"
    assert "secrets=0" in repr(redactor)


def test_a_refresh_token_added_later_is_redacted(redactor: RedactingFilter) -> None:
    token = secrets.token_hex(16)  # not a JWT, not after "Bearer": only its value gives it away
    assert redactor.redact(f"rotated {token}") == f"rotated {token}"
    redactor.add_secrets([token])
    assert redactor.redact(f"rotated {token}") == f"rotated {REDACTED}"


def test_repr_shows_no_secret() -> None:
    value = secrets.token_urlsafe(32)
    assert value not in repr(RedactingFilter([value]))


# Records ----------------------------------------------------------------------------------------


def record(msg: object, args: object = None, **extra: object) -> logging.LogRecord:
    rec = logging.makeLogRecord({"msg": msg, "args": args, "levelno": logging.INFO})
    rec.__dict__.update(extra)
    return rec


def formatted(redactor: RedactingFilter, rec: logging.LogRecord) -> str:
    assert redactor.filter(rec) is True
    return logging.Formatter("%(message)s %(extra_field)s").format(rec)


def test_percent_args_are_redacted_and_keep_their_types(redactor: RedactingFilter) -> None:
    rec = record("%s %s %d", (f"Bearer {OPAQUE}", JWS, 200))
    rec.extra_field = ""
    text = formatted(redactor, rec)
    assert OPAQUE not in text
    assert JWS not in text
    # A formatter that unpacks the arguments (uvicorn's access log) still finds them.
    assert isinstance(rec.args, tuple)
    assert rec.args[2] == 200


def test_mapping_args_are_redacted(redactor: RedactingFilter) -> None:
    rec = record("%(who)s sent %(token)s", {"who": "alice", "token": JWS})
    assert redactor.filter(rec)
    assert rec.getMessage() == f"alice sent {REDACTED}"


def test_a_value_split_across_template_and_argument_is_redacted(
    redactor: RedactingFilter,
) -> None:
    # Neither "Bearer %s" nor the opaque token is recognisable alone; formatted, it is.
    rec = record("Authorization header: Bearer %s", (OPAQUE,))
    assert redactor.filter(rec)
    assert OPAQUE not in rec.getMessage()


def test_non_string_arguments_are_redacted_through_their_str(redactor: RedactingFilter) -> None:
    rec = record("headers %s", ({"authorization": f"Bearer {OPAQUE}"},))
    assert redactor.filter(rec)
    assert OPAQUE not in rec.getMessage()


def test_a_broken_format_leaks_nothing_through_handle_error(redactor: RedactingFilter) -> None:
    rec = record("%s %s", (JWS,))  # one argument short: logging reports msg and args
    assert redactor.filter(rec)
    assert JWS not in repr(rec.msg) + repr(rec.args)


def test_string_extra_fields_are_redacted(redactor: RedactingFilter) -> None:
    rec = record("login", extra_field=f"Bearer {OPAQUE}", count=3)
    assert OPAQUE not in formatted(redactor, rec)
    assert rec.__dict__["count"] == 3


def test_exception_text_is_redacted(redactor: RedactingFilter) -> None:
    try:
        fail(f"bad token {JWS}")
    except ValueError:
        rec = logging.LogRecord("t", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())
    rec.extra_field = ""
    text = formatted(redactor, rec)
    assert "ValueError: bad token" in text
    assert JWS not in text
    # Formatters that format exc_info themselves (JSON ones) cannot reach the original.
    assert rec.exc_info is None


def test_a_preformatted_exc_text_and_stack_are_redacted(redactor: RedactingFilter) -> None:
    rec = record("x")
    rec.exc_text = f"Traceback ...\nKeyError: {JWS}"
    rec.stack_info = f"Stack (most recent call last):\n  token={OPAQUE}"
    assert redactor.filter(rec)
    assert JWS not in rec.exc_text
    assert OPAQUE not in rec.stack_info


@pytest.mark.parametrize(
    "text",
    [
        f"Authorization: Bearer {JWS}",
        f"GET /auth/me?token={JWS}&password={OPAQUE} HTTP/1.1",
        f'{{"refresh_token": "{OPAQUE}"}}',
        f"redis://:{OPAQUE}@cache:6379/0 Bearer {OPAQUE}",
    ],
)
def test_redacting_twice_changes_nothing(redactor: RedactingFilter, text: str) -> None:
    # Each handler filters the same record: a second pass must not find "new" secrets and
    # fall back to a formatted message, which breaks formatters that unpack the arguments.
    once = redactor.redact(text)
    assert redactor.redact(once) == once


def test_arguments_stay_arguments_when_they_alone_held_the_secret(
    redactor: RedactingFilter,
) -> None:
    rec = record(
        '%s - "%s %s HTTP/%s" %d', ("127.0.0.1:5000", "GET", f"/me?token={JWS}", "1.1", 401)
    )
    assert redactor.filter(rec)
    assert isinstance(rec.args, tuple)
    assert len(rec.args) == 5
    assert rec.args[2] == f"/me?token={REDACTED}"


def fail(message: str) -> None:
    raise ValueError(message)


# Installing -------------------------------------------------------------------------------------


@pytest.fixture
def clean_logging() -> Iterator[None]:
    """Undo every filter the installer adds, on every handler it can reach."""

    def handlers() -> list[logging.Handler]:
        loggers = [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
        found = [h for lg in loggers if isinstance(lg, logging.Logger) for h in lg.handlers]
        return [*found, *([logging.lastResort] if logging.lastResort else [])]

    try:
        yield
    finally:
        for handler in handlers():
            for f in list(handler.filters):
                if isinstance(f, RedactingFilter):
                    handler.removeFilter(f)


@pytest.mark.usefixtures("clean_logging")
def test_install_covers_child_loggers_non_propagating_loggers_and_last_resort() -> None:
    root_stream, own_stream = io.StringIO(), io.StringIO()
    root_handler = logging.StreamHandler(root_stream)
    own_handler = logging.StreamHandler(own_stream)
    isolated = logging.getLogger("test_redaction.isolated")  # like uvicorn.access
    isolated.propagate = False
    logging.getLogger().addHandler(root_handler)
    isolated.addHandler(own_handler)
    try:
        secret = secrets.token_urlsafe(32)
        installed = install_redaction(secrets=[secret])
        assert install_redaction() is installed  # one filter, reused
        assert root_handler.filters.count(installed) == 1
        assert logging.lastResort is not None
        assert installed in logging.lastResort.filters
        logging.getLogger("test_redaction.child.deep").warning("using %s and %s", secret, JWS)
        isolated.warning("Bearer %s", OPAQUE)
    finally:
        logging.getLogger().removeHandler(root_handler)
        isolated.removeHandler(own_handler)
    assert "using [REDACTED] and [REDACTED]" in root_stream.getvalue()
    assert OPAQUE not in own_stream.getvalue()
    assert "Bearer" in own_stream.getvalue()


@pytest.mark.usefixtures("clean_logging")
def test_a_logging_config_applied_later_gets_the_same_filter() -> None:
    installed = install_redaction(secrets=["configured-secret-value"])
    stream = io.StringIO()
    config: dict[str, Any] = {
        "version": 1,
        "disable_existing_loggers": False,
        "handlers": {"h": {"class": "logging.StreamHandler", "stream": stream}},
        "loggers": {"test_redaction.later": {"handlers": ["h"], "propagate": False}},
    }
    logging.config.dictConfig(redacting_log_config(config, installed))
    logger = logging.getLogger("test_redaction.later")
    try:
        logger.warning("dsn uses configured-secret-value")
        assert stream.getvalue() == f"dsn uses {REDACTED}\n"
        assert "filters" not in config["handlers"]["h"]  # the caller's dict is left as it was
    finally:
        for handler in list(logger.handlers):
            logger.removeHandler(handler)


def test_json_in_a_message_stays_json(redactor: RedactingFilter) -> None:
    body = json.dumps({"email": "a@example.com", "password": OPAQUE, "n": 1})
    assert json.loads(redactor.redact(body)) == {
        "email": "a@example.com",
        "password": REDACTED,
        "n": 1,
    }


@pytest.mark.usefixtures("clean_env")
def test_settings_hand_over_their_credentials_and_url_passwords() -> None:
    from jwtauth.config import Settings

    hmac_secret, db_pw = secrets.token_urlsafe(48), "p@ss-" + secrets.token_hex(6)
    settings = Settings.load(
        secret=hmac_secret,
        database_url=f"postgresql+asyncpg://app:{db_pw.replace('@', '%40')}@db/app",
        redis_url="redis://cache:6379/0",
    )
    values = settings.secret_values()
    assert {hmac_secret, db_pw, db_pw.replace("@", "%40")} <= set(values)
    redactor = RedactingFilter(values)
    assert db_pw not in redactor.redact(f"login as app with {db_pw}")


# Denial of service ------------------------------------------------------------------------------

ADVERSARIAL = {
    # A request line a client chooses, as uvicorn's access log writes it.
    "dashes before a keyword": "GET /" + "a-" * 500_000 + "token HTTP/1.1",
    "a run of JWS header starts": "eyJ" * 350_000,
    "a run of JWE-like starts": "ew-" * 350_000,
    "schemes without a colon": "a-" * 500_000 + "://",
}


@pytest.mark.parametrize("name", sorted(ADVERSARIAL))
def test_redaction_stays_linear_on_a_megabyte_a_client_chose(name: str) -> None:
    # Each of these once took time quadratic in its length (64 KB: 11 s; 1 MB: most of an
    # hour) on the event-loop thread. Linear, a megabyte takes a few seconds at most; the
    # generous limit only tells a hang from a run, it measures nothing.
    code = (
        "import sys; from jwtauth.hygiene.redaction import RedactingFilter; "
        "from tests.hygiene.test_redaction import ADVERSARIAL; "
        f"RedactingFilter().redact(ADVERSARIAL[{name!r}])"
    )
    subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, "-c", code], check=True, timeout=60, cwd=Path(__file__).parents[2]
    )


# The SQL drivers' own loggers (issue 13 item 5) ---------------------------------------------


def test_a_host_logging_configuration_keeps_the_sql_logger_filters(tmp_path: Path) -> None:
    """The driver defences are filters on the logger objects (jwtauth.stores.sql_logging); a
    host's dictConfig or fileConfig, applied after jwtauth started, replaces handlers and
    levels on those loggers but never their filters, so a record still loses its arguments."""
    from functools import partial

    from jwtauth.stores.sql_logging import quiet_sql_logs

    quiet_sql_logs()
    names = ("aiosqlite", "sqlalchemy.engine.Engine.jwtauth")
    before = {name: list(logging.getLogger(name).filters) for name in names}
    stream = io.StringIO()
    saved = {
        name: (logging.getLogger(name).level, logging.getLogger(name).propagate) for name in names
    }
    ini = tmp_path / "logging.ini"
    ini.write_text(
        "[loggers]\nkeys=root,aiosqlite\n[handlers]\nkeys=h\n[formatters]\nkeys=\n"
        "[logger_root]\nhandlers=\n[logger_aiosqlite]\nlevel=DEBUG\nhandlers=h\nqualname=aiosqlite\n"
        "[handler_h]\nclass=NullHandler\nargs=()\n"
    )
    root_handlers = list(logging.getLogger().handlers)
    try:
        logging.config.fileConfig(ini, disable_existing_loggers=False)
        logging.config.dictConfig(
            {
                "version": 1,
                "disable_existing_loggers": False,
                "handlers": {"h": {"class": "logging.StreamHandler", "stream": stream}},
                "loggers": {name: {"level": "DEBUG", "handlers": ["h"]} for name in names},
            }
        )
        for name in names:
            assert logging.getLogger(name).filters == before[name]
        secret = secrets.token_urlsafe(24)
        logging.getLogger("aiosqlite").debug("executing %s", partial(print, "SELECT ?", (secret,)))
        logging.getLogger("sqlalchemy.engine.Engine.jwtauth").debug("Row %r", (secret,))
    finally:
        for name in names:
            logger = logging.getLogger(name)
            for handler in list(logger.handlers):
                logger.removeHandler(handler)
            logger.setLevel(saved[name][0])
            logger.propagate = saved[name][1]
        root = logging.getLogger()
        for handler in list(root.handlers):
            if handler not in root_handlers:
                root.removeHandler(handler)
        for handler in root_handlers:
            if handler not in root.handlers:
                root.addHandler(handler)
    assert stream.getvalue() == "executing print\n"
