"""Brute-force protection: too many failed authentications for one key prefix, or from one
IP, within a window lock that prefix / IP out (429 with Retry-After), even with a valid key.

State lives in Redis (namespace wavis:gateway:lockout:), so every gateway replica agrees.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import redis.asyncio as aioredis

_NS = "wavis:gateway:lockout"

# KEYS: failure counter, lock; ARGV: threshold, window seconds, lockout seconds.
# Counts one failure; at the threshold sets the lock and restarts the count.
_RECORD_FAILURE = """
local failures = redis.call('INCR', KEYS[1])
if failures == 1 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
if failures >= tonumber(ARGV[1]) then
  redis.call('SET', KEYS[2], '1', 'EX', ARGV[3])
  redis.call('DEL', KEYS[1])
end
return failures
"""


@dataclass(frozen=True)
class LockoutPolicy:
    failures_per_key: int
    failures_per_ip: int
    window_seconds: int
    lockout_seconds: int


class BruteForceGuard:
    def __init__(self, redis: aioredis.Redis, policy: LockoutPolicy) -> None:
        self.redis = redis
        self.policy = policy
        self._record = redis.register_script(_RECORD_FAILURE)

    @staticmethod
    def lock_keys(ip: str, prefix: str | None) -> tuple[str, ...]:
        """The locks that refuse this IP and key prefix (the rate limiter checks them too)."""
        return (f"{_NS}:ip:{ip}:lock",) + ((f"{_NS}:key:{prefix}:lock",) if prefix else ())

    async def retry_after(self, ip: str, prefix: str | None) -> int:
        """Seconds until the IP (and the key prefix, if any) may try again; 0 if not locked."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for key in self.lock_keys(ip, prefix):
                pipe.pttl(key)
            remaining_ms = await pipe.execute()
        longest = max(remaining_ms)
        return math.ceil(longest / 1000) if longest > 0 else 0

    async def record_failure(self, ip: str, prefix: str | None) -> None:
        policy = self.policy
        await self._record(keys=[f"{_NS}:ip:{ip}:failures", f"{_NS}:ip:{ip}:lock"],
                           args=[policy.failures_per_ip, policy.window_seconds,
                                 policy.lockout_seconds])
        if prefix:
            await self._record(keys=[f"{_NS}:key:{prefix}:failures", f"{_NS}:key:{prefix}:lock"],
                               args=[policy.failures_per_key, policy.window_seconds,
                                     policy.lockout_seconds])
