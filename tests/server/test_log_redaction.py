"""A whole login, refresh and logout cycle, with every logger at DEBUG, writes no token, no
password and no secret; and what a library might leak is redacted by the filter create_app
installs."""

from __future__ import annotations

import io
import logging
import logging.config
import os
import secrets
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pyotp
import pytest

from jwtauth.config import Settings
from jwtauth.hygiene.redaction import REDACTED, RedactingFilter
from jwtauth.keys.key import ECKey
from jwtauth.testing import FrozenClock
from jwtauth.tokens.encoding import b64url_encode
from tests.live import JWTAUTH, free_port, wait_ready
from tests.server.support import PASSWORD, Api, bearer, serve, state_of

pytestmark = pytest.mark.anyio

LOGGERS = (
    "", "jwtauth", "jwtauth.security", "uvicorn", "uvicorn.error", "uvicorn.access", "fastapi",
    "starlette", "httpx", "httpcore", "sqlalchemy", "sqlalchemy.engine", "sqlalchemy.pool",
    "alembic", "aiosqlite", "asyncpg", "redis", "asyncio",
)  # fmt: skip
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}
EMAIL = "alice@example.com"
NEW_PASSWORD = "a different horse, staple battery"  # pragma: allowlist secret


class EverythingFormatter(logging.Formatter):
    """The message, the traceback and every `extra` field: all a log shipper could send."""

    def format(self, record: logging.LogRecord) -> str:
        extras = {k: v for k, v in record.__dict__.items() if k not in _STANDARD}
        return f"{record.name} {super().format(record)} {extras!r}"


@pytest.fixture
def logs() -> Iterator[io.StringIO]:
    """Every record of every logger above, at DEBUG, into one string."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(EverythingFormatter("%(levelname)s %(message)s"))
    loggers = [logging.getLogger(name) for name in LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
    for logger in (logging.getLogger(), logging.getLogger("uvicorn.access")):
        logger.addHandler(handler)  # uvicorn.access does not propagate
    try:
        yield stream
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)
        for logger in (logging.getLogger(), logging.getLogger("uvicorn.access")):
            logger.removeHandler(handler)
        for h in [handler, *([logging.lastResort] if logging.lastResort else [])]:
            for f in [f for f in h.filters if isinstance(f, RedactingFilter)]:
                h.removeFilter(f)


@pytest.fixture(params=["sqlite", "postgres+redis"])
def settings(
    request: pytest.FixtureRequest, tmp_path: Path, clean_env: None
) -> tuple[Settings, list[str]]:
    """HS256 with a configured secret; on PostgreSQL, a URL with a password (the server trusts
    local connections, so it is sent nowhere, but it is configured like a real one)."""
    hmac_secret = secrets.token_urlsafe(48)
    overrides: dict[str, object] = {
        "state_dir": tmp_path / "state",
        "rate_limits": False,
        "algorithm": "HS256",
        "secret": hmac_secret,
    }
    configured = [hmac_secret]
    if request.param == "postgres+redis":
        db_password = "pw-" + secrets.token_urlsafe(16)
        url: str = request.getfixturevalue("postgres_url")
        overrides["database_url"] = url.replace("postgres@", f"postgres:{db_password}@", 1)
        overrides["redis_url"] = request.getfixturevalue("redis_url")
        configured.append(db_password)
    return Settings.load(**overrides), configured


async def test_a_full_cycle_logs_no_token_password_or_secret(
    logs: io.StringIO, settings: tuple[Settings, list[str]]
) -> None:
    config, configured = settings
    async with serve(config) as client:
        api = Api(client)
        first = await api.register_and_login()
        assert (await api.me(first["access_token"])).status_code == 200
        rotated = await api.refresh(first["refresh_token"])
        assert rotated.status_code == 200
        second = rotated.json()
        # Reusing the spent refresh token is a security event (logged, with extras).
        assert (await api.refresh(first["refresh_token"])).status_code == 401
        third = await api.login()
        wrong = {"email": "alice@example.com", "password": PASSWORD + " typo"}
        assert (await client.post("/auth/login", json=wrong)).status_code == 401
        logout = await client.post("/auth/logout", headers=bearer(third["access_token"]))
        assert logout.status_code == 204
    written = logs.getvalue()
    assert "refresh token reuse" in written  # the capture works: the security event is there
    tokens = [first["access_token"], first["refresh_token"], second["access_token"],
              second["refresh_token"], third["access_token"], third["refresh_token"]]  # fmt: skip
    for value in [*tokens, PASSWORD, PASSWORD + " typo", *configured]:
        assert value not in written
        assert value[:12] not in written


def fail(message: str) -> None:
    raise RuntimeError(message)


async def test_what_a_library_might_leak_is_redacted(
    logs: io.StringIO, settings: tuple[Settings, list[str]]
) -> None:
    config, configured = settings
    async with serve(config) as client:
        tokens = await Api(client).register_and_login()
        access, refresh = tokens["access_token"], tokens["refresh_token"]
        # What careless middleware, a driver or a debug hook could write.
        logging.getLogger("uvicorn.error").debug("headers: %s", {"authorization": bearer(access)})
        logging.getLogger("uvicorn.access").info("POST /auth/refresh?token=%s 200", access)
        logging.getLogger("httpx").debug('body: {"refresh_token": "%s"}', refresh)
        for value in configured:
            logging.getLogger("sqlalchemy.pool").info("connecting with %s", value)
        try:
            fail(f"could not verify {access}")
        except RuntimeError:
            logging.getLogger("jwtauth.server").exception("request failed")
    written = logs.getvalue()
    for value in (access, refresh, *configured):
        assert value not in written
    assert written.count(REDACTED) >= 4 + len(configured)
    assert "RuntimeError: could not verify [REDACTED]" in written


@pytest.mark.usefixtures("clean_env")
def test_jwtauth_serve_redacts_uvicorns_own_access_log(tmp_path: Path) -> None:
    """uvicorn configures its handlers after create_app ran; `jwtauth serve` hands them the
    filter. A token in a query string would otherwise reach its access log verbatim."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("JWTAUTH_")}
    process = subprocess.Popen(  # noqa: S603 - our own console script, fixed arguments
        [str(JWTAUTH), "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    token = ".".join(["eyJhbGciOiJFUzI1NiJ9", "eyJzdWIiOiJhIn0", secrets.token_urlsafe(64)])
    try:
        wait_ready(process, f"{base}/readyz", "jwtauth serve")
        assert httpx.get(f"{base}/auth/me", params={"token": token}).status_code == 401
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=10)
    written = output.decode()
    assert '"GET /auth/me?token=[REDACTED] HTTP/1.1" 401' in written, written
    assert token.split(".")[2][:12] not in written


# Every record of every logger, before any handler (issue 13 item 5) ---------------------------


@pytest.fixture
def every_record(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every record any logger passes on to handlers, formatted with everything it carries, as
    a handler of a host's own logging configuration would get it: ahead of the handler filter
    create_app installs, so only defences that do not depend on it count. The root logger and
    every logger that exists are at DEBUG; later ones inherit it."""
    captured: list[str] = []
    formatter = EverythingFormatter("%(levelname)s %(message)s")
    original = logging.Logger.callHandlers

    def capture(self: logging.Logger, record: logging.LogRecord) -> None:
        captured.append(formatter.format(record))
        original(self, record)

    loggers = [logging.getLogger()] + [
        lg for lg in logging.Logger.manager.loggerDict.values() if isinstance(lg, logging.Logger)
    ]
    saved = [(lg, lg.level, lg.disabled) for lg in loggers]
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
        logger.disabled = False
    monkeypatch.setattr(logging.Logger, "callHandlers", capture)
    try:
        yield captured
    finally:
        for logger, level, disabled in saved:
            logger.setLevel(level)
            logger.disabled = disabled


@pytest.fixture(params=["sqlite", "postgres+redis"])
def debug_settings(request: pytest.FixtureRequest, tmp_path: Path, clean_env: None) -> Settings:
    """The development defaults: a managed ES256 keyring sealed in the database."""
    overrides: dict[str, object] = {"state_dir": tmp_path / "state", "rate_limits": False}
    if request.param == "postgres+redis":
        overrides["database_url"] = request.getfixturevalue("postgres_url")
        overrides["redis_url"] = request.getfixturevalue("redis_url")
    return Settings.load(**overrides)


HOST_LOGGERS = ("aiosqlite", "sqlalchemy", "asyncpg", "redis")


@pytest.fixture
def host_logging() -> Iterator[tuple[io.StringIO, dict[str, Any]]]:
    """What a host application might configure once jwtauth runs: the SQL and Redis loggers at
    DEBUG on a handler of its own (SQLAlchemy's echo="debug", in logging terms); undone after."""
    stream = io.StringIO()
    config = {
        "version": 1,
        "disable_existing_loggers": False,
        "handlers": {"host": {"class": "logging.StreamHandler", "stream": stream}},
        "loggers": {
            name: {"level": "DEBUG", "handlers": ["host"], "propagate": True}
            for name in HOST_LOGGERS
        },
    }
    saved = {name: logging.getLogger(name).level for name in HOST_LOGGERS}
    try:
        yield stream, config
    finally:
        for name, level in saved.items():
            logger = logging.getLogger(name)
            logger.setLevel(level)
            for handler in list(logger.handlers):
                logger.removeHandler(handler)


async def test_the_whole_flow_at_debug_logs_no_secret_anywhere(
    every_record: list[str],
    debug_settings: Settings,
    host_logging: tuple[io.StringIO, dict[str, Any]],
) -> None:
    """Register, log in, enrol and confirm TOTP, both second factors, refresh, change the
    password, log out: no password, TOTP secret, recovery code, argon2 hash, token or key in
    any record (aiosqlite logged the parameters of every call, SQLAlchemy every row)."""
    host_stream, host_config = host_logging
    secrets_seen: list[str] = [PASSWORD, NEW_PASSWORD]
    async with serve(debug_settings) as client:
        logging.config.dictConfig(host_config)
        api = Api(client)
        state = state_of(client)
        assert state.mfa is not None
        clock = state.mfa.clock = FrozenClock(time.time())
        first = await api.register_and_login()
        auth = bearer(first["access_token"])
        started = await client.post(
            "/auth/mfa/totp/enroll", json={"password": PASSWORD}, headers=auth
        )
        assert started.status_code == 200, started.text
        totp_secret = started.json()["secret"]
        code = pyotp.TOTP(totp_secret).at(clock.now)
        confirmed = await client.post("/auth/mfa/totp/confirm", json={"code": code}, headers=auth)
        assert confirmed.status_code == 200, confirmed.text
        recovery = confirmed.json()["recovery_codes"]
        clock.advance(30)

        pairs = [first]
        for factor in (
            {"code": pyotp.TOTP(totp_secret).at(clock.now)},
            {"recovery_code": recovery[0]},
        ):
            challenge = (
                await client.post("/auth/login", json={"email": EMAIL, "password": PASSWORD})
            ).json()
            secrets_seen.append(challenge["mfa_token"])
            verified = await client.post(
                "/auth/mfa/totp/verify", json={"mfa_token": challenge["mfa_token"], **factor}
            )
            assert verified.status_code == 200, verified.text
            pairs.append(verified.json())
        rotated = await api.refresh(pairs[-1]["refresh_token"])
        assert rotated.status_code == 200, rotated.text
        pairs.append(rotated.json())
        changed = await client.post(
            "/auth/password",
            json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
            headers=bearer(pairs[-1]["access_token"]),
        )
        assert changed.status_code == 204, changed.text
        logout = await client.post("/auth/logout", headers=bearer(pairs[-1]["access_token"]))
        assert logout.status_code == 204
        signing = state.service.tokens.keyring.signing_key
        assert isinstance(signing, ECKey)
        private_value = signing._private.private_numbers().private_value
    kek = (debug_settings.state_dir / "keyring-kek").read_text().strip()

    written = "\n".join(every_record) + host_stream.getvalue()
    assert "INSERT INTO" in written  # the capture works: every statement is there
    for pair in pairs:
        secrets_seen += [pair["access_token"], pair["refresh_token"]]
    secrets_seen += [totp_secret, *recovery, kek, str(private_value)]
    secrets_seen.append(b64url_encode(private_value.to_bytes(32, "big")))
    for value in secrets_seen:
        assert value not in written
        assert value[:12] not in written
    assert "$argon2" not in written
    assert "SQL parameters hidden" in written  # SQLAlchemy logged them, as a placeholder
