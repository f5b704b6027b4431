"""Path ids of the auth API are checked before any store sees them (issue 13 item 10): a NUL in
a text parameter is an error on PostgreSQL, which answered 500 and reset the connection."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from jwtauth.server.routes.auth import SESSION_ID
from jwtauth.stores.sql import SQLStore
from tests.server.support import Api, bearer, state_of

pytestmark = pytest.mark.anyio


@contextmanager
def statements(api: Api) -> Iterator[list[str]]:
    """The SQL statements the server's store runs meanwhile (the real engine, observed)."""
    store = state_of(api.client).service.refresh_store
    assert isinstance(store, SQLStore)
    seen: list[str] = []

    def record(*args: Any) -> None:
        seen.append(str(args[2]))

    engine = store.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


MALFORMED = [
    "%00",
    "0123456789abcdef%000123456789abcde",  # the right length with a NUL inside
    "0123456789ABCDEF0123456789ABCDEF",  # upper case: token_hex never writes it
    "0123456789abcdef0123456789abcde",  # one short
    "0123456789abcdef0123456789abcdef0",  # one long
    "x" * 300,  # longer than the column
    "%C3%A9" * 16,
    "' OR '1'='1",
]


@pytest.mark.parametrize("raw", MALFORMED)
async def test_a_malformed_session_id_is_a_404_before_any_store_sees_it(api: Api, raw: str) -> None:
    tokens = await api.register_and_login()
    headers = bearer(tokens["access_token"])
    with statements(api) as seen:
        answer = await api.client.delete(f"/auth/sessions/{raw}", headers=headers)
    assert answer.status_code == 404, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["type"] == "urn:jwtauth:problem:session_not_found"
    assert raw not in answer.text
    assert seen == []
    # The server and its connections are as they were: the session is still there.
    listing = await api.client.get("/auth/sessions", headers=headers)
    assert listing.status_code == 200
    assert len(listing.json()) == 1


async def test_ids_of_real_sessions_have_the_checked_shape(api: Api) -> None:
    # If login ever makes ids of another shape, this fails before users' deletes do.
    tokens = await api.register_and_login()
    await api.login()
    headers = bearer(tokens["access_token"])
    listing = (await api.client.get("/auth/sessions", headers=headers)).json()
    assert len(listing) == 2
    assert all(SESSION_ID.fullmatch(s["id"]) for s in listing)
    other = next(s["id"] for s in listing if not s["current"])
    assert (await api.client.delete(f"/auth/sessions/{other}", headers=headers)).status_code == 204
