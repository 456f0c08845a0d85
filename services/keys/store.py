"""FHE key records in Redis (namespace wavis:keys:), with per-account limits and blob
reference counts (identical bytes are stored once and removed with their last key)."""

from __future__ import annotations

import json
import time
from typing import Any, cast

import redis.asyncio as aioredis

from wavis.core.errors import WavisError
from wavis.core.ids import new_id
from wavis.core.redis_pages import index_member, newest_first
from wavis.core.timefmt import rfc3339

NS = "wavis:keys"
DELETIONS_CHANNEL = f"{NS}:deletions"

# KEYS: key count, byte total; ARGV: max keys, max bytes (0 = none), keys to add, bytes to
# add. Adds both, or neither when a limit would be passed (returns 0).
_RESERVE = """
local keys = tonumber(redis.call('GET', KEYS[1]) or '0')
local bytes = tonumber(redis.call('GET', KEYS[2]) or '0')
local max_keys, max_bytes = tonumber(ARGV[1]), tonumber(ARGV[2])
local add_keys, add_bytes = tonumber(ARGV[3]), tonumber(ARGV[4])
if max_keys > 0 and add_keys > 0 and keys + add_keys > max_keys then return 0 end
if max_bytes > 0 and add_bytes > 0 and bytes + add_bytes > max_bytes then return 0 end
redis.call('INCRBY', KEYS[1], add_keys)
redis.call('INCRBY', KEYS[2], add_bytes)
return 1
"""

# KEYS: record; ARGV: field/value pairs. Sets them only on a record that exists (a key
# deleted while it was generated stays deleted); returns 1 when set.
_UPDATE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
"""

# KEYS: record, account index, key count, byte total; ARGV: index member. Removes the record
# and gives back the count and the bytes it holds at that moment; returns the record's
# fields as they were (empty when another request removed it first).
_DELETE = """
local raw = redis.call('HGETALL', KEYS[1])
if #raw == 0 then return raw end
local size = tonumber(redis.call('HGET', KEYS[1], 'size_bytes') or '0')
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('DECRBY', KEYS[3], 1)
redis.call('DECRBY', KEYS[4], size)
return raw
"""

_JSON_FIELDS = ("params", "rotations", "components", "level_budget")
_INT_FIELDS = ("slot_count", "max_level", "n", "big_n", "size_bytes", "security_bits")


def _record_key(key_id: str) -> str:
    return f"{NS}:key:{key_id}"


def _index(account_id: str) -> str:
    return f"{NS}:account:{account_id}:keys"


def _usage(account_id: str) -> list[str]:
    return [f"{NS}:account:{account_id}:key_count", f"{NS}:account:{account_id}:key_bytes"]


def _blob_refs(sha256: str) -> str:
    return f"{NS}:blobref:{sha256}"


def decode(raw: dict[str, str]) -> dict[str, Any]:
    record: dict[str, Any] = dict(raw)
    for name in _JSON_FIELDS:
        record[name] = json.loads(raw.get(name) or "null")
    for name in _INT_FIELDS:
        record[name] = int(raw.get(name) or 0)
    record["bootstrappable"] = raw.get("bootstrappable") == "1"
    return record


class KeyStore:
    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis
        self._reserve = redis.register_script(_RESERVE)
        self._update = redis.register_script(_UPDATE)
        self._delete = redis.register_script(_DELETE)

    async def reserve(self, account_id: str, max_keys: int, max_bytes: int, keys: int,
                      size: int) -> None:
        ok = await self._reserve(keys=_usage(account_id), args=[max_keys, max_bytes, keys, size])
        if not ok:
            raise WavisError("QUOTA_EXHAUSTED", "The plan's limit on FHE keys (count or total "
                             "bytes) is reached; delete keys or change plan.",
                             {"max_keys": max_keys, "max_key_bytes": max_bytes})

    async def release(self, account_id: str, keys: int, size: int) -> None:
        count_key, bytes_key = _usage(account_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.decrby(count_key, keys)
            pipe.decrby(bytes_key, size)
            await pipe.execute()

    async def create(self, account_id: str, fields: dict[str, Any], *,
                     key_id: str | None = None) -> dict[str, Any]:
        now = time.time()
        key_id = key_id or new_id("key")
        record = {"key_id": key_id, "account_id": account_id, "created_at": rfc3339(now),
                  "index_member": index_member(int(now * 1000), key_id), **fields}
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(_record_key(key_id), mapping=cast(Any, _encode(record)))
            pipe.zadd(_index(account_id), {record["index_member"]: 0})
            await pipe.execute()
        return decode(_encode(record))

    async def update(self, key_id: str, fields: dict[str, Any]) -> bool:
        """Set fields of an existing record; False when the key was deleted meanwhile."""
        pairs = [item for pair in _encode(fields).items() for item in pair]
        return bool(await self._update(keys=[_record_key(key_id)], args=pairs))

    async def add_blob_refs(self, components: dict[str, dict[str, Any]]) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            for component in components.values():
                pipe.incr(_blob_refs(component["sha256"]))
            await pipe.execute()

    async def drop_blob_refs(self, components: dict[str, dict[str, Any]]) -> list[str]:
        """Decrement each blob's references; return the blobs no key uses any more."""
        unused = []
        for component in components.values():
            if await self.redis.decr(_blob_refs(component["sha256"])) <= 0:
                await self.redis.delete(_blob_refs(component["sha256"]))
                unused.append(component["sha256"])
        return unused

    async def get(self, account_id: str | None, key_id: str) -> dict[str, Any]:
        raw = cast(dict[str, str], await self.redis.hgetall(_record_key(key_id)))
        if not raw or (account_id and raw["account_id"] != account_id):
            raise WavisError("KEY_NOT_FOUND", f"No key {key_id!r}.")
        return decode(raw)

    async def list(self, account_id: str, limit: int, cursor: str) -> tuple[
            list[dict[str, Any]], bool, str]:
        page = await newest_first(self.redis, _index(account_id), limit, cursor)
        async with self.redis.pipeline(transaction=False) as pipe:
            for key_id in page.ids:
                pipe.hgetall(_record_key(key_id))
            raws = await pipe.execute()
        return [decode(raw) for raw in raws if raw], page.has_more, page.next_cursor

    async def delete(self, record: dict[str, Any]) -> dict[str, Any] | None:
        """Remove the record, giving back what it holds at that moment (its count and bytes);
        the record as it was deleted, None if another request removed it first."""
        account_id = record["account_id"]
        raw = await self._delete(keys=[_record_key(record["key_id"]), _index(account_id),
                                       *_usage(account_id)], args=[record["index_member"]])
        if not raw:
            return None
        await self.redis.publish(DELETIONS_CHANNEL, json.dumps(
            {"key_id": record["key_id"], "account_id": account_id}))
        return decode(dict(zip(raw[::2], raw[1::2], strict=True)))


def _encode(fields: dict[str, Any]) -> dict[str, str]:
    encoded = {}
    for name, value in fields.items():
        if name in _JSON_FIELDS:
            encoded[name] = json.dumps(value)
        elif isinstance(value, bool):
            encoded[name] = "1" if value else "0"
        else:
            encoded[name] = str(value)
    return encoded
