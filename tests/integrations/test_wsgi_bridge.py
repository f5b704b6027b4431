"""A WSGI request answered by the embedded auth's ASGI app on the runtime's loop."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from flask import Flask, request
from werkzeug.test import EnvironBuilder

from jwtauth.config import Settings
from jwtauth.errors import RevokedTokenError
from jwtauth.integrations import SyncRuntime
from jwtauth.integrations._wsgi import MAX_BODY, Reply, call_asgi
from jwtauth.integrations.flask import JWTAuth as FlaskJWTAuth
from jwtauth.server import EmbeddedAuth
from tests.server.support import FAST_HASHER, PASSWORD


@pytest.fixture
def auth(tmp_path: Path, clean_env: None) -> Iterator[tuple[EmbeddedAuth, SyncRuntime]]:
    embedded = EmbeddedAuth(
        Settings.load(state_dir=tmp_path / "state", rate_limits=False), hasher=FAST_HASHER
    )
    runtime = SyncRuntime(embedded.authenticator)
    runtime.start()
    try:
        yield embedded, runtime
    finally:
        runtime.close()


def send(auth: tuple[EmbeddedAuth, SyncRuntime], path: str, **options: Any) -> Reply:
    environ = EnvironBuilder(path=path, **options).get_environ()
    environ["REMOTE_ADDR"] = "198.51.100.9"
    return call_asgi(auth[1], auth[0].app, environ)


def test_register_login_and_sessions_through_the_bridge(
    auth: tuple[EmbeddedAuth, SyncRuntime],
) -> None:
    credentials = {"email": "alice@example.com", "password": PASSWORD}
    assert send(auth, "/auth/register", method="POST", json=credentials).status == 201
    login = send(auth, "/auth/login", method="POST", json=credentials, query_string="x=1")
    assert login.status == 200
    tokens = orjson.loads(login.body)
    headers = {"Authorization": f"Bearer {tokens['access_token']}", "User-Agent": "bridge-test"}
    sessions = send(auth, "/auth/sessions", headers=headers)
    assert sessions.status == 200
    [session] = orjson.loads(sessions.body)
    assert session["ip"] == "198.51.100.9"  # REMOTE_ADDR reached the auth app as the peer
    assert dict(sessions.headers)["x-frame-options"] == "DENY"
    assert send(auth, "/auth/logout", method="POST", headers=headers).status == 204
    # The runtime's verification (the host's routes) sees the logout at once.
    with pytest.raises(RevokedTokenError):
        auth[1].verify(headers["Authorization"], lambda name: None)


def test_an_oversized_body_is_refused_before_it_is_read(
    auth: tuple[EmbeddedAuth, SyncRuntime],
) -> None:
    class Unreadable:
        def read(self, size: int = -1) -> bytes:
            raise AssertionError("the body was read")

    environ = EnvironBuilder(path="/auth/login", method="POST").get_environ()
    environ["CONTENT_LENGTH"] = str(MAX_BODY + 1)
    environ["wsgi.input"] = Unreadable()
    reply = call_asgi(auth[1], auth[0].app, environ)
    assert reply.status == 413
    assert {k.lower(): v for k, v in reply.headers}["content-type"] == "application/problem+json"


@pytest.mark.parametrize("length", ["-1", "twelve"])
def test_a_bad_content_length_is_a_400_problem(
    auth: tuple[EmbeddedAuth, SyncRuntime], length: str
) -> None:
    environ = EnvironBuilder(path="/auth/login", method="POST").get_environ()
    environ["CONTENT_LENGTH"] = length
    reply = call_asgi(auth[1], auth[0].app, environ)
    assert reply.status == 400
    assert orjson.loads(reply.body)["status"] == 400


def test_a_flask_host_whose_hook_read_the_body_first_still_logs_in(
    tmp_path: Path, clean_env: None
) -> None:
    embedded = EmbeddedAuth(
        Settings.load(state_dir=tmp_path / "state", rate_limits=False), hasher=FAST_HASHER
    )
    app = Flask("host")
    extension = FlaskJWTAuth(app, embedded)

    @app.before_request
    def audit_body() -> None:
        request.get_data()  # a host's logging hook: the WSGI stream is spent after this

    credentials = {"email": "alice@example.com", "password": PASSWORD}
    try:
        with app.test_client() as client:
            assert client.post("/auth/register", json=credentials).status_code == 201
            login = client.post("/auth/login", json=credentials)
            assert login.status_code == 200, login.get_data(as_text=True)
            assert login.json is not None
            assert "access_token" in login.json
    finally:
        extension.runtime.close()
