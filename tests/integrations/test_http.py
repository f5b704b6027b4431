"""The shared layer: challenges, scopes, answers; no framework involved."""

from __future__ import annotations

import json
import logging

import pytest

from jwtauth.errors import (
    ConfigurationError,
    ExpiredTokenError,
    InsufficientScopeError,
    MissingTokenError,
)
from jwtauth.integrations._http import Authenticator, granted_scopes, require_scopes
from jwtauth.revocation import RevocationList
from jwtauth.testing import make_manager


def test_challenges_follow_rfc_6750() -> None:
    authenticator = Authenticator(make_manager(), realm="api")
    missing = dict(authenticator.answer(MissingTokenError()).headers)
    assert missing["www-authenticate"] == 'Bearer realm="api"'
    expired = authenticator.answer(ExpiredTokenError(claim="exp"))
    assert expired.status == 401
    assert dict(expired.headers)["www-authenticate"] == (
        'Bearer realm="api", error="invalid_token", error_description="The token has expired."'
    )
    scoped = authenticator.answer(InsufficientScopeError(["b", "a"]))
    assert scoped.status == 403
    assert dict(scoped.headers)["www-authenticate"].endswith('scope="b a"')
    body = json.loads(scoped.body)
    assert body == {
        "type": "urn:jwtauth:problem:insufficient_scope",
        "title": "Forbidden",
        "status": 403,
        "detail": "The token lacks a scope this resource requires.",
    }


def test_a_description_cannot_break_out_of_its_quotes() -> None:
    answer = Authenticator(make_manager()).answer(ExpiredTokenError('a "quoted" \\ é\r\nX: y'))
    challenge = dict(answer.headers)["www-authenticate"]
    assert challenge.endswith('error_description="a quoted  X: y"')


def test_other_errors_answer_an_opaque_500(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR):
        answer = Authenticator(make_manager()).answer(ConfigurationError("the secret is hunter2"))
    assert answer.status == 500
    assert b"hunter2" not in answer.body
    assert "www-authenticate" not in dict(answer.headers)
    assert "hunter2" not in caplog.text


@pytest.mark.parametrize("realm", ["", 'a"b', "a\\b", "é"])
def test_a_realm_that_cannot_be_quoted_is_refused(realm: str) -> None:
    with pytest.raises(ConfigurationError):
        Authenticator(make_manager(), realm=realm)


@pytest.mark.parametrize(
    ("claims", "granted"),
    [
        ({"scope": "a b  c"}, {"a", "b", "c"}),
        ({"scp": ["a", "b", 3, ""]}, {"a", "b"}),
        ({"scp": "a b"}, {"a", "b"}),
        ({"scope": "a", "scp": ["b"]}, {"a", "b"}),
        ({"scope": ["a"]}, {"a"}),
        ({"scope": {"a": True}}, set()),
        ({"scope": "a\tb"}, {"a\tb"}),  # only spaces separate (RFC 6749 3.3)
        ({}, set()),
    ],
)
def test_granted_scopes(claims: dict[str, object], granted: set[str]) -> None:
    assert granted_scopes(claims) == granted


def test_require_scopes_names_every_required_scope() -> None:
    require_scopes({"scope": "a b"}, ["a", "b"])
    with pytest.raises(InsufficientScopeError) as caught:
        require_scopes({"scope": "a"}, ["b", "a"])
    assert caught.value.required == ("a", "b")


def test_a_revocation_store_becomes_the_managers_view_and_a_conflict_is_refused() -> None:
    from jwtauth.stores.memory import MemoryRevocationStore

    store = MemoryRevocationStore()
    manager = make_manager()
    Authenticator(manager, revocations=store)
    assert manager.revocations is store.view
    with pytest.raises(ConfigurationError):
        Authenticator(make_manager(revocations=RevocationList()), revocations=store)
