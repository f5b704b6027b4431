"""The managed key lifecycle (pure state machine) and the envelope that seals stored keys."""

from __future__ import annotations

import pytest

from jwtauth.errors import KeyConfigurationError, KeyRotationError, UnknownKeyError
from jwtauth.keys.algorithms import Algorithm
from jwtauth.keys.key import Key, generate_key
from jwtauth.lifecycle.envelope import KeyEncryptionKey, key_from_material, key_material
from jwtauth.lifecycle.rotation import (
    KeyRecord,
    KeyState,
    RotationPolicy,
    build_keyring,
    first_keys,
    live_records,
    next_change,
    replace_all,
    rotate,
    rotation_due,
)
from jwtauth.testing import FrozenClock
from jwtauth.tokens.jws import JWS

T0 = 1_700_000_000.0
POLICY = RotationPolicy(token_lifetime=300, propagation=5, next_lead=305)


class Ring:
    """Records plus the keys they name, rotated with a frozen clock."""

    def __init__(self, alg: Algorithm = Algorithm.ES256) -> None:
        self.alg = alg
        self.clock = FrozenClock(T0)
        self.keys: dict[str, Key] = {}
        self.records = first_keys(T0, self.new(), self.new())

    def new(self) -> Key:
        key = generate_key(self.alg, rsa_bits=2048)
        self.keys[key.kid] = key
        return key

    def rotate(self, *, force: bool = False) -> None:
        self.records = rotate(self.records, self.clock(), self.new(), POLICY, force=force)

    def state(self) -> dict[str, KeyState]:
        return {r.kid: r.state for r in self.records}

    def kid(self, state: KeyState) -> str:
        return next(r.kid for r in self.records if r.state is state)


def test_a_new_keyring_signs_with_active_and_publishes_next() -> None:
    ring = Ring()
    keyring = build_keyring(ring.records, ring.keys, T0)
    assert keyring.signing_key.kid == ring.kid(KeyState.ACTIVE)
    published = {jwk["kid"] for jwk in keyring.jwks()["keys"]}
    assert published == {ring.kid(KeyState.ACTIVE), ring.kid(KeyState.NEXT)}


def test_rotation_promotes_next_retires_active_with_grace_and_adds_a_next() -> None:
    ring = Ring()
    old_active, old_next = ring.kid(KeyState.ACTIVE), ring.kid(KeyState.NEXT)
    ring.clock.advance(POLICY.next_lead)
    ring.rotate()
    assert ring.state()[old_next] is KeyState.ACTIVE
    assert ring.state()[old_active] is KeyState.RETIRING
    retiring = next(r for r in ring.records if r.kid == old_active)
    assert retiring.deactivated_at == ring.clock()
    assert retiring.retire_at == ring.clock() + POLICY.token_lifetime + POLICY.propagation
    new_next = ring.kid(KeyState.NEXT)
    assert new_next not in (old_active, old_next)


def test_a_token_of_the_old_key_verifies_through_the_grace_and_not_after() -> None:
    ring = Ring()
    jws = JWS()
    before = build_keyring(ring.records, ring.keys, T0)
    token = jws.sign(b'{"sub":"a"}', before.signing_key)
    ring.clock.advance(POLICY.next_lead)
    ring.rotate()
    during = build_keyring(ring.records, ring.keys, ring.clock())
    assert during.signing_key.kid != before.signing_key.kid  # new tokens use the new key
    assert jws.verify(token, during).payload == b'{"sub":"a"}'
    end = next_change(ring.records, ring.clock())
    assert end == ring.clock() + POLICY.grace
    just_before_end = build_keyring(ring.records, ring.keys, end - 0.001)
    assert jws.verify(token, just_before_end).payload == b'{"sub":"a"}'
    after = build_keyring(ring.records, ring.keys, end)
    with pytest.raises(UnknownKeyError):
        jws.verify(token, after)
    assert before.signing_key.kid not in {j["kid"] for j in after.jwks()["keys"]}


def test_the_next_key_signs_only_after_jwks_caches_have_seen_it() -> None:
    ring = Ring()
    ring.clock.advance(POLICY.next_lead - 1)
    with pytest.raises(KeyRotationError, match="JWKS caches may not know it"):
        ring.rotate()
    ring.rotate(force=True)  # an operator who knows better
    assert ring.state()[ring.kid(KeyState.ACTIVE)] is KeyState.ACTIVE


def test_a_second_rotation_retires_keys_whose_grace_ended() -> None:
    ring = Ring()
    first = ring.kid(KeyState.ACTIVE)
    ring.clock.advance(POLICY.next_lead)
    ring.rotate()
    ring.clock.advance(POLICY.grace)
    ring.rotate()
    assert ring.state()[first] is KeyState.RETIRED
    assert [r.state for r in ring.records].count(KeyState.RETIRING) == 1
    assert [r.state for r in ring.records].count(KeyState.ACTIVE) == 1
    assert first not in {r.kid for r in live_records(ring.records, ring.clock())}


def test_rotation_refuses_a_keyring_without_exactly_one_next() -> None:
    ring = Ring()
    without_next = [r for r in ring.records if r.state is not KeyState.NEXT]
    with pytest.raises(KeyRotationError, match="one next key"):
        rotate(without_next, T0 + 999, generate_key("ES256"), POLICY)


def test_the_compromise_rotation_retires_every_key_at_once() -> None:
    ring = Ring()
    ring.clock.advance(POLICY.next_lead)
    ring.rotate()
    old = set(ring.keys)
    replaced = replace_all(ring.records, ring.clock(), ring.new(), ring.new())
    keyring = build_keyring(replaced, ring.keys, ring.clock())
    assert old.isdisjoint(k.kid for k in keyring)
    assert {r.kid for r in replaced if r.state is KeyState.RETIRED} == old
    assert next_change(replaced, ring.clock()) is None


def test_rotation_is_due_after_the_period_of_the_active_key() -> None:
    ring = Ring()
    day = 86_400.0
    assert not rotation_due(ring.records, T0 + 30 * day - 1, 30 * day)
    assert rotation_due(ring.records, T0 + 30 * day, 30 * day)


def test_build_keyring_needs_the_material_of_every_live_key() -> None:
    ring = Ring()
    partial = {ring.kid(KeyState.ACTIVE): ring.keys[ring.kid(KeyState.ACTIVE)]}
    with pytest.raises(KeyConfigurationError, match="no key material"):
        build_keyring(ring.records, partial, T0)


def test_a_keyring_with_two_active_keys_is_refused() -> None:
    ring = Ring()
    doubled = [KeyRecord(r.kid, r.alg, KeyState.ACTIVE, T0) for r in ring.records]
    with pytest.raises(KeyConfigurationError, match="one active key"):
        build_keyring(doubled, ring.keys, T0)


def test_hmac_secrets_rotate_the_same_way_and_never_appear_in_jwks() -> None:
    ring = Ring(Algorithm.HS256)
    jws = JWS()
    token = jws.sign(b"{}", build_keyring(ring.records, ring.keys, T0).signing_key)
    ring.clock.advance(POLICY.next_lead)
    ring.rotate()
    keyring = build_keyring(ring.records, ring.keys, ring.clock())
    assert len(keyring) == 3  # retiring, active, next: several valid secrets, each with a kid
    assert jws.verify(token, keyring).payload == b"{}"
    assert keyring.jwks() == {"keys": []}


# The envelope --------------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["ES256", "EdDSA", "RS256", "HS256"])
def test_sealed_material_opens_to_the_same_key(alg: str) -> None:
    kek = KeyEncryptionKey.generate()
    key = generate_key(alg, rsa_bits=2048)
    material = key_material(key)
    sealed = kek.seal(material, kid=key.kid, alg=key.alg)
    assert material not in sealed
    opened = key_from_material(kek.open(sealed, kid=key.kid, alg=key.alg), key.alg, key.kid)
    signature = opened.sign(b"x")
    assert key.verify(b"x", signature)


def test_sealed_material_does_not_open_under_another_kid_alg_or_kek() -> None:
    kek = KeyEncryptionKey.generate()
    key = generate_key("ES256")
    sealed = kek.seal(key_material(key), kid=key.kid, alg=key.alg)
    with pytest.raises(KeyRotationError, match="fails its check"):
        kek.open(sealed, kid="another", alg=key.alg)
    with pytest.raises(KeyRotationError, match="fails its check"):
        kek.open(sealed, kid=key.kid, alg=Algorithm.ES384)
    with pytest.raises(KeyRotationError, match="another key-encryption key"):
        KeyEncryptionKey.generate().open(sealed, kid=key.kid, alg=key.alg)
    tampered = sealed[:-1] + bytes([sealed[-1] ^ 1])
    with pytest.raises(KeyRotationError, match="fails its check"):
        kek.open(tampered, kid=key.kid, alg=key.alg)


def test_each_seal_uses_fresh_randomness() -> None:
    kek = KeyEncryptionKey.generate()
    key = generate_key("HS256")
    one = kek.seal(key_material(key), kid=key.kid, alg=key.alg)
    two = kek.seal(key_material(key), kid=key.kid, alg=key.alg)
    assert one != two


def test_the_kek_text_form_round_trips_and_bad_text_is_refused_without_echo() -> None:
    raw = bytes(range(32))
    assert KeyEncryptionKey.from_text(KeyEncryptionKey.encode(raw) + b"\n").kek_id == (
        KeyEncryptionKey(raw).kek_id
    )
    with pytest.raises(KeyConfigurationError) as caught:
        KeyEncryptionKey.from_text(b"not-a-kek-at-all")
    assert "not-a-kek" not in str(caught.value)
    with pytest.raises(KeyConfigurationError):
        KeyEncryptionKey(b"short")


def test_the_kek_repr_hides_it() -> None:
    raw = bytes(range(32))
    kek = KeyEncryptionKey(raw)
    assert repr(kek) == "KeyEncryptionKey(**********)"
    assert KeyEncryptionKey.encode(raw).decode() not in repr(kek)
