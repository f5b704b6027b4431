"""The Redis namespace wired through the settings: `JWTAUTH_REDIS_NAMESPACE`, and two real
deployments (their own databases, different issuers, one Redis) where `jwtauth revoke-all` of
one leaves the other alone (issue 13 item 9)."""

from __future__ import annotations

from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest

from jwtauth.config import Settings
from jwtauth.errors import ConfigurationError
from jwtauth.lifecycle.admin import revoke_all
from jwtauth.redis_namespace import redis_namespace
from jwtauth.stores.durable import DurableRevocationStore
from jwtauth.stores.redis import RedisRevocationStore
from tests.server.support import Api, serve, state_of
from tests.stores.test_redis_namespace import prove_not_reached, wait_until

pytestmark = pytest.mark.anyio


@pytest.mark.usefixtures("clean_env")
def test_the_setting_is_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JWTAUTH_REDIS_NAMESPACE", "shop-eu")
    assert Settings.load().redis_namespace == "shop-eu"
    monkeypatch.setenv("JWTAUTH_REDIS_NAMESPACE", "shop:eu")
    with pytest.raises(ConfigurationError, match="JWTAUTH_REDIS_NAMESPACE"):
        Settings.load()


@pytest.mark.usefixtures("clean_env")
async def test_jwtauth_revoke_all_of_one_deployment_leaves_the_other_alone(
    tmp_path: Path, redis_url: str
) -> None:
    """Two servers (their own databases, different issuers, one Redis): `jwtauth revoke-all`
    of A refuses A's earlier tokens at once, through Redis, and none of B's."""

    def settings(name: str, **extra: Any) -> Settings:
        return Settings.load(
            state_dir=tmp_path / name,
            rate_limits=False,
            redis_url=redis_url,
            issuer=f"https://{name}.example",
            **extra,
        )

    a_settings, b_settings = settings("a"), settings("b")
    async with serve(a_settings) as a, serve(b_settings) as b:
        a_token = (await Api(a).register_and_login())["access_token"]
        b_token = (await Api(b).register_and_login())["access_token"]
        await revoke_all(a_settings)
        a_view = state_of(a).service.revocations.view
        await wait_until(lambda: a_view.is_revoked({"iss": "https://a.example", "iat": 0}))
        durable = state_of(b).service.revocations
        assert isinstance(durable, DurableRevocationStore)
        b_store = durable.propagation  # Redis carries it: what must not reach b
        assert isinstance(b_store, RedisRevocationStore)
        namespace = redis_namespace(None, "https://b.example")
        async with AsyncExitStack() as stack:

            async def make(url: str, ns: str | None) -> RedisRevocationStore:
                return await stack.enter_async_context(RedisRevocationStore(url, namespace=ns))

            await prove_not_reached(make, redis_url, namespace, b_store)
        assert (await Api(a).me(a_token)).status_code == 401
        assert (await Api(b).me(b_token)).status_code == 200
