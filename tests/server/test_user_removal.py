"""A user disabled or deleted loses every token at once (issue 13, item 17): the account state
is checked by `/auth/me` and at refresh, but `/auth/claims` and resource servers check only the
token, so removal must revoke like logout-all does (AuthService.end_user)."""

from __future__ import annotations

import httpx
import pytest

from jwtauth.stores.sql import SQLStore
from tests.server.support import Api, bearer, on_auth_loop, state_of

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("change", ["disable", "delete"])
async def test_a_removed_user_loses_every_token(
    api: Api, client: httpx.AsyncClient, change: str
) -> None:
    tokens = await api.register_and_login()
    other = await api.login()
    user_id = (await api.me(tokens["access_token"])).json()["id"]
    service = state_of(client).service
    store = service.users
    assert isinstance(store, SQLStore)
    if change == "disable":
        await on_auth_loop(client, store.set_active(user_id, False))
    else:
        await on_auth_loop(client, store.delete_user(user_id))
    # The store alone: a verifier that reads only the token still accepts it.
    claims = await client.get("/auth/claims", headers=bearer(tokens["access_token"]))
    assert claims.status_code == 200
    await on_auth_loop(client, service.end_user(user_id))
    for access in (tokens["access_token"], other["access_token"]):
        refused = await client.get("/auth/claims", headers=bearer(access))
        assert refused.status_code == 401
        assert refused.headers["content-type"] == "application/problem+json"
    assert (await api.refresh(tokens["refresh_token"])).status_code == 401
    assert (await api.refresh(other["refresh_token"])).status_code == 401
