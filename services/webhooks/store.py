"""Webhook endpoints in Redis (namespace wavis:webhooks:): records, per-account index,
secrets sealed at rest (AES-256-GCM, bound to the endpoint id), failure tracking."""

from __future__ import annotations

import base64
import json
import time
from typing import Any, cast

import redis.asyncio as aioredis

from wavis.core.errors import WavisError
from wavis.core.ids import new_id
from wavis.core.redis_pages import index_member, member_id, newest_first
from wavis.core.sealing import Sealer
from wavis.core.timefmt import rfc3339

NS = "wavis:webhooks"


def endpoint_key(webhook_id: str) -> str:
    return f"{NS}:endpoint:{webhook_id}"


def endpoints_index(account_id: str) -> str:
    return f"{NS}:account:{account_id}:endpoints"


# KEYS: record, index; ARGV: max endpoints, index member, then field/value pairs.
# Creates the endpoint unless the account already has the maximum (returns 0).
_CREATE = """
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('ZADD', KEYS[2], 0, ARGV[2])
return 1
"""

# KEYS: record; ARGV: field/value pairs. Sets them only if the record exists.
_HSET_IF_EXISTS = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
"""

# KEYS: record; ARGV: now. Marks a failed attempt; returns failing_since, enabled.
_MARK_FAILING = """
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
redis.call('HSETNX', KEYS[1], 'failing_since', ARGV[1])
local since = redis.call('HGET', KEYS[1], 'failing_since')
if since == '' then
  redis.call('HSET', KEYS[1], 'failing_since', ARGV[1])
  since = ARGV[1]
end
return {since, redis.call('HGET', KEYS[1], 'enabled')}
"""


def decode(raw: dict[str, str]) -> dict[str, Any]:
    record: dict[str, Any] = dict(raw)
    record["events"] = json.loads(raw.get("events") or "[]")
    record["enabled"] = raw.get("enabled") == "1"
    record["failing_since"] = float(raw["failing_since"]) if raw.get("failing_since") else None
    return record


class EndpointStore:
    def __init__(self, redis: aioredis.Redis, sealer: Sealer, max_endpoints: int) -> None:
        self.redis = redis
        self.sealer = sealer
        self.max_endpoints = max_endpoints
        self._create = redis.register_script(_CREATE)
        self._mark_failing = redis.register_script(_MARK_FAILING)
        self._hset_if_exists = redis.register_script(_HSET_IF_EXISTS)

    def _seal(self, secret: str, webhook_id: str) -> str:
        return base64.b64encode(self.sealer.seal(secret.encode(), webhook_id)).decode()

    def secret(self, record: dict[str, Any]) -> str:
        return self.sealer.open(base64.b64decode(record["secret_sealed"]),
                                record["webhook_id"]).decode()

    async def create(self, account_id: str, url: str, events: list[str],
                     secret: str) -> dict[str, Any]:
        now = time.time()
        webhook_id = new_id("wh")
        member = index_member(int(now * 1000), webhook_id)
        fields = {"webhook_id": webhook_id, "account_id": account_id, "url": url,
                  "events": json.dumps(events), "enabled": "1", "disabled_reason": "",
                  "created_at": rfc3339(now), "updated_at": rfc3339(now),
                  "index_member": member, "failing_since": "",
                  "secret_sealed": self._seal(secret, webhook_id)}
        args: list[str] = [str(self.max_endpoints), member]
        for name, value in fields.items():
            args += [name, value]
        created = await self._create(keys=[endpoint_key(webhook_id),
                                           endpoints_index(account_id)], args=args)
        if not created:
            raise WavisError("VALIDATION_ERROR", f"An account has at most {self.max_endpoints}"
                             " webhook endpoints; delete one first.",
                             {"max_endpoints": self.max_endpoints})
        return decode(fields)

    async def find(self, webhook_id: str) -> dict[str, Any] | None:
        raw = cast(dict[str, str], await self.redis.hgetall(endpoint_key(webhook_id)))
        return decode(raw) if raw else None

    async def get(self, account_id: str, webhook_id: str) -> dict[str, Any]:
        record = await self.find(webhook_id) if webhook_id.startswith("wh_") else None
        if record is None or record["account_id"] != account_id:
            raise WavisError("WEBHOOK_NOT_FOUND", f"No webhook endpoint {webhook_id!r}.")
        return record

    async def update(self, record: dict[str, Any], fields: dict[str, str]) -> dict[str, Any]:
        fields = fields | {"updated_at": rfc3339(time.time())}
        if not await self._hset_existing(record["webhook_id"], fields):
            raise WavisError("WEBHOOK_NOT_FOUND", f"No webhook endpoint {record['webhook_id']!r}.")
        fresh = await self.find(record["webhook_id"])
        if fresh is None:
            raise WavisError("WEBHOOK_NOT_FOUND", f"No webhook endpoint {record['webhook_id']!r}.")
        return fresh

    async def _hset_existing(self, webhook_id: str, fields: dict[str, str]) -> bool:
        """Set fields only on a record that exists: a deleted endpoint is never brought back
        as a partial record."""
        args: list[str] = []
        for name, value in fields.items():
            args += [name, value]
        return bool(await self._hset_if_exists(keys=[endpoint_key(webhook_id)], args=args))

    async def set_secret(self, record: dict[str, Any], secret: str) -> dict[str, Any]:
        return await self.update(record, {
            "secret_sealed": self._seal(secret, record["webhook_id"])})

    async def page(self, account_id: str, limit: int, cursor: str) -> tuple[
            list[dict[str, Any]], bool, str]:
        page = await newest_first(self.redis, endpoints_index(account_id), limit, cursor)
        records = await self._many(page.ids)
        return records, page.has_more, page.next_cursor

    async def all_for(self, account_id: str) -> list[dict[str, Any]]:
        members = cast(list[str], await self.redis.zrange(endpoints_index(account_id), 0, -1))
        return await self._many([member_id(m) for m in members])

    async def _many(self, ids: list[str]) -> list[dict[str, Any]]:
        async with self.redis.pipeline(transaction=False) as pipe:
            for webhook_id in ids:
                pipe.hgetall(endpoint_key(webhook_id))
            raws = await pipe.execute()
        return [decode(raw) for raw in raws if raw]

    async def delete(self, record: dict[str, Any]) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(endpoint_key(record["webhook_id"]))
            pipe.zrem(endpoints_index(record["account_id"]), record["index_member"])
            await pipe.execute()

    # Failure tracking ----------------------------------------------------------------------

    async def mark_success(self, webhook_id: str) -> None:
        if await self.redis.hget(endpoint_key(webhook_id), "failing_since"):
            await self._hset_existing(webhook_id, {"failing_since": ""})

    async def mark_failure(self, webhook_id: str, disable_after: float, error: str) -> bool:
        """Record a failed attempt; disable the endpoint (returns True) once it has failed
        for `disable_after` seconds without a success."""
        now = time.time()
        state = await self._mark_failing(keys=[endpoint_key(webhook_id)], args=[repr(now)])
        if not state:
            return False
        since, enabled = float(state[0]), state[1]
        if enabled != "1" or now - since < disable_after:
            return False
        reason = (f"Deliveries failed for {_duration(now - since)} without a success "
                  f"(since {rfc3339(since)}); last error: {error}. PATCH enabled=true to "
                  "enable it again.")
        return await self._hset_existing(webhook_id, {
            "enabled": "0", "disabled_reason": reason, "updated_at": rfc3339(now)})


def _duration(seconds: float) -> str:
    if seconds >= 86_400:
        return f"{seconds / 86_400:.1f} days"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} hours"
    return f"{seconds:.0f} seconds"
