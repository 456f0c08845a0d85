"""An asynchronous operation's usage is settled even when its replica dies between writing
the operation's final state and settling: the lease is held until the settlement is done,
so another replica's reaper finds the ended operation and settles it (a completed operation
is billed, a failed one is not). Operations (services.ckks_compute.operations) on the real
Redis, two instances standing for two replicas."""

from __future__ import annotations

import asyncio
from typing import Any

import redis.asyncio as aioredis

from services.ckks_compute.operations import Operations
from wavis.core.ids import new_id
from wavis.devstack.stack import Stack

LEASE_SECONDS = 0.4
# A database of the mesh's Redis that no ckks-compute replica of the mesh reaps in (they would
# settle the test's operations themselves).
DATABASE = 9


async def _dies_after_ending(mesh: Stack, work_fails: bool) -> list[dict[str, Any]]:
    """The records the surviving replica's reaper hands over for settlement."""
    settled: list[dict[str, Any]] = []

    async def settle(record: dict[str, Any]) -> None:
        settled.append(record)

    assert mesh.redis is not None
    url = mesh.redis.url.rsplit("/", 1)[0] + f"/{DATABASE}"  # the URL names database 0
    redis = aioredis.Redis.from_url(url, decode_responses=True)
    try:
        dying = Operations(redis, 60, lease_seconds=LEASE_SECONDS)
        survivor = Operations(redis, 60, lease_seconds=LEASE_SECONDS, lost=settle)
        ended = asyncio.Event()

        async def work() -> dict[str, Any]:
            if work_fails:
                raise ValueError("the work failed")
            return {"value": 1}

        async def finished(record: dict[str, Any]) -> None:
            ended.set()
            await asyncio.Event().wait()  # the replica dies here, before settling

        op_id = new_id("op")
        await dying.submit(op_id, "acct_settlement", "add", "key_x", work, finished)
        await asyncio.wait_for(ended.wait(), 10)
        status = (await dying.get("acct_settlement", op_id))["status"]
        assert status == ("failed" if work_fails else "completed")
        dying.tasks[op_id].cancel()  # the process is gone: no renewal, no clean-up
        await asyncio.sleep(0.05)
        await asyncio.sleep(LEASE_SECONDS * 1.5)
        await survivor.reap()
        # The record the caller sees is unchanged by the reaper.
        assert (await survivor.get("acct_settlement", op_id))["status"] == status
    finally:
        await redis.flushdb()
        await redis.aclose()
    return [r for r in settled if r["op_id"] == op_id]


async def test_a_completed_operation_whose_replica_died_before_settling_is_settled(
        mesh: Stack) -> None:
    settled = await _dies_after_ending(mesh, work_fails=False)
    assert [r["status"] for r in settled] == ["completed"]
    assert settled[0]["result"] == {"value": 1}


async def test_a_failed_operation_whose_replica_died_before_settling_is_released(
        mesh: Stack) -> None:
    settled = await _dies_after_ending(mesh, work_fails=True)
    assert [r["status"] for r in settled] == ["failed"]
