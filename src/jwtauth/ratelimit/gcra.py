"""The limiter's arithmetic, pure: GCRA plus progressive penalties, in integer milliseconds.

Both backends compute exactly this; the Redis backend runs a Lua twin of :func:`step`
(``jwtauth/ratelimit/redis.py``), and a test drives both with one random sequence of hits and
compares every decision.

GCRA (the Generic Cell Rate Algorithm, a token bucket kept as one timestamp): with the
emission interval ``T`` (time to earn one hit back) and ``window = limit * T``, a key's state is
its *theoretical arrival time* ``tat``; ``room = now + window - max(tat, now)`` is the unused
capacity in milliseconds, so ``room // T`` hits are available now. A hit that is allowed moves
``tat`` on by ``T``; a refused one changes nothing. ``T`` is rounded up to a whole millisecond,
so every value is an integer, exact in Python and in Lua's doubles alike, and the rate is never
more generous than the policy (at most 1 ms per hit slower).

Penalties add two numbers: ``strikes`` and ``until`` (the end of the latest block). A refusal
outside a block is a strike and blocks for ``min(cap, base * factor ** (strikes - 1))``; after
``until``, every full ``decay`` forgets one strike. Strikes are stored as of ``until`` and
decayed when read, so no write is needed for them to fade.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from jwtauth.ratelimit.policy import RateDecision, RatePolicy

__all__ = ["MAX_STRIKES", "Outcome", "Params", "State", "step"]

MAX_STRIKES = 64
"""Strikes stop counting here: the block is long since at its cap, and the power stays finite."""


@dataclass(frozen=True, slots=True)
class Params:
    """A policy in the integer milliseconds both backends compute with."""

    interval: int  # T: milliseconds to earn one hit back
    window: int  # limit * T
    limit: int
    penalized: bool
    base: int
    factor: float
    cap: int
    decay: int

    @classmethod
    def of(cls, policy: RatePolicy) -> Params:
        """The parameters of ``policy``."""
        interval = -(-policy.period * 1000 // policy.limit)  # ceil: never faster than asked
        penalty = policy.penalty
        if penalty is None:
            return cls(interval, interval * policy.limit, policy.limit, False, 0, 1.0, 0, 0)
        return cls(
            interval,
            interval * policy.limit,
            policy.limit,
            True,
            math.ceil(penalty.base * 1000),
            penalty.factor,
            math.ceil(penalty.cap * 1000),
            math.ceil(penalty.decay * 1000),
        )


@dataclass(frozen=True, slots=True)
class State:
    """What is stored per (policy, key); every field in milliseconds since the epoch or a count."""

    tat: int
    strikes: int = 0
    until: int = 0

    def expires_at(self, params: Params) -> int:
        """When this state becomes the same as none at all: a full bucket, no strike left."""
        return max(self.tat, self.until + self.strikes * params.decay)


@dataclass(frozen=True, slots=True)
class Outcome:
    """A decision in milliseconds, as both backends produce it."""

    allowed: bool
    remaining: int
    reset: int  # ms until quota beyond `remaining` returns; 0 when full
    retry_after: int  # ms until a hit can succeed; 0 when allowed
    strikes: int
    blocked: bool

    def decision(self, policy: RatePolicy) -> RateDecision:
        """The public decision, in whole seconds rounded up (a client never retries too early)."""
        return RateDecision(
            allowed=self.allowed,
            policy=policy,
            remaining=self.remaining,
            reset=_seconds(self.reset),
            retry_after=_seconds(self.retry_after),
            blocked=self.blocked,
            strikes=self.strikes,
        )


def _seconds(ms: int) -> int:
    return -(-ms // 1000)


def _strikes_now(state: State, now: int, params: Params) -> int:
    """The strikes left after the decay since the latest block ended."""
    if state.strikes == 0 or now < state.until or params.decay == 0:
        return state.strikes
    return max(0, state.strikes - (now - state.until) // params.decay)


def _block_for(strikes: int, params: Params) -> int:
    """Milliseconds of the block that the ``strikes``-th strike earns."""
    return min(params.cap, math.floor(params.base * params.factor ** (strikes - 1)))


def step(
    state: State | None, now: int, params: Params, *, consume: bool
) -> tuple[State | None, Outcome]:
    """Decide one hit (``consume``) or peek at time ``now``; return the state to store and why.

    The returned state is ``None`` or the given one when nothing needs writing.
    """
    current = state or State(tat=now)
    tat = max(current.tat, now)
    if current.until > now:  # blocked: refuse, and neither count nor extend
        wait = current.until - now
        return state, Outcome(False, 0, wait, wait, current.strikes, True)
    strikes = _strikes_now(current, now, params)
    room = now + params.window - tat
    available = room // params.interval
    if available < 1:
        wait = params.interval - room
        if not (consume and params.penalized):
            return state, Outcome(False, 0, wait, wait, strikes, False)
        strikes = min(strikes + 1, MAX_STRIKES)
        wait = max(wait, _block_for(strikes, params))
        return State(tat, strikes, now + wait), Outcome(False, 0, wait, wait, strikes, True)
    if not consume:
        reset = 0 if available >= params.limit else params.interval - room % params.interval
        return state, Outcome(True, available, reset, 0, strikes, False)
    room -= params.interval
    # Strikes and block end are stored as they were: decay is always counted from `until`.
    new = State(tat + params.interval, current.strikes, current.until)
    reset = params.interval - room % params.interval
    return new, Outcome(True, room // params.interval, reset, 0, strikes, False)
