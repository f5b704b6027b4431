"""Rate limits shared by every process through Redis: one Lua script per decision, atomic.

The script is the twin of :func:`jwtauth.ratelimit.gcra.step` (read it first): same integer
milliseconds, same order of checks. Redis runs a script alone, so the read of the state, the
decision, the strike and the write are one step however many processes hit one key.

Key layout (``key_prefix`` = ``jwtauth:<namespace>:rl:``; see :mod:`jwtauth.redis_namespace`)::

    jwtauth:<ns>:rl:<policy>:<sha256 hex of the key>    HASH  tat, strikes, until (ms)
                                                        PEXPIRE: when it is the same as no key

The namespace keeps two deployments on one Redis database from spending each other's quotas.
Earlier versions used ``jwtauth:rl:`` for everyone; those keys are not read (a quota restarts
at the upgrade, and the old keys expire on their own within the longest penalty).

The key is hashed (or HMAC'ed with ``key_secret``), so Redis never holds a raw email or
address. Time is Redis's own (``TIME``) unless a ``clock`` is given: one clock for every
process means host clocks that disagree cannot hand out extra quota.
"""

from __future__ import annotations

import math
from types import TracebackType
from typing import Self, cast

from redis.exceptions import RedisError

from jwtauth.ratelimit.gcra import MAX_STRIKES, Outcome, Params
from jwtauth.ratelimit.policy import RateDecision, RatePolicy, hash_key
from jwtauth.redis_namespace import check_namespace
from jwtauth.stores.redis_client import redis_client
from jwtauth.types import Clock

__all__ = ["RedisRateLimiter"]

# KEYS[1]: the state hash. ARGV: now (ms; negative: use Redis TIME), consume (1/0), interval,
# window, limit, penalized (1/0), base, factor, cap, decay, max strikes.
# Returns {allowed, remaining, reset ms, retry-after ms, strikes, blocked}.
_SCRIPT = """
local now = tonumber(ARGV[1])
if now < 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local consume = ARGV[2] == '1'
local interval, window, limit = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local penalized = ARGV[6] == '1'
local base, factor, cap = tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])
local decay, max_strikes = tonumber(ARGV[10]), tonumber(ARGV[11])

local stored = redis.call('HMGET', KEYS[1], 'tat', 'strikes', 'until')
local tat = math.max(tonumber(stored[1]) or now, now)
local strikes = tonumber(stored[2]) or 0
local blocked_until = tonumber(stored[3]) or 0

local function save(new_tat, new_strikes, new_until)
  local expires = math.max(new_tat, new_until + new_strikes * decay)
  redis.call('HSET', KEYS[1], 'tat', string.format('%d', new_tat),
    'strikes', string.format('%d', new_strikes), 'until', string.format('%d', new_until))
  redis.call('PEXPIRE', KEYS[1], string.format('%d', expires - now))
end

if blocked_until > now then
  local wait = blocked_until - now
  return {0, 0, wait, wait, strikes, 1}
end
local left = strikes
if strikes > 0 and decay > 0 then
  left = math.max(0, strikes - math.floor((now - blocked_until) / decay))
end
local room = now + window - tat
local available = math.floor(room / interval)
if available < 1 then
  local wait = interval - room
  if not (consume and penalized) then
    return {0, 0, wait, wait, left, 0}
  end
  left = math.min(left + 1, max_strikes)
  wait = math.max(wait, math.min(cap, math.floor(base * factor ^ (left - 1))))
  save(tat, left, now + wait)
  return {0, 0, wait, wait, left, 1}
end
if not consume then
  local reset = 0
  if available < limit then reset = interval - room % interval end
  return {1, available, reset, 0, left, 0}
end
room = room - interval
save(tat + interval, strikes, blocked_until)
return {1, math.floor(room / interval), interval - room % interval, 0, left, 0}
"""


class RedisRateLimiter:
    """Rate limits shared through Redis; implements :class:`~jwtauth.ratelimit.RateLimiter`.

    Any number of instances (in any number of processes) on one Redis database and
    ``key_prefix`` enforce one limit per (policy, key).

    Args:
        url: the Redis URL, e.g. ``redis://host:6379/0``.
        clock: a time source for tests; by default Redis's ``TIME``, one clock for all.
        namespace: the deployment's namespace; ``key_prefix`` is then ``jwtauth:<ns>:rl:``.
            Without one, the un-namespaced ``jwtauth:rl:`` of earlier versions.
        key_prefix: the prefix of every key written (overrides the namespace's).
        key_secret: makes stored keys HMACs rather than plain hashes (see :func:`hash_key`);
            must be the same in every process.

    Raises:
        redis.exceptions.RedisError: from :meth:`hit`, :meth:`peek` and :meth:`reset` when
            Redis cannot answer; the caller decides to fail closed (refuse) or open.
    """

    __slots__ = ("_clock", "_key_secret", "_prefix", "_redis", "_script")

    def __init__(
        self,
        url: str,
        *,
        clock: Clock | None = None,
        namespace: str | None = None,
        key_prefix: str | None = None,
        key_secret: bytes | None = None,
    ) -> None:
        if key_prefix is None:
            key_prefix = (
                "jwtauth:rl:" if namespace is None else f"jwtauth:{check_namespace(namespace)}:rl:"
            )
        self._redis = redis_client(url)
        self._script = self._redis.register_script(_SCRIPT)  # EVALSHA, loading it if needed
        self._clock = clock
        self._prefix = key_prefix
        self._key_secret = key_secret

    def storage_key(self, policy: RatePolicy, key: str) -> str:
        """The Redis key holding ``key``'s state under ``policy`` (for operators and tests)."""
        return f"{self._prefix}{policy.name}:{hash_key(key, self._key_secret)}"

    async def hit(self, policy: RatePolicy, key: str) -> RateDecision:
        """Count one hit of ``key`` against ``policy`` and decide, atomically across processes."""
        return await self._decide(policy, key, consume=True)

    async def peek(self, policy: RatePolicy, key: str) -> RateDecision:
        """Decide as :meth:`hit` would, without counting anything."""
        return await self._decide(policy, key, consume=False)

    async def reset(self, policy: RatePolicy, key: str) -> None:
        """Forget ``key``'s quota use and strikes under ``policy``."""
        await self._redis.delete(self.storage_key(policy, key))

    async def ping(self) -> bool:
        """True when Redis answers (readiness)."""
        try:
            return bool(await self._redis.ping())
        except RedisError:
            return False

    async def close(self) -> None:
        """Close the connection pool."""
        await self._redis.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def _decide(self, policy: RatePolicy, key: str, *, consume: bool) -> RateDecision:
        p = Params.of(policy)
        now = -1 if self._clock is None else math.floor(self._clock() * 1000)
        args: list[int | str] = [now, int(consume), p.interval, p.window, p.limit, int(p.penalized)]
        args += [p.base, repr(p.factor), p.cap, p.decay, MAX_STRIKES]
        reply = cast(
            "list[int]", await self._script(keys=[self.storage_key(policy, key)], args=args)
        )
        allowed, remaining, reset, retry_after, strikes, blocked = (int(v) for v in reply)
        return Outcome(
            bool(allowed), remaining, reset, retry_after, strikes, bool(blocked)
        ).decision(policy)
