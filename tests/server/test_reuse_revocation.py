"""A reused refresh token revokes its family and its session's access tokens in one commit
(issue 14): the reuse is only known inside the rotation's transaction, so a revocation written
afterwards, in a second transaction, could be lost to a failure between the two, leaving the
thief's fresh access token valid while the family is already dead."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from jwtauth.errors import StoreUnavailableError
from jwtauth.stores.durable import DurableRevocationStore
from jwtauth.stores.sql import SQLStore
from jwtauth.stores.sql_tables import RevocationRow
from tests.server.support import Api, bearer, on_auth_loop, state_of

pytestmark = pytest.mark.anyio


async def test_a_reuse_is_revoked_in_the_rotations_transaction(
    api: Api, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = state_of(client).service
    revocations = service.revocations
    assert isinstance(revocations, DurableRevocationStore)

    async def second_write_fails(*args: Any, **kwargs: Any) -> None:
        raise StoreUnavailableError()

    # Any revocation written apart from the rotation now fails, as it would if the database
    # went away between two transactions.
    monkeypatch.setattr(DurableRevocationStore, "revoke_session", second_write_fails)
    stolen = await api.register_and_login()
    thief = (await api.refresh(stolen["refresh_token"])).json()
    claims = await client.get("/auth/claims", headers=bearer(thief["access_token"]))
    session_id = claims.json()["sid"]

    replay = await api.refresh(stolen["refresh_token"])  # the owner's copy, presented again
    assert replay.status_code == 401, replay.text
    assert replay.json()["type"] == "urn:jwtauth:problem:invalid_refresh_token"
    assert (await api.me(thief["access_token"])).status_code == 401
    assert (await api.refresh(thief["refresh_token"])).status_code == 401

    store = service.refresh_store
    assert isinstance(store, SQLStore)

    async def recorded() -> list[str]:
        async with store.engine.connect() as connection:
            found = await connection.execute(
                select(RevocationRow.value).where(RevocationRow.kind == "sid")
            )
            return list(found.scalars())

    assert await on_auth_loop(client, recorded()) == [session_id]
