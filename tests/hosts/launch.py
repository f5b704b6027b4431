"""The host applications under their real servers, for the live tests: the Django/DRF project
and the Flask app under gunicorn, the FastAPI app under uvicorn, each on its own database.

A :class:`LiveHost` is one running server with what a test needs beside HTTP: the database it
runs on, emptied between tests (:meth:`LiveHost.reset`), and the two account changes an
operator makes outside the auth API, written straight to the host's user table
(:meth:`LiveHost.set_active`, :meth:`LiveHost.delete_user`) as an admin page or a management
command would, so that nothing the server holds in memory is told about them.

Every host signs with one ES256 key given to all its workers (its JWKS is what PyJWT checks)
under the contract's issuer and audience. Without Redis a host runs one worker process: the
revocation store is then in that process, and a second worker would never hear of a logout.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from jwtauth.lifecycle.sql import KeyringStateRow, SigningKeyRow
from jwtauth.stores.sql_tables import Base
from tests.conftest import POSTGRES_ADMIN_URL, REDIS_TEST_URL, service_unavailable
from tests.live import free_port, wait_ready

__all__ = [
    "BACKENDS", "ISSUER", "LIVE_HOSTS", "LiveHost", "LiveHosts", "live_host", "postgres_database",
]  # fmt: skip

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
LIVE_HOSTS = ("django", "fastapi", "flask")
BACKENDS = ("sqlite", "postgres+redis")
ISSUER = "http://127.0.0.1:8000"
DJANGO_SETTINGS = "tests.hosts.django_host.settings"
DJANGO_WSGI = "tests.hosts.django_host.wsgi:application"
# The signing keys survive a reset: they are the host's configuration, not a test's data.
_KEPT = {SigningKeyRow.__tablename__, KeyringStateRow.__tablename__}
_DATA_TABLES = [t for t in reversed(Base.metadata.sorted_tables) if t.name not in _KEPT]
_DJANGO_USER_TABLES = ("auth_user_groups", "auth_user_user_permissions", "auth_user")


def command(host: str, port: int, workers: int) -> list[str]:
    """The server command line of ``host`` listening on ``port``."""
    if host == "fastapi":
        return [
            str(BIN / "uvicorn"), "tests.hosts.fastapi_host:app", "--app-dir", str(ROOT),
            "--port", str(port), "--workers", str(workers), "--log-level", "warning",
        ]  # fmt: skip
    module = "tests.hosts.flask_host:app" if host == "flask" else DJANGO_WSGI
    return [
        str(BIN / "gunicorn"), "--chdir", str(ROOT), "-b", f"127.0.0.1:{port}",
        "--workers", str(workers), "--threads", "8", module,
    ]  # fmt: skip


def es256_pem() -> str:
    """A new ES256 private key, PEM (PKCS#8)."""
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


@dataclass
class LiveHost:
    """One host application running under its real server."""

    host: str
    backend: str
    url: str
    database: str
    """The SQLAlchemy URL (async driver) of the database the host runs on."""

    @property
    def _users(self) -> str:
        return "auth_user" if self.host == "django" else "users"

    def _engine(self) -> sa.Engine:
        # A synchronous driver and no pool: called from any test's event loop or thread.
        url = make_url(self.database)
        driver = "sqlite" if url.get_backend_name() == "sqlite" else "postgresql+psycopg"
        return sa.create_engine(url.set(drivername=driver), poolclass=NullPool)

    def _execute(self, *statements: sa.Executable, **params: object) -> None:
        engine = self._engine()
        try:
            with engine.begin() as connection:
                for statement in statements:
                    connection.execute(statement, params)
        finally:
            engine.dispose()

    def reset(self) -> None:
        """Empty the users, sessions, refresh tokens, lockout and second-factor rows, so that
        the next test starts on a host with no account. Ids are not reused (uuid4 in the
        auth's table, sequences and AUTOINCREMENT in Django's), so a revocation a worker still
        remembers from an earlier test names nobody in the next."""
        statements: list[sa.Executable] = [table.delete() for table in _DATA_TABLES]
        if self.host == "django":
            statements += [sa.text(f"DELETE FROM {table}") for table in _DJANGO_USER_TABLES]  # noqa: S608 - fixed names
        self._execute(*statements)

    def _user_id(self, user_id: str) -> object:
        return int(user_id) if self.host == "django" else user_id

    async def set_active(self, user_id: str, active: bool) -> None:
        """Enable or disable an account in the host's user table, behind the server's back."""
        statement = sa.text(f"UPDATE {self._users} SET is_active = :active WHERE id = :id")  # noqa: S608 - fixed names
        await asyncio.to_thread(self._execute, statement, active=active, id=self._user_id(user_id))

    async def delete_user(self, user_id: str) -> None:
        """Delete an account from the host's user table, behind the server's back."""
        statement = sa.text(f"DELETE FROM {self._users} WHERE id = :id")  # noqa: S608 - fixed names
        await asyncio.to_thread(self._execute, statement, id=self._user_id(user_id))


@contextmanager
def postgres_database() -> Iterator[str]:
    """A new, empty PostgreSQL database as an asyncpg SQLAlchemy URL, dropped on exit.

    Synchronous (psycopg): a pool of live hosts is started from inside a test's event loop."""
    import psycopg

    name = f"jwtauth_live_{uuid.uuid4().hex[:12]}"

    def admin(statement: str) -> None:
        try:
            connection = psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True)
        except psycopg.OperationalError as exc:
            service_unavailable("PostgreSQL", str(exc).splitlines()[0])
        with connection:
            connection.execute(statement.encode())

    admin(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    finally:
        admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def _redis() -> Iterator[str]:
    client = redis.Redis.from_url(REDIS_TEST_URL)
    try:
        client.flushdb()
    except redis.ConnectionError as exc:
        client.close()
        service_unavailable("Redis", str(exc))
    try:
        yield REDIS_TEST_URL
    finally:
        client.flushdb()
        client.close()


def _environment(host: str, workdir: Path, database: str, redis_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JWTAUTH_", "HOST_"))}
    pem = es256_pem()
    env.update(
        JWTAUTH_STATE_DIR=str(workdir / "state"),
        JWTAUTH_DATABASE_URL=database,
        # The contract's flows log in and refresh far faster than a person does; the rate
        # limits have their own tests.
        JWTAUTH_RATE_LIMITS="false",
        # One issuer, several hosts on one Redis server: a namespace each (README).
        JWTAUTH_REDIS_NAMESPACE=f"live-{host}",
    )
    if redis_url is not None:
        env["JWTAUTH_REDIS_URL"] = redis_url
    if host == "django":
        # The project's own settings: its database (the auth tables in it), key and Redis.
        env.update(
            DJANGO_SETTINGS_MODULE=DJANGO_SETTINGS,
            HOST_DATABASE=(
                database.replace("postgresql+asyncpg", "postgres", 1)
                if database.startswith("postgresql")
                else database.removeprefix("sqlite+aiosqlite:///")
            ),
            HOST_SECRET_KEY=uuid.uuid4().hex + uuid.uuid4().hex,
            HOST_ALGORITHM="ES256",
            HOST_SIGNING_KEY=pem,
        )
        if redis_url is not None:
            env["HOST_REDIS_URL"] = redis_url
    else:
        key_file = workdir / "signing-key.pem"
        key_file.write_text(pem)
        key_file.chmod(0o600)
        env.update(
            JWTAUTH_ALGORITHM="ES256",
            JWTAUTH_PRIVATE_KEY_FILE=str(key_file),
            JWTAUTH_ISSUER=ISSUER,
        )
    return env


@contextmanager
def live_host(
    host: str, backend: str, workdir: Path, *, workers: int | None = None
) -> Iterator[LiveHost]:
    """``host`` (one of :data:`LIVE_HOSTS`) on ``backend`` (one of :data:`BACKENDS`), migrated
    as before a deployment and ready; ``workers`` defaults to 2 with Redis, else 1."""
    workdir.mkdir(parents=True, exist_ok=True)
    with _backend(backend, workdir) as (database, redis_url):
        if workers is None:
            workers = 2 if redis_url is not None else 1
        env = _environment(host, workdir, database, redis_url)
        # Migrated before the workers start, as before a deployment: `manage.py migrate` brings
        # the auth tables with the project's, `jwtauth db upgrade` the others'.
        migrate = subprocess.run(  # noqa: S603 - our environment's commands, fixed arguments
            [sys.executable, "-m", "django", "migrate", "--verbosity=0"]
            if host == "django"
            else [str(BIN / "jwtauth"), "db", "upgrade"],
            cwd=ROOT if host == "django" else workdir,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert migrate.returncode == 0, migrate.stderr
        port = free_port()
        # A file, not a pipe: nobody reads a pipe while the tests run, and a full one would
        # block the server.
        log = workdir / "server.log"
        with log.open("wb") as output:
            process = subprocess.Popen(  # noqa: S603 - our environment's servers, fixed arguments
                command(host, port, workers), cwd=ROOT, env=env, stdout=output, stderr=output
            )
        url = f"http://127.0.0.1:{port}"
        try:
            try:
                wait_ready(process, f"{url}/ready", f"{host} host")
            except pytest.fail.Exception:
                pytest.fail(f"the {host} host did not start:\n{log.read_text()}")
            yield LiveHost(host, backend, url, database)
        finally:
            process.terminate()
            process.wait(timeout=30)


@contextmanager
def _backend(backend: str, workdir: Path) -> Iterator[tuple[str, str | None]]:
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{workdir / 'host.sqlite3'}", None
        return
    with postgres_database() as database, _redis() as redis_url:
        yield database, redis_url


class LiveHosts:
    """One host application, started on each backend the first time a test asks for it and
    kept running until :meth:`close`: starting a server per test would cost seconds each."""

    def __init__(self, host: str, workdir: Path) -> None:
        self.host = host
        self._workdir = workdir
        self._running: dict[str, LiveHost] = {}
        self._stack = ExitStack()

    def on(self, backend: str) -> LiveHost:
        """The host running on ``backend``, emptied of every account (:meth:`LiveHost.reset`)."""
        running = self._running.get(backend)
        if running is None:
            workdir = self._workdir / backend.replace("+", "-")
            running = self._stack.enter_context(live_host(self.host, backend, workdir))
            self._running[backend] = running
        running.reset()
        return running

    def close(self) -> None:
        """Stop every server started, and drop their databases."""
        self._running.clear()
        self._stack.close()
