"""The decryption budget of server-mode CKKS keys, counted in the state Redis so that every
replica draws on one count per key (namespace wavis:ckks:decryptions:*). See
wavis.fhe.ckks_decryption for why decryptions are counted at all."""

from __future__ import annotations

import redis.asyncio as aioredis

from wavis.core.errors import WavisError

NS = "wavis:ckks:decryptions"

# KEYS: the key's count; ARGV: its budget. Takes one decryption: the decryptions left after
# it, or -1 when none is left (the count then stays at the budget).
_TAKE = """
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
if used >= tonumber(ARGV[1]) then return -1 end
return tonumber(ARGV[1]) - redis.call('INCR', KEYS[1])
"""


def _count(key_id: str) -> str:
    return f"{NS}:{key_id}"


class DecryptionBudget:
    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis
        self._take = redis.register_script(_TAKE)

    async def take(self, key_id: str, budget: int) -> int:
        """Count one decryption of the key; the number left, or DECRYPTION_BUDGET_EXHAUSTED.
        Taken before the secret key is used: a decryption refused afterwards (its error too
        large to hide) still told something about the key, and counts."""
        left = int(await self._take(keys=[_count(key_id)], args=[budget]))
        if left < 0:
            raise WavisError("DECRYPTION_BUDGET_EXHAUSTED", f"Key {key_id} has used all "
                             f"{budget} decryptions it allows: generate a new key for more "
                             "(computing under this one goes on).",
                             {"key_id": key_id, "budget": budget})
        return left

    async def forget(self, key_id: str) -> None:
        """A deleted key: its count goes with it."""
        await self.redis.delete(_count(key_id))
