"""Asynchronous CKKS programs: 202 then GET /compute/{op_id}, the compute_complete webhook
delivered to a real receiver, and a cancel that stops a running program with nothing billed
or stored. On a stack of this module's own, which may deliver webhooks to loopback."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import aiohttp
import numpy as np
import pytest
from conftest import fetch_openapi

from support.ckks_account import SLOTS, CkksAccount, ckks_account
from support.http import Api
from support.logs import read_logs
from support.receiver import Receiver, running_receiver
from wavis.devstack.stack import Stack

rng = np.random.default_rng(5)


@pytest.fixture(scope="module")
def hooks(make_stack: Callable[..., Stack]) -> Iterator[Stack]:
    stack = make_stack(env={"WAVIS_WEBHOOK_ALLOW_PRIVATE": "true"})
    yield stack
    stack.stop()


@pytest.fixture(scope="module")
def hooks_openapi(hooks: Stack) -> dict[str, Any]:
    return fetch_openapi(hooks)


@pytest.fixture
async def hapi(hooks: Stack, hooks_openapi: dict[str, Any]) -> AsyncIterator[Api]:
    async with aiohttp.ClientSession() as session:
        yield Api(session, hooks.gateway_url, hooks_openapi)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with running_receiver() as running:
        yield running


async def _poll(account: CkksAccount, op_id: str, until: tuple[str, ...]) -> Any:
    for _ in range(400):
        reply = await account.api.get(f"/api/v1/compute/{op_id}",
                                      headers=account.tenant.auth())
        assert reply.status == 200, reply.text
        if reply.json["status"] in until:
            return reply
        await asyncio.sleep(0.05)
    raise AssertionError(reply.json)


async def test_an_asynchronous_program_completes_and_is_announced(
        hapi: Api, hooks: Stack, receiver: Receiver) -> None:
    account = await ckks_account(hapi, hooks)
    hook = await hapi.post("/api/v1/webhooks", headers=account.tenant.auth(), json={
        "url": receiver.endpoint(), "events": ["compute_complete"]})
    assert hook.status == 201, hook.text
    x = rng.uniform(-1, 1, SLOTS)
    inputs = {"x": await account.encrypt(x)}
    queued = await account.program(inputs, [
        {"op": "multiply", "args": ["x", "x"], "scale_stable": True},
        {"op": "rotate", "args": ["$0"], "rotation_steps": 1},
        {"op": "add", "args": ["$0", "$1"]}], outputs=["$0", "$2"], **{"async": True})
    assert queued.status == 202, queued.text
    op_id = queued.json["op_id"]
    assert queued.headers["Location"] == f"/api/v1/compute/{op_id}"
    done = await _poll(account, op_id, ("completed", "failed"))
    body = done.json
    assert (body["status"], body["operation"], body["steps_evaluated"]) == (
        "completed", "program", 3)
    assert body["cost_units"] == 11 and [o["ref"] for o in body["outputs"]] == ["$0", "$2"]
    assert done.headers["X-Noise-Budget-Remaining"] == "66.67"
    ids = [o["result_ciphertext_id"] for o in body["outputs"]]
    squared = x * x
    await account.check(ids[1], squared + np.roll(squared, -1))
    (delivered,) = await receiver.wait_for(1)
    event = json.loads(delivered.body)
    assert event["type"] == "compute_complete"
    assert event["data"] == {"op_id": op_id, "operation": "program",
                             "key_id": account.key["key_id"], "result_ciphertext_id": ids[0],
                             "result_ciphertext_ids": ids, "cost_units": 11,
                             "cost_usd": pytest.approx(11 * 0.000002)}
    for _ in range(40):  # recorded as the program completed
        if await account.fcu_used() == 11:
            break
        await asyncio.sleep(0.05)
    assert await account.fcu_used() == 11
    # A single asynchronous operation's event carries its cost too.
    single = await hapi.post("/api/v1/compute/negate", headers=account.tenant.auth(), json={
        "key_id": account.key["key_id"], "ciphertext_ids": [ids[0]], "async": True})
    assert single.status == 202, single.text
    second = json.loads((await receiver.wait_for(2))[1].body)
    assert second["data"]["operation"] == "negate" and second["data"]["cost_units"] == 1


async def test_a_cancel_stops_a_running_program(hapi: Api, hooks: Stack) -> None:
    account = await ckks_account(hapi, hooks)
    inputs = {"x": await account.encrypt(rng.uniform(-1, 1, SLOTS))}
    # 1,000 chained rotations: seconds of work at N=2048.
    steps = [{"op": "rotate", "args": ["x"], "rotation_steps": 1}] + [
        {"op": "rotate", "args": [f"${k}"], "rotation_steps": 1} for k in range(999)]
    queued = await account.program(inputs, steps, **{"async": True})
    assert queued.status == 202, queued.text
    op_id = queued.json["op_id"]
    await _poll(account, op_id, ("running",))
    cancelled = await hapi.request("DELETE", f"/api/v1/compute/{op_id}",
                                   headers=account.tenant.auth())
    assert cancelled.status == 200 and cancelled.json["status"] == "cancelled", cancelled.text
    final = await _poll(account, op_id, ("cancelled", "completed", "failed"))
    assert final.json["status"] == "cancelled"
    await asyncio.sleep(0.5)  # whatever was still running has ended
    assert (await _poll(account, op_id, ("cancelled",))).json["status"] == "cancelled"
    assert await account.fcu_used() == 0
    assert await account.stored() == set(inputs.values())
    # It stopped between steps, leaving most of them unrun.
    (left,) = re.findall(r"program cancelled: (\d+) of 1000 steps not run",
                         read_logs(hooks)["ckks_compute"])
    assert int(left) > 0
    # The compute threads are free again: a program answers at once.
    quick = await account.program(inputs, [{"op": "negate", "args": ["x"]}])
    assert quick.status == 200 and quick.json["cost_units"] == 1
