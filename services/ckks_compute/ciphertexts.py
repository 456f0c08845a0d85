"""The ciphertext store: Redis, each ciphertext with a TTL, all of them within a byte budget
kept by least-recently-used eviction (namespace wavis:ckks:ct:*).

Storing and evicting happen in one Lua script, so the budget holds under concurrency and the
caller learns exactly which ciphertexts its insert pushed out.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, cast

import redis.asyncio as aioredis

from wavis.core.errors import WavisError
from wavis.core.ids import new_id
from wavis.core.limits import MAX_CIPHERTEXT_BYTES, megabytes
from wavis.core.timefmt import rfc3339

NS = "wavis:ckks"
LRU = f"{NS}:lru"  # sorted set: ciphertext id -> last use (epoch ms)
SIZES = f"{NS}:sizes"  # hash: ciphertext id -> bytes
TOTAL = f"{NS}:bytes"  # bytes stored

# KEYS: record, lru, sizes, total, key index; ARGV: id, size, ttl s, now ms, budget, then the
# record's field/value pairs. Returns the ids evicted to make room.
_PUT = """
redis.call('HSET', KEYS[1], unpack(ARGV, 6))
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('SADD', KEYS[5], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
redis.call('HSET', KEYS[3], ARGV[1], ARGV[2])
local total = redis.call('INCRBY', KEYS[4], ARGV[2])
local evicted = {}
local budget = tonumber(ARGV[5])
while total > budget do
  local oldest = redis.call('ZRANGE', KEYS[2], 0, 0)[1]
  if not oldest or oldest == ARGV[1] then break end
  local size = tonumber(redis.call('HGET', KEYS[3], oldest) or '0')
  local record = 'wavis:ckks:ct:' .. oldest
  local key_id = redis.call('HGET', record, 'key_id')
  if key_id then redis.call('SREM', 'wavis:ckks:key:' .. key_id .. ':cts', oldest) end
  if redis.call('DEL', record) == 1 then table.insert(evicted, oldest) end
  redis.call('ZREM', KEYS[2], oldest)
  redis.call('HDEL', KEYS[3], oldest)
  total = redis.call('DECRBY', KEYS[4], size)
end
return evicted
"""

# KEYS: record, lru, sizes, total, key index; ARGV: id. Removes one ciphertext everywhere.
_DELETE = """
local size = tonumber(redis.call('HGET', KEYS[3], ARGV[1]) or '0')
local existed = redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
if redis.call('HDEL', KEYS[3], ARGV[1]) == 1 then redis.call('DECRBY', KEYS[4], size) end
redis.call('SREM', KEYS[5], ARGV[1])
return existed
"""


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _record(ciphertext_id: str) -> str:
    return f"{NS}:ct:{ciphertext_id}"


def _key_index(key_id: str) -> str:
    return f"{NS}:key:{key_id}:cts"


def check_size(data: bytes) -> None:
    if len(data) > MAX_CIPHERTEXT_BYTES:
        raise WavisError("PAYLOAD_TOO_LARGE",
                         f"Ciphertexts are limited to {megabytes(MAX_CIPHERTEXT_BYTES)}.",
                         {"limit_bytes": MAX_CIPHERTEXT_BYTES})


@dataclass
class StoredCiphertext:
    ciphertext_id: str
    account_id: str
    key_id: str
    size: int
    expires_at: str
    level: int = 0
    budget_pct: float = 100.0
    data: bytes | None = None
    insecure_key: bool = False
    # How many leading slots carry values (decrypt's default length); 0: unknown, every slot.
    value_count: int = 0
    # Built from bytes a caller sent (uploaded, or computed from something uploaded): never
    # decrypted under a server-mode key (see wavis.fhe.ckks_decryption).
    uploaded: bool = False


class CiphertextStore:
    def __init__(self, redis: aioredis.Redis, budget_bytes: int, ttl_seconds: int) -> None:
        self.redis = redis  # bytes in, bytes out (decode_responses=False)
        self.budget_bytes = budget_bytes
        self.ttl_seconds = ttl_seconds
        self._put = redis.register_script(_PUT)
        self._delete = redis.register_script(_DELETE)

    async def put(self, account_id: str, key_id: str, data: bytes, level: int,
                  budget_pct: float, insecure_key: bool = False, value_count: int = 0,
                  uploaded: bool = False) -> tuple[StoredCiphertext, list[str]]:
        check_size(data)
        ciphertext_id = new_id("ct")
        expires_at = rfc3339(time.time() + self.ttl_seconds)
        fields: list[Any] = ["account_id", account_id, "key_id", key_id, "size", len(data),
                             "expires_at", expires_at, "level", level, "budget", budget_pct,
                             "insecure", int(insecure_key), "count", value_count,
                             "uploaded", int(uploaded), "data", data]
        evicted = await self._put(
            keys=[_record(ciphertext_id), LRU, SIZES, TOTAL, _key_index(key_id)],
            args=[ciphertext_id, len(data), self.ttl_seconds, int(time.time() * 1000),
                  self.budget_bytes, *fields])
        stored = StoredCiphertext(ciphertext_id, account_id, key_id, len(data), expires_at,
                                  level, budget_pct, insecure_key=insecure_key,
                                  value_count=value_count, uploaded=uploaded)
        return stored, [e.decode() if isinstance(e, bytes) else e for e in evicted]

    async def get(self, account_id: str, ciphertext_id: str, with_data: bool = True,
                  ) -> StoredCiphertext:
        return (await self.get_many(account_id, [ciphertext_id], [with_data]))[0]

    async def get_many(self, account_id: str, ciphertext_ids: list[str],
                       with_data: list[bool]) -> list[StoredCiphertext]:
        """Several ciphertexts (each touched for LRU) in one round trip."""
        fields = ["account_id", "key_id", "size", "expires_at", "level", "budget", "insecure",
                  "count", "uploaded", "data"]  # data last: left out when not wanted
        now = int(time.time() * 1000)
        async with self.redis.pipeline(transaction=False) as pipe:
            for ciphertext_id, data in zip(ciphertext_ids, with_data, strict=True):
                pipe.hmget(_record(ciphertext_id), fields if data else fields[:-1])
                pipe.zadd(LRU, {ciphertext_id: now}, xx=True)
            replies = await pipe.execute()
        found = []
        for index, ciphertext_id in enumerate(ciphertext_ids):
            values = replies[2 * index]
            if values[0] is None or values[0].decode() != account_id:
                raise WavisError("CIPHERTEXT_NOT_FOUND",
                                 f"No ciphertext {ciphertext_id!r} (it may have been evicted).",
                                 {"ciphertext_id": ciphertext_id})
            found.append(StoredCiphertext(
                ciphertext_id, account_id, values[1].decode(), int(values[2]),
                values[3].decode(), int(values[4]), float(values[5]),
                values[9] if with_data[index] else None,
                insecure_key=values[6] == b"1", value_count=int(values[7] or 0),
                uploaded=values[8] == b"1"))
        return found

    async def delete(self, account_id: str, ciphertext_id: str) -> None:
        owner, key = await self.redis.hmget(_record(ciphertext_id), ["account_id", "key_id"])
        if owner is None or _text(owner) != account_id:
            raise WavisError("CIPHERTEXT_NOT_FOUND", f"No ciphertext {ciphertext_id!r}.",
                             {"ciphertext_id": ciphertext_id})
        key_id = _text(key or b"")
        await self._delete(keys=[_record(ciphertext_id), LRU, SIZES, TOTAL, _key_index(key_id)],
                           args=[ciphertext_id])

    async def delete_key(self, key_id: str) -> int:
        """Remove every ciphertext under a deleted key."""
        members = await self.redis.smembers(_key_index(key_id))
        for member in members:
            ciphertext_id = _text(member)
            await self._delete(keys=[_record(ciphertext_id), LRU, SIZES, TOTAL,
                                     _key_index(key_id)], args=[ciphertext_id])
        return len(members)

    async def keys_in_use(self) -> dict[str, str]:
        """{key id: owning account} of every key that has ciphertexts stored."""
        owners: dict[str, str] = {}
        async for index in self.redis.scan_iter(match=f"{NS}:key:*:cts", count=500):
            key_id = _text(index)[len(f"{NS}:key:"):-len(":cts")]
            members = cast(list[bytes], await self.redis.srandmember(index, 3) or [])
            for member in members:
                owner = await self.redis.hget(_record(_text(member)), "account_id")
                if owner is not None:
                    owners[key_id] = _text(owner)
                    break
        return owners

    async def usage_pct(self) -> float:
        used = int(await self.redis.get(TOTAL) or 0)
        return round(100.0 * used / self.budget_bytes, 2)
