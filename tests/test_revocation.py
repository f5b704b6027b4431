"""RevocationList: by jti, by subject, everything; entries outlive exp by the leeway bound;
the Freshness gate refuses to answer from a list that may have fallen behind."""

from __future__ import annotations

import math

import pytest

from jwtauth.errors import RevocationsUnavailableError, RevokedTokenError
from jwtauth.revocation import Freshness, RevocationList
from jwtauth.testing import FrozenClock, make_manager

ISS = "https://auth.test"


def claims(jti: str = "j1", sub: str = "alice", iat: float = 1_000.0) -> dict[str, object]:
    return {"iss": ISS, "sub": sub, "jti": jti, "iat": iat}


def test_revoked_jti_is_refused_and_others_are_not() -> None:
    revocations = RevocationList(FrozenClock(1_000.0))
    revocations.revoke(ISS, "j1", expires_at=1_300.0)
    assert revocations.is_revoked(claims("j1"))
    assert not revocations.is_revoked(claims("j2"))


def test_same_jti_from_another_issuer_is_not_revoked() -> None:
    revocations = RevocationList(FrozenClock(1_000.0))
    revocations.revoke(ISS, "j1", expires_at=1_300.0)
    assert not revocations.is_revoked({**claims("j1"), "iss": "https://other.test"})


def test_entry_outlives_exp_by_the_retention_then_goes() -> None:
    clock = FrozenClock(1_000.0)
    revocations = RevocationList(clock, retention=30.0)
    revocations.revoke(ISS, "j1", expires_at=1_300.0)
    clock.now = 1_329.0  # past exp, inside a 30 s leeway: must still be revoked
    assert revocations.is_revoked(claims("j1"))
    clock.now = 1_330.0
    assert not revocations.is_revoked(claims("j1"))
    assert revocations.purge() == 0  # already dropped on the lookup above


def test_purge_drops_only_dead_entries() -> None:
    clock = FrozenClock(1_000.0)
    revocations = RevocationList(clock, retention=0.0)
    revocations.revoke(ISS, "old", expires_at=1_100.0)
    revocations.revoke(ISS, "new", expires_at=2_000.0)
    clock.now = 1_500.0
    assert revocations.purge() == 1
    assert revocations.is_revoked(claims("new"))


def test_subject_cutoff_revokes_only_tokens_issued_before_it() -> None:
    revocations = RevocationList(FrozenClock(1_000.0))
    revocations.revoke_subject(ISS, "alice", before=1_000.0)
    assert revocations.is_revoked(claims(sub="alice", iat=999.0))
    assert not revocations.is_revoked(claims(sub="alice", iat=1_000.0))
    assert not revocations.is_revoked(claims(sub="bob", iat=999.0))


def test_subject_cutoff_never_moves_backwards() -> None:
    revocations = RevocationList(FrozenClock(1_000.0))
    revocations.revoke_subject(ISS, "alice", before=1_000.0)
    revocations.revoke_subject(ISS, "alice", before=500.0)
    assert revocations.is_revoked(claims(sub="alice", iat=900.0))


def test_revoke_all_cuts_off_every_earlier_token_and_never_moves_backwards() -> None:
    revocations = RevocationList(FrozenClock(1_000.0))
    revocations.revoke_all(before=1_000.0)
    revocations.revoke_all(before=10.0)
    assert revocations.is_revoked(claims(sub="anyone", iat=999.0))
    assert not revocations.is_revoked(claims(sub="anyone", iat=1_000.0))


def test_manager_refuses_tokens_issued_before_revoke_all_and_accepts_later_ones() -> None:
    clock = FrozenClock(1_000.0)
    revocations = RevocationList(clock)
    tokens = make_manager("HS256", clock=clock, revocations=revocations)
    before = tokens.issue("alice")
    tokens.verify(before)  # now cached
    clock.advance(5)
    revocations.revoke_all(before=clock())
    after = tokens.issue("alice")
    assert tokens.verify(after)["sub"] == "alice"
    with pytest.raises(RevokedTokenError):
        tokens.verify(before)


def test_revoking_an_empty_jti_is_refused() -> None:
    """An empty jti would match every token that lacks one."""
    with pytest.raises(ValueError, match="jti"):
        RevocationList().revoke(ISS, "", expires_at=2_000.0)


def test_revoke_subject_spares_a_token_issued_later_in_the_same_second() -> None:
    """`iat` keeps milliseconds, so logout-all at T.2 does not kill a login at T.7."""
    clock = FrozenClock(1_000.2)
    revocations = RevocationList(clock)
    tokens = make_manager("HS256", clock=clock, revocations=revocations)
    before = tokens.issue("alice")
    clock.now = 1_000.4
    revocations.revoke_subject(ISS, "alice", before=clock())
    clock.now = 1_000.7
    after = tokens.issue("alice")
    assert tokens.verify(after)["sub"] == "alice"
    with pytest.raises(RevokedTokenError):
        tokens.verify(before)


def test_revoked_session_refuses_its_tokens_and_spares_others() -> None:
    clock = FrozenClock(1_000.0)
    revocations = RevocationList(clock, retention=0.0)
    tokens = make_manager("HS256", clock=clock, revocations=revocations)
    mine = tokens.issue("alice", claims={"sid": "s1"})
    other = tokens.issue("alice", claims={"sid": "s2"})
    tokens.verify(mine)
    revocations.revoke_session(ISS, "s1", expires_at=1_300.0)
    with pytest.raises(RevokedTokenError):
        tokens.verify(mine)
    assert tokens.verify(other)["sid"] == "s2"
    clock.now = 1_300.0  # every token of s1 has expired by now; the entry may go
    assert revocations.purge() == 1


def test_subject_cutoffs_are_forgotten_once_every_earlier_token_has_expired() -> None:
    clock = FrozenClock(1_000.0)
    revocations = RevocationList(clock, retention=10.0, max_token_lifetime=300.0)
    revocations.revoke_subject(ISS, "alice", before=1_000.0)
    clock.now = 1_309.0  # a token issued just before the cut-off could still be alive
    assert revocations.purge() == 0
    assert revocations.is_revoked(claims(sub="alice", iat=999.0))
    clock.now = 1_310.0
    assert revocations.purge() == 1


def test_subject_cutoffs_are_kept_without_a_max_token_lifetime() -> None:
    clock = FrozenClock(1_000.0)
    revocations = RevocationList(clock)
    revocations.revoke_subject(ISS, "alice", before=1_000.0)
    clock.now = 10**9
    assert revocations.purge() == 0


# Freshness: fail closed when the list may have fallen behind (issue 14) ---------------------


def test_a_list_past_its_confirmation_refuses_to_answer_with_retry_after() -> None:
    clock = FrozenClock(100.0)
    gate = Freshness(max_staleness=1.0, retry_after=2.5, clock=clock)
    revocations = RevocationList(FrozenClock(1_000.0))
    revocations.freshness = gate
    with pytest.raises(RevocationsUnavailableError) as never_confirmed:
        revocations.is_revoked(claims())
    assert never_confirmed.value.retry_after == 3  # whole seconds, rounded up
    gate.confirm(2.0)
    assert not revocations.is_revoked(claims())
    clock.now = 101.999
    assert not revocations.is_revoked(claims())
    clock.now = 102.0  # the read vouched for 2 s, no more
    with pytest.raises(RevocationsUnavailableError):
        revocations.is_revoked(claims())
    assert not gate.fresh


def test_a_live_feed_keeps_the_list_trusted_and_its_loss_ends_it_within_the_bound() -> None:
    clock = FrozenClock(100.0)
    live = [True]
    gate = Freshness(lambda: live[0], max_staleness=1.0, clock=clock)
    gate.check()  # live: trusted, for max_staleness from now
    live[0] = False
    clock.now = 100.9
    gate.check()  # the feed is not asked again before the bound: one compare per verification
    clock.now = 101.0
    with pytest.raises(RevocationsUnavailableError):
        gate.check()
    live[0] = True
    gate.check()


def test_fail_open_answers_from_a_stale_list_and_logs_once_per_spell(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FrozenClock(100.0)
    gate = Freshness(max_staleness=1.0, fail_open=True, clock=clock)
    revocations = RevocationList(FrozenClock(1_000.0))
    revocations.revoke(ISS, "j1", expires_at=1_300.0)
    revocations.freshness = gate
    with caplog.at_level("WARNING", logger="jwtauth.revocation"):
        for _ in range(50):
            assert revocations.is_revoked(claims("j1"))  # still refuses what it knows
            assert not revocations.is_revoked(claims("j2"))
        gate.confirm(1.0)
        assert not revocations.is_revoked(claims("j2"))
        clock.now = 200.0
        assert not revocations.is_revoked(claims("j2"))
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 3, messages  # stale, current again, stale: not one per request
    assert "fail open" in messages[0]
    assert "current again" in messages[1]


def test_a_fail_closed_refusal_is_logged_once_per_spell(caplog: pytest.LogCaptureFixture) -> None:
    gate = Freshness(clock=FrozenClock(0.0))
    with caplog.at_level("WARNING", logger="jwtauth.revocation"):
        for _ in range(20):
            with pytest.raises(RevocationsUnavailableError):
                gate.check()
    assert len(caplog.records) == 1
    assert "refusing with 503" in caplog.records[0].getMessage()


def test_the_manager_refuses_with_503_not_401_while_its_list_is_stale() -> None:
    revocations = RevocationList()
    manager = make_manager("HS256", revocations=revocations)
    token = manager.issue("alice")
    assert manager.verify(token)["sub"] == "alice"  # now cached
    revocations.freshness = Freshness(clock=FrozenClock(0.0))
    for _ in range(2):  # a cache hit, then again
        with pytest.raises(RevocationsUnavailableError):
            manager.verify(token)
    revocations.freshness = None
    assert manager.verify(token)["sub"] == "alice"


@pytest.mark.parametrize("bad", [-1.0, math.nan])
def test_a_negative_or_nan_bound_is_refused(bad: float) -> None:
    with pytest.raises(ValueError, match="max_staleness"):
        Freshness(max_staleness=bad)
