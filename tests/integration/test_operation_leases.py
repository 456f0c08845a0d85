"""Asynchronous CKKS operations never hang: a replica holds a lease on each operation it
runs; when the replica dies the lease lapses and the operation fails with WORKER_LOST (not
billed, compute_failed delivered). Cancel through REST of a pending and of a running
operation; a trial key polls its own operations."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from support.accounts import Tenant, create_account, fresh_ip
from support.http import Api, stack_api
from support.openapi_check import assert_matches_schema
from support.receiver import Receiver, running_receiver
from wavis.devstack.stack import Stack

# One operation at a time (WAVIS_CKKS_THREADS=1), so the queued ones stay pending; a degree-64
# polynomial takes tens of milliseconds on these parameters.
PARAMS = {"poly_degree": 2048, "scale_bits": 40, "max_depth": 8, "security_level": "testing"}
COEFFS = [0.01] * 65
LOST_WITHIN_SECONDS = 30


@pytest.fixture(scope="module")
def lease_stack(make_stack: Callable[..., Stack]) -> Iterator[Stack]:
    stack = make_stack(env={"WAVIS_WEBHOOK_ALLOW_PRIVATE": "true", "WAVIS_CKKS_THREADS": "1"})
    yield stack
    stack.stop()


@pytest.fixture
async def lapi(lease_stack: Stack) -> AsyncIterator[Api]:
    async with stack_api(lease_stack.gateway_url) as api:
        yield api


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with running_receiver() as running:
        yield running


async def _ready_key(api: Api, tenant: Tenant) -> tuple[str, str]:
    key = (await api.post("/api/v1/keys/generate", headers=tenant.auth(),
                          json={"scheme": "ckks", "params": PARAMS})).json
    assert key["status"] == "ready", key
    encrypted = await api.post("/api/v1/ciphertexts/encrypt", headers=tenant.auth(), json={
        "key_id": key["key_id"], "values": [0.5] * 8})
    assert encrypted.status == 201, encrypted.text
    return key["key_id"], encrypted.json["ciphertext_id"]


async def _queue(api: Api, tenant: Tenant, key_id: str, ciphertext_id: str,
                 count: int) -> list[str]:
    op_ids = []
    for _ in range(count):
        reply = await api.post("/api/v1/compute/poly-eval", headers=tenant.auth(), json={
            "key_id": key_id, "ciphertext_ids": [ciphertext_id], "polynomial_coeffs": COEFFS,
            "async": True})
        assert reply.status == 202, reply.text
        op_ids.append(reply.json["op_id"])
    return op_ids


async def _status(api: Api, tenant: Tenant, op_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 15
    while True:  # 502 while the gateway reconnects to a restarted service
        reply = await api.get(f"/api/v1/compute/{op_id}", headers=tenant.auth())
        if reply.status != 502 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    assert reply.status == 200, reply.text
    return dict(reply.json)


async def _billed_poly_evals(api: Api, tenant: Tenant) -> int:
    usage = (await api.get("/api/v1/billing/usage", headers=tenant.auth())).json
    return int(usage["by_operation"].get("poly-eval", {}).get("count", 0))


async def test_cancel_a_pending_and_a_running_operation(lease_stack: Stack, lapi: Api) -> None:
    tenant = await create_account(lease_stack)
    key_id, ciphertext_id = await _ready_key(lapi, tenant)
    op_ids = await _queue(lapi, tenant, key_id, ciphertext_id, 30)
    pending = op_ids[-1]
    assert (await _status(lapi, tenant, pending))["status"] == "pending"
    cancelled = await lapi.request("DELETE", f"/api/v1/compute/{pending}", headers=tenant.auth())
    assert cancelled.status == 200 and cancelled.json["status"] == "cancelled"
    running_cancelled = None
    for op_id in op_ids[:-1]:  # catch one while it runs
        status = "pending"
        for _ in range(2000):
            status = (await _status(lapi, tenant, op_id))["status"]
            if status != "pending":
                break
        if status == "running":
            reply = await lapi.request("DELETE", f"/api/v1/compute/{op_id}",
                                       headers=tenant.auth())
            if reply.json["status"] == "cancelled":
                running_cancelled = op_id
                break
    assert running_cancelled is not None, "no operation was caught running"
    deadline = time.monotonic() + 60
    while True:
        final = {o: (await _status(lapi, tenant, o))["status"] for o in op_ids}
        if not {"pending", "running"} & set(final.values()):
            break
        assert time.monotonic() < deadline, final
        await asyncio.sleep(0.2)
    assert final[pending] == "cancelled" and final[running_cancelled] == "cancelled"
    completed = sum(status == "completed" for status in final.values())
    # Cancelled operations are not billed: only the completed ones are.
    assert await _billed_poly_evals(lapi, tenant) == completed
    balance = (await lapi.get("/api/v1/billing/balance", headers=tenant.auth())).json
    assert balance["fcu_reserved"] == 0


async def test_operations_of_a_dead_replica_fail_with_worker_lost(
        lease_stack: Stack, lapi: Api, receiver: Receiver) -> None:
    tenant = await create_account(lease_stack)
    hook = await lapi.post("/api/v1/webhooks", headers=tenant.auth(),
                           json={"url": receiver.endpoint("ops")})
    assert hook.status == 201, hook.text
    key_id, ciphertext_id = await _ready_key(lapi, tenant)
    op_ids = await _queue(lapi, tenant, key_id, ciphertext_id, 20)
    lease_stack.services["ckks_compute"].kill()  # SIGKILL: no clean-up of any kind
    killed_at = time.monotonic()
    lease_stack.restart_service("ckks_compute")
    while True:
        states = {o: await _status(lapi, tenant, o) for o in op_ids}
        if not any(s["status"] in ("pending", "running") for s in states.values()):
            break
        assert time.monotonic() - killed_at < LOST_WITHIN_SECONDS, states
        await asyncio.sleep(0.5)
    lost = [o for o, s in states.items() if s["status"] == "failed"]
    assert lost, "every operation completed before the kill"
    for op_id in lost:
        assert states[op_id]["error"]["code"] == "WORKER_LOST"
    completed = [o for o, s in states.items() if s["status"] == "completed"]
    assert len(lost) + len(completed) == len(op_ids)
    # Not billed, nothing left reserved.
    assert await _billed_poly_evals(lapi, tenant) == len(completed)
    balance = (await lapi.get("/api/v1/billing/balance", headers=tenant.auth())).json
    assert balance["fcu_reserved"] == 0
    # compute_failed for each, as the schema says (and compute_complete for the others).
    arrived = await receiver.wait_for(len(op_ids), timeout=30, path="/ops")
    bodies = [json.loads(r.body) for r in arrived]
    for body in bodies:
        assert_matches_schema(lapi.openapi, "WebhookEvent", body)
    failed = {b["data"]["op_id"]: b["data"] for b in bodies if b["type"] == "compute_failed"}
    assert set(failed) == set(lost)
    assert all(data["error"]["code"] == "WORKER_LOST" for data in failed.values())
    assert {b["data"]["op_id"] for b in bodies if b["type"] == "compute_complete"} == set(
        completed)


async def test_a_trial_key_polls_its_own_operations(lease_stack: Stack, lapi: Api) -> None:
    reply = await lapi.post("/api/v1/onboarding/temp-key", headers={"X-Forwarded-For": fresh_ip()})
    trial = Tenant("", reply.json["api_key"])
    key_id, ciphertext_id = await _ready_key(lapi, trial)
    [op_id] = await _queue(lapi, trial, key_id, ciphertext_id, 1)
    deadline = time.monotonic() + 30
    while (status := await _status(lapi, trial, op_id))["status"] != "completed":
        assert time.monotonic() < deadline, status
        await asyncio.sleep(0.1)
    assert status["result_ciphertext_id"]
    other = await create_account(lease_stack)
    assert (await lapi.get(f"/api/v1/compute/{op_id}", headers=other.auth())).status == 404
