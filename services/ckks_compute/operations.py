"""Asynchronous operations: their status in Redis (wavis:ckks:op:*), their tasks here.

Each operation is queued for one of `slots` places (pending), then runs (running). The
replica that accepted it holds a lease on it (zset wavis:ckks:op:leases, op id -> lease
end), renewed while its task lives; any replica fails an operation whose lease lapsed with
WORKER_LOST, so one whose replica died never hangs (docs/decisions/0066-operation-leases.md).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, cast

import redis.asyncio as aioredis

from wavis.core.errors import ERROR_CODES, WavisError
from wavis.core.failures import public_error

log = logging.getLogger(__name__)
NS = "wavis:ckks:op"
LEASES = f"{NS}:leases"
TERMINAL = ("completed", "cancelled", "failed")
LOST_MESSAGE = ERROR_CODES["WORKER_LOST"].message
_REAP_BATCH = 100

# KEYS: op record, leases. ARGV: op id, record JSON, ttl, lease end.
# Returns 1 when the op id was free (record written, lease taken), 0 when it is in use.
_SUBMIT = """
if redis.call('SET', KEYS[1], ARGV[2], 'NX', 'EX', tonumber(ARGV[3])) then
  redis.call('ZADD', KEYS[2], tonumber(ARGV[4]), ARGV[1])
  return 1
end
return 0
"""

# KEYS: op record, leases. ARGV: op id, now, WORKER_LOST message.
# A lapsed lease: the op fails with WORKER_LOST if it had not ended; its record, as it is now,
# is returned either way (an op that ended but whose replica died before settling it is
# settled by the caller), and the lease goes. Returns '' when the lease was renewed since.
_REAP = """
local lease = redis.call('ZSCORE', KEYS[2], ARGV[1])
if not lease or tonumber(lease) > tonumber(ARGV[2]) then return '' end
redis.call('ZREM', KEYS[2], ARGV[1])
local raw = redis.call('GET', KEYS[1])
if not raw then return '' end
local record = cjson.decode(raw)
if record['status'] == 'pending' or record['status'] == 'running' then
  record['status'] = 'failed'
  record['error_code'] = 'WORKER_LOST'
  record['error_message'] = ARGV[3]
  local ttl = redis.call('TTL', KEYS[1])
  redis.call('SET', KEYS[1], cjson.encode(record), 'EX', math.max(ttl, 1))
  return cjson.encode(record)
end
return raw
"""


def _key(op_id: str) -> str:
    return f"{NS}:{op_id}"


class Operations:
    def __init__(self, redis: aioredis.Redis, ttl_seconds: int, *, lease_seconds: float = 10.0,
                 slots: int = 2,
                 lost: Callable[[dict[str, Any]], Awaitable[None]] | None = None) -> None:
        """`lost` is called (on whichever replica noticed) for each operation whose lease
        lapsed before it was settled: failed with WORKER_LOST if it had not ended, else as it
        ended (completed, failed or cancelled) but unsettled."""
        self.redis = redis  # text client
        self.ttl_seconds = ttl_seconds
        self.lease_seconds = lease_seconds
        self.lost = lost
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self._slots = asyncio.Semaphore(slots)
        self._submit = redis.register_script(_SUBMIT)
        self._reap = redis.register_script(_REAP)
        self._interruptible: set[str] = set()  # running ops that a cancel stops

    async def _write(self, op_id: str, record: dict[str, Any]) -> None:
        await self.redis.set(_key(op_id), json.dumps(record), ex=self.ttl_seconds)

    async def _end(self, op_id: str, record: dict[str, Any],
                   finished: Callable[[dict[str, Any]], Awaitable[None]]) -> None:
        """Write a final state, settle it (`finished`), then give the lease up: a replica
        that dies in between leaves a lease that lapses, and the reaper settles the op."""
        await self._write(op_id, record)
        await finished(record)
        await self.redis.zrem(LEASES, op_id)

    async def get(self, account_id: str, op_id: str) -> dict[str, Any]:
        raw = await self.redis.get(_key(op_id))
        record = json.loads(raw) if raw else None
        if record is None or record["account_id"] != account_id:
            raise WavisError("OPERATION_NOT_FOUND", f"No operation {op_id!r}.")
        return dict(record)

    async def submit(self, op_id: str, account_id: str, operation: str, key_id: str,
                     work: Callable[[], Awaitable[dict[str, Any]]],
                     finished: Callable[[dict[str, Any]], Awaitable[None]], *,
                     interruptible: bool = False,
                     discard: Callable[[dict[str, Any]], Awaitable[None]] | None = None,
                     ) -> dict[str, Any]:
        """Queue `work`. An `interruptible` operation is stopped by a cancel while it runs
        (a program stops between steps); others finish and their result is dropped, with
        `discard` (for instance to delete what it stored)."""
        record = {"op_id": op_id, "account_id": account_id, "operation": operation,
                  "key_id": key_id, "status": "pending"}
        if not await self._submit(keys=[_key(op_id), LEASES], args=[
                op_id, json.dumps(record), self.ttl_seconds, time.time() + self.lease_seconds]):
            raise WavisError("VALIDATION_ERROR", f"Operation id {op_id} is already in use.")
        task = asyncio.get_running_loop().create_task(self._run(record, work, finished,
                                                                discard))
        self.tasks[op_id] = task
        if interruptible:
            self._interruptible.add(op_id)

        def done(_: asyncio.Task[None]) -> None:
            self.tasks.pop(op_id, None)
            self._interruptible.discard(op_id)

        task.add_done_callback(done)
        return record

    async def _run(self, record: dict[str, Any], work: Callable[[], Awaitable[dict[str, Any]]],
                   finished: Callable[[dict[str, Any]], Awaitable[None]],
                   discard: Callable[[dict[str, Any]], Awaitable[None]] | None) -> None:
        op_id = record["op_id"]
        try:
            async with self._slots:
                current = await self.get(record["account_id"], op_id)
                if current["status"] != "pending":  # cancelled or lost while queued
                    return
                await self._write(op_id, record | {"status": "running"})
                result = await work()
            current = await self.get(record["account_id"], op_id)
            if current["status"] == "cancelled":  # cancelled while running: result dropped
                if discard is not None:
                    await discard(result)
                await self._end(op_id, current, finished)
                return
            if current["status"] == "failed":  # declared lost meanwhile: already settled
                return
            record = record | {"status": "completed", "result": result}
        except asyncio.CancelledError:
            await self._end(op_id, record | {"status": "cancelled"}, finished)
            raise
        except Exception as exc:
            error = public_error(exc)
            if error is None:
                log.exception("operation %s failed", op_id)
                error = WavisError("INTERNAL_ERROR", "The operation failed on our side.")
            record = record | {"status": "failed", "error_code": error.code,
                               "error_message": error.message}
        await self._end(op_id, record, finished)

    async def cancel(self, account_id: str, op_id: str) -> str:
        record = await self.get(account_id, op_id)
        if record["status"] in TERMINAL:
            return str(record["status"])
        await self._write(op_id, record | {"status": "cancelled"})
        task = self.tasks.get(op_id)
        if task is not None and (record["status"] == "pending"
                                 or op_id in self._interruptible):
            task.cancel()
        return "cancelled"

    # Leases -------------------------------------------------------------------------------

    async def keep_leases(self) -> None:
        """Renew the leases of this replica's operations and fail the lapsed ones of any
        replica, until cancelled (a task of the service's lifespan)."""
        interval = self.lease_seconds / 3
        while True:
            try:
                await self.renew()
                await self.reap()
            except Exception:  # Redis away for a moment: try again next round
                log.warning("operation leases: round failed", exc_info=True)
            await asyncio.sleep(interval)

    async def renew(self) -> None:
        if self.tasks:
            until = time.time() + self.lease_seconds
            # XX: an operation that ended (lease given up) gets no new one.
            await self.redis.zadd(LEASES, {op_id: until for op_id in list(self.tasks)}, xx=True)

    async def reap(self) -> int:
        """Fail every operation whose lease lapsed before it ended, and hand every one whose
        lease lapsed to `lost` for settlement; returns how many."""
        now = time.time()
        lapsed = cast(list[str], await self.redis.zrangebyscore(LEASES, "-inf", now, start=0,
                                                                num=_REAP_BATCH))
        count = 0
        for op_id in lapsed:
            if op_id in self.tasks:  # ours and alive: renewal was late, not lost
                continue
            raw = await self._reap(keys=[_key(op_id), LEASES], args=[op_id, now, LOST_MESSAGE])
            if not raw:
                continue
            count += 1
            log.warning("operation %s lost its replica", op_id)
            if self.lost is not None:
                try:
                    await self.lost(json.loads(raw))
                except Exception:  # its reservation expires by itself; the state is written
                    log.exception("operation %s: settling the lost operation failed", op_id)
        return count
