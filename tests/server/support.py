"""Helpers for the server tests: constants and a thin client wrapper."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from jwtauth.auth.passwords import PasswordHasher
from jwtauth.config import Settings
from jwtauth.server import create_app

# Cheap argon2 parameters: the tests exercise the flows, not the hash's cost.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
CLIENT_IP = "203.0.113.7"
PASSWORD = "correct horse battery staple"


@asynccontextmanager
async def serve(
    settings: Settings, peer: str = CLIENT_IP, base_url: str = "http://testserver"
) -> AsyncIterator[httpx.AsyncClient]:
    """The app for ``settings``, started (lifespan) and reached over HTTP from ``peer``.

    ``base_url="https://..."`` makes the requests TLS as the app sees them (and lets the
    client's cookie jar send ``Secure`` cookies)."""
    app = create_app(settings, hasher=FAST_HASHER)
    transport = httpx.ASGITransport(app=app, client=(peer, 40000))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url=base_url) as http,
    ):
        yield http


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
