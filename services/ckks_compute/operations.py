"""Asynchronous operations: their status in Redis (wavis:ckks:op:*), their tasks here."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio as aioredis

from wavis.core.errors import WavisError

log = logging.getLogger(__name__)
NS = "wavis:ckks:op"
TERMINAL = ("completed", "cancelled", "failed")


class Operations:
    def __init__(self, redis: aioredis.Redis, ttl_seconds: int) -> None:
        self.redis = redis  # text client
        self.ttl_seconds = ttl_seconds
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self._interruptible: set[str] = set()  # running ops that a cancel stops

    async def _write(self, op_id: str, record: dict[str, Any]) -> None:
        await self.redis.set(f"{NS}:{op_id}", json.dumps(record), ex=self.ttl_seconds)

    async def get(self, account_id: str, op_id: str) -> dict[str, Any]:
        raw = await self.redis.get(f"{NS}:{op_id}")
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
        if not await self.redis.set(f"{NS}:{op_id}", json.dumps(record), ex=self.ttl_seconds,
                                    nx=True):
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
            await self._write(op_id, record | {"status": "running"})
            result = await work()
            current = await self.get(record["account_id"], op_id)
            if current["status"] == "cancelled":  # cancelled while running: result dropped
                if discard is not None:
                    await discard(result)
                await finished(current)
                return
            record = record | {"status": "completed", "result": result}
        except asyncio.CancelledError:
            record = record | {"status": "cancelled"}
            await self._write(op_id, record)
            await finished(record)
            raise
        except WavisError as error:
            record = record | {"status": "failed", "error_code": error.code,
                               "error_message": error.message}
        except Exception:
            log.exception("operation %s failed", op_id)
            record = record | {"status": "failed", "error_code": "INTERNAL_ERROR",
                               "error_message": "The operation failed on our side."}
        await self._write(op_id, record)
        await finished(record)

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
