"""Helpers for the server tests: constants and a thin client wrapper."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import httpx
from fastapi import FastAPI
from flask import Flask

from jwtauth.auth.passwords import PasswordHasher
from jwtauth.config import Settings
from jwtauth.integrations import SyncRuntime
from jwtauth.integrations.fastapi import JWTAuth
from jwtauth.integrations.flask import JWTAuth as FlaskJWTAuth
from jwtauth.server import EmbeddedAuth, create_app
from jwtauth.server.deps import ServerState
from jwtauth.stores.sql import SQLStore
from tests.hosts.launch import LiveHost

# Cheap argon2 parameters: the tests exercise the flows, not the hash's cost.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
T = TypeVar("T")
CLIENT_IP = "203.0.113.7"
PASSWORD = "correct horse battery staple"


HOSTS = ("server", "fastapi", "flask")
"""What serves the auth API in the contract tests: ``jwtauth serve``'s app, or a host
application that embeds it (EmbeddedAuth): FastAPI (ASGI), Flask (WSGI, each request on a
thread of its own, as a threaded WSGI server runs them)."""


@asynccontextmanager
async def serve(
    settings: Settings,
    peer: str = CLIENT_IP,
    base_url: str = "http://testserver",
    host: str = "server",
) -> AsyncIterator[httpx.AsyncClient]:
    """The app for ``settings``, started (lifespan) and reached over HTTP from ``peer``.

    ``base_url="https://..."`` makes the requests TLS as the app sees them (and lets the
    client's cookie jar send ``Secure`` cookies). ``host`` is one of :data:`HOSTS`."""
    if host == "flask":
        async with _flask(settings, peer, base_url) as http:
            yield http
        return
    if host == "server":
        app = create_app(settings, hasher=FAST_HASHER)
        state_app = app
    else:
        app, state_app = _fastapi_host(settings)
    transport = httpx.ASGITransport(app=app, client=(peer, 40000))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url=base_url) as http,
    ):
        _STATES[http] = state_app.state.jwtauth
        yield http


_STATES: weakref.WeakKeyDictionary[httpx.AsyncClient, ServerState] = weakref.WeakKeyDictionary()
_LOOPS: weakref.WeakKeyDictionary[httpx.AsyncClient, SyncRuntime] = weakref.WeakKeyDictionary()


def state_of(client: httpx.AsyncClient) -> ServerState:
    """The running auth API's state behind ``client`` (its service, stores and policies)."""
    return _STATES[client]


async def on_auth_loop(client: httpx.AsyncClient, work: Coroutine[Any, Any, T]) -> T:
    """Await ``work`` on the loop the auth API's stores run on: the test's own for an ASGI
    host, the integration's background loop for a WSGI host (its connections belong to it)."""
    runtime = _LOOPS.get(client)
    if runtime is None:
        return await work
    return await asyncio.to_thread(runtime.call, work)


@asynccontextmanager
async def reach(live: LiveHost, peer: str = CLIENT_IP) -> AsyncIterator[httpx.AsyncClient]:
    """A client of a host application running under its real server (:mod:`tests.hosts.launch`),
    as ``peer``: the server sees the loopback proxy's ``X-Forwarded-For``, which it trusts."""
    async with httpx.AsyncClient(
        base_url=live.url, headers={"X-Forwarded-For": peer}, timeout=30
    ) as http:
        _LIVE[http] = live
        yield http


_LIVE: weakref.WeakKeyDictionary[httpx.AsyncClient, LiveHost] = weakref.WeakKeyDictionary()


def is_live(client: httpx.AsyncClient) -> bool:
    """Whether ``client`` reaches a host over a real socket (:func:`reach`)."""
    return client in _LIVE


async def set_user_active(client: httpx.AsyncClient, user_id: str, active: bool) -> None:
    """Enable or disable an account as an operator does, outside the auth API: in the store of
    an app in this process, in the database of a live host."""
    live = _LIVE.get(client)
    if live is not None:
        await live.set_active(user_id, active)
        return
    store = state_of(client).service.users
    assert isinstance(store, SQLStore)
    await on_auth_loop(client, store.set_active(user_id, active))


async def delete_user(client: httpx.AsyncClient, user_id: str) -> None:
    """Delete an account as an operator does, outside the auth API (see :func:`set_user_active`)."""
    live = _LIVE.get(client)
    if live is not None:
        await live.delete_user(user_id)
        return
    store = state_of(client).service.users
    assert isinstance(store, SQLStore)
    await on_auth_loop(client, store.delete_user(user_id))


def _fastapi_host(settings: Settings) -> tuple[FastAPI, FastAPI]:
    """A FastAPI host with routes of its own, deny by default, and the auth API inside; and
    the auth API's app."""
    auth = EmbeddedAuth(settings, hasher=FAST_HASHER)
    app = FastAPI()
    JWTAuth(auth.authenticator).protect(app)
    app.include_router(auth.router)

    @app.get("/orders")
    async def orders() -> list[str]:
        return ["o-1"]

    return app, auth.app


@asynccontextmanager
async def _flask(settings: Settings, peer: str, base_url: str) -> AsyncIterator[httpx.AsyncClient]:
    auth = EmbeddedAuth(settings, hasher=FAST_HASHER)
    app = Flask("contract-host")
    app.config["JWTAUTH_PROTECT_ALL"] = True
    extension = FlaskJWTAuth(app, auth)

    @app.get("/orders")
    def orders() -> list[str]:
        return ["o-1"]

    await asyncio.to_thread(extension.runtime.start)
    transport = ThreadedWSGITransport(app, peer)
    try:
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as http:
            assert auth.state is not None
            _STATES[http] = auth.state
            _LOOPS[http] = extension.runtime
            yield http
    finally:
        await asyncio.to_thread(extension.runtime.close)


class ThreadedWSGITransport(httpx.AsyncBaseTransport):
    """httpx's WSGI transport, each request on a worker thread: concurrent requests run at
    once, as under a threaded WSGI server, and never on the test's event loop."""

    def __init__(self, app: Any, peer: str) -> None:
        self._wsgi = httpx.WSGITransport(app=app, remote_addr=peer)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        copy = httpx.Request(request.method, request.url, headers=request.headers, content=body)
        response = await asyncio.to_thread(self._wsgi.handle_request, copy)
        content = await asyncio.to_thread(response.read)
        return httpx.Response(response.status_code, headers=response.headers, content=content)


def bearer(token: str) -> dict[str, str]:
    """An Authorization header for ``token``."""
    return {"Authorization": f"Bearer {token}"}


class Api:
    """Small helpers over the client, so tests read as the flows they check."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def register(self, email: str = "alice@example.com", password: str = PASSWORD) -> None:
        created = await self.client.post(
            "/auth/register", json={"email": email, "password": password}
        )
        assert created.status_code == 201, created.text

    async def login(
        self, email: str = "alice@example.com", password: str = PASSWORD
    ) -> dict[str, Any]:
        response = await self.client.post(
            "/auth/login", json={"email": email, "password": password}
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def register_and_login(
        self, email: str = "alice@example.com", password: str = PASSWORD
    ) -> dict[str, Any]:
        await self.register(email, password)
        return await self.login(email, password)

    async def me(self, access_token: str) -> httpx.Response:
        return await self.client.get("/auth/me", headers=bearer(access_token))

    async def refresh(self, refresh_token: str) -> httpx.Response:
        return await self.client.post("/auth/refresh", json={"refresh_token": refresh_token})
