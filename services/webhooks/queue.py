"""The durable event queue and the delivery schedule, in Redis (namespace wavis:webhooks:).

Publish appends to a Redis Stream (`events`); the fan-out reads it through a consumer group
and turns each event into one delivery per subscribed endpoint, scheduled in `due`; workers
claim due deliveries with a lease and settle each attempt. Each step is one Lua script. See
docs/decisions/0021-webhook-queue-on-a-redis-stream.md.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any, cast

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from services.webhooks.store import NS
from wavis.core.redis_pages import index_member, newest_first
from wavis.core.timefmt import rfc3339

STREAM = f"{NS}:events"
GROUP = "fanout"
DUE = f"{NS}:due"
DELIVERY_PREFIX = f"{NS}:delivery:"
DEDUP_SECONDS = 7 * 86_400

# KEYS: dedup marker, stream; ARGV: marker ttl, then field/value pairs of the entry.
_PUBLISH = """
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then return 0 end
redis.call('XADD', KEYS[2], '*', unpack(ARGV, 2))
return 1
"""

# KEYS: stream, due, account's delivery index; ARGV: group, entry id, due ms, oldest index
# member kept, n, then n times (record key, delivery id, index member, webhook id), then the
# event's field/value pairs shared by every delivery.
_FANOUT = """
local n = tonumber(ARGV[5])
local common = {}
for i = 6 + 4 * n, #ARGV do common[#common + 1] = ARGV[i] end
for i = 0, n - 1 do
  local b = 6 + 4 * i
  local key, id, member = ARGV[b], ARGV[b + 1], ARGV[b + 2]
  if redis.call('EXISTS', key) == 0 then
    redis.call('HSET', key, 'delivery_id', id, 'webhook_id', ARGV[b + 3],
               'index_member', member, 'status', 'pending', 'attempts', '0', unpack(common))
    redis.call('ZADD', KEYS[2], ARGV[3], id)
    redis.call('ZADD', KEYS[3], 0, member)
  end
end
redis.call('ZREMRANGEBYLEX', KEYS[3], '-', '(' .. ARGV[4])
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
return n
"""

# KEYS: due; ARGV: now ms, lease ms, max, record key prefix, now (RFC 3339).
# Returns id, attempts, id, attempts, ... of the claimed deliveries.
_CLAIM = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for _, id in ipairs(ids) do
  local key = ARGV[4] .. id
  if redis.call('EXISTS', key) == 1 then
    redis.call('ZADD', KEYS[1], tonumber(ARGV[1]) + tonumber(ARGV[2]), id)
    local attempts = redis.call('HINCRBY', key, 'attempts', 1)
    redis.call('HSET', key, 'last_attempt_at', ARGV[5], 'next_attempt_at', '')
    out[#out + 1] = id
    out[#out + 1] = tostring(attempts)
  else
    redis.call('ZREM', KEYS[1], id)
  end
end
return out
"""

# KEYS: record, due; ARGV: id, attempts when claimed, next due ms ('' = done), ttl seconds
# (0 = none), then field/value pairs. A claim that lost its lease to another attempt changes
# nothing (returns 0).
_SETTLE = """
if redis.call('HGET', KEYS[1], 'attempts') ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 5))
if ARGV[3] == '' then
  redis.call('ZREM', KEYS[2], ARGV[1])
else
  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
end
if tonumber(ARGV[4]) > 0 then redis.call('EXPIRE', KEYS[1], ARGV[4]) end
return 1
"""


def deliveries_index(account_id: str) -> str:
    return f"{NS}:account:{account_id}:deliveries"


def delivery_id(event_id: str, webhook_id: str) -> str:
    return "dlv_" + hashlib.sha256(f"{event_id}/{webhook_id}".encode()).hexdigest()[:24]


def _pairs(fields: dict[str, str]) -> list[str]:
    out: list[str] = []
    for name, value in fields.items():
        out += [name, value]
    return out


class EventQueue:
    def __init__(self, redis: aioredis.Redis, history_seconds: int) -> None:
        self.redis = redis
        self.history_seconds = history_seconds
        self._publish = redis.register_script(_PUBLISH)
        self._fanout = redis.register_script(_FANOUT)
        self._claim = redis.register_script(_CLAIM)
        self._settle = redis.register_script(_SETTLE)

    # Intake ---------------------------------------------------------------------------------

    async def publish(self, account_id: str, event_type: str, data_json: str,
                      event_id: str) -> bool:
        """Append the event; False when this event id was already published."""
        now = time.time()
        entry = {"event_id": event_id, "account_id": account_id, "type": event_type,
                 "data_json": data_json, "created_at": rfc3339(now),
                 "created_ms": str(int(now * 1000))}
        done = await self._publish(keys=[f"{NS}:published:{event_id}", STREAM],
                                   args=[DEDUP_SECONDS, *_pairs(entry)])
        return bool(done)

    async def ensure_group(self) -> None:
        try:
            await self.redis.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def read(self, reader: aioredis.Redis, consumer: str, count: int,
                   block_ms: int | None) -> list[tuple[str, dict[str, str] | None]]:
        """New entries for this consumer (blocking up to block_ms; None: not at all)."""
        reply = cast(list[Any], await reader.xreadgroup(GROUP, consumer, {STREAM: ">"},
                                                        count=count, block=block_ms))
        return [(entry_id, fields) for _, entries in reply or [] for entry_id, fields in entries]

    async def reclaim(self, consumer: str, min_idle_ms: int, count: int,
                      ) -> list[tuple[str, dict[str, str] | None]]:
        """Entries another consumer read but never settled (it died): take them over."""
        reply = await self.redis.xautoclaim(STREAM, GROUP, consumer, min_idle_ms, "0-0",
                                            count=count)
        return [(entry_id, fields or None) for entry_id, fields in reply[1]]

    async def fan_out(self, entry_id: str, event: dict[str, str] | None,
                      webhook_ids: list[str]) -> None:
        """Create one delivery per endpoint and settle the stream entry, atomically."""
        event = event or {}
        account_id = event.get("account_id", "")
        created_ms = int(event.get("created_ms") or time.time() * 1000)
        now_ms = int(time.time() * 1000)
        oldest = index_member(now_ms - self.history_seconds * 1000, "")
        args: list[Any] = [GROUP, entry_id, now_ms, oldest, len(webhook_ids)]
        for webhook_id in webhook_ids:
            did = delivery_id(event["event_id"], webhook_id)
            args += [DELIVERY_PREFIX + did, did, index_member(created_ms, did), webhook_id]
        args += _pairs({"event_id": event.get("event_id", ""), "account_id": account_id,
                        "type": event.get("type", ""), "data_json": event.get("data_json", ""),
                        "created_at": event.get("created_at", ""),
                        "created_ms": str(created_ms), "last_status_code": "0",
                        "last_error": "", "last_attempt_at": "", "next_attempt_at": "",
                        "delivered_at": ""})
        await self._fanout(keys=[STREAM, DUE, deliveries_index(account_id)], args=args)

    # Deliveries -------------------------------------------------------------------------------

    async def claim(self, limit: int, lease_seconds: float) -> list[tuple[str, int]]:
        now = time.time()
        raw = await self._claim(keys=[DUE], args=[int(now * 1000), int(lease_seconds * 1000),
                                                  limit, DELIVERY_PREFIX, rfc3339(now)])
        return [(str(raw[i]), int(raw[i + 1])) for i in range(0, len(raw), 2)]

    async def next_due_in(self) -> float | None:
        """Seconds until the earliest scheduled attempt (None: nothing queued)."""
        first = cast(list[tuple[str, float]], await self.redis.zrange(DUE, 0, 0, withscores=True))
        if not first:
            return None
        return max(0.0, float(first[0][1]) / 1000 - time.time())

    async def queued(self) -> int:
        return int(await self.redis.zcard(DUE))

    async def get(self, did: str) -> dict[str, str] | None:
        raw = cast(dict[str, str], await self.redis.hgetall(DELIVERY_PREFIX + did))
        return raw or None

    async def settle(self, did: str, attempts: int, fields: dict[str, str],
                     retry_at: float | None) -> bool:
        """Record an attempt's outcome: retry at `retry_at`, or finished when None."""
        next_ms = "" if retry_at is None else str(int(retry_at * 1000))
        ttl = 0 if retry_at is not None else self.history_seconds
        return bool(await self._settle(keys=[DELIVERY_PREFIX + did, DUE],
                                       args=[did, attempts, next_ms, ttl, *_pairs(fields)]))

    async def history(self, account_id: str, limit: int, cursor: str) -> tuple[
            list[dict[str, str]], bool, str]:
        page = await newest_first(self.redis, deliveries_index(account_id), limit, cursor)
        async with self.redis.pipeline(transaction=False) as pipe:
            for did in page.ids:
                pipe.hgetall(DELIVERY_PREFIX + did)
            raws = await pipe.execute()
        return [raw for raw in raws if raw], page.has_more, page.next_cursor


def event_data(record: dict[str, str]) -> dict[str, Any]:
    value = json.loads(record.get("data_json") or "{}")
    return value if isinstance(value, dict) else {}
