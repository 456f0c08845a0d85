"""ckks-compute meters its own work: a failed evaluation fails only its request and costs
nothing; internal gRPC callers are metered like the gateway unless they skip metering.

The mesh runs in this process (support/inprocess_mesh.py) so a test can make OpenFHE's
evaluation raise, as a library error would.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import grpc
import pytest

from support.ckks_http import encrypt, generate_ckks_key
from support.inprocess_mesh import InProcessMesh, inprocess_mesh
from wavis.ckks_compute.v1 import ckks_compute_pb2, ckks_compute_pb2_grpc
from wavis.core.errors import error_from_rpc
from wavis.core.grpc_client import open_channel
from wavis.core.reservation_stream import ReservationStream
from wavis.metering.v1 import metering_pb2, metering_pb2_grpc
from wavis.services.ckks_compute import compute


@dataclass
class Tenant:
    mesh: InProcessMesh
    http: aiohttp.ClientSession
    account_id: str
    key_id: str
    ids: list[str]

    async def compute(self, operation: str, **fields: Any) -> tuple[int, dict[str, Any]]:
        body = {"key_id": self.key_id, "ciphertext_ids": self.ids, **fields}
        async with self.http.post(f"{self.mesh.base_url}/api/v1/compute/{operation}",
                                  json=body) as reply:
            return reply.status, await reply.json()

    async def fcu_used(self) -> int:
        async with self.http.get(f"{self.mesh.base_url}/api/v1/billing/usage") as reply:
            assert reply.status == 200
            return int((await reply.json())["total_fcu"])


@pytest.fixture
async def tenant(tmp_path: Path) -> AsyncIterator[Tenant]:
    async with inprocess_mesh(tmp_path) as mesh:
        async with open_channel(mesh.targets["metering"]) as channel:
            account = await metering_pb2_grpc.MeteringServiceStub(channel).CreateAccount(
                metering_pb2.CreateAccountRequest(email="meter@example.com", plan="pro",
                                                  environment="live"))
        auth = {"Authorization": f"Bearer {account.api_key}"}
        async with aiohttp.ClientSession(headers=auth) as http:
            base = f"{mesh.base_url}/api/v1"
            key_id = await generate_ckks_key(http, base)
            ids = [await encrypt(http, base, key_id, values)
                   for values in ([0.5, 1.5], [1.0, 2.0])]
            yield Tenant(mesh, http, account.account.account_id, key_id, ids)


async def test_an_evaluation_that_raises_fails_only_its_request_and_is_not_billed(
        tenant: Tenant, monkeypatch: pytest.MonkeyPatch) -> None:
    evaluate = compute._evaluate
    failures = []

    def failing_multiply(cc: Any, request: compute.ComputeInput, *args: Any) -> Any:
        if request.operation == "multiply" and not failures:
            failures.append(request.operation)
            raise RuntimeError("simulated OpenFHE failure")
        return evaluate(cc, request, *args)

    monkeypatch.setattr(compute, "_evaluate", failing_multiply)
    failed, add_one, add_two = await asyncio.gather(
        tenant.compute("multiply"), tenant.compute("add"), tenant.compute("add"))
    assert failed[0] == 500 and failed[1]["error"]["code"] == "INTERNAL_ERROR"
    assert "simulated" not in str(failed[1])  # the library's words stay in our logs
    assert add_one[0] == add_two[0] == 200
    assert await tenant.fcu_used() == 2  # the two adds; the failed multiply is free
    retried = await tenant.compute("multiply")
    assert retried[0] == 200 and retried[1]["cost_units"] == 5
    assert await tenant.fcu_used() == 7


async def test_internal_callers_are_metered_unless_they_skip_metering(tenant: Tenant) -> None:
    async with open_channel(tenant.mesh.targets["ckks_compute"]) as channel:
        stub = ckks_compute_pb2_grpc.CkksComputeServiceStub(channel)
        message = ckks_compute_pb2.ComputeRequest(
            account_id=tenant.account_id, operation="add", key_id=tenant.key_id,
            ciphertext_ids=tenant.ids)
        metered = await stub.Compute(message)
        assert (metered.result.cost_units, metered.result.cost_usd) == (1, 0.000002)
        assert await tenant.fcu_used() == 1
        message.skip_metering = True
        unmetered = await stub.Compute(message)
        assert unmetered.status == "completed" and unmetered.result.cost_units == 0
        assert await tenant.fcu_used() == 1
        # A refused operation is free: the reservation taken while its operand loaded is
        # given back before the refusal is answered.
        message.skip_metering = False
        message.operation = "multiply-plain"
        message.has_plain_operand = True
        message.plain_operand.extend([1.0, 2.0])  # slot_count is 1024
        del message.ciphertext_ids[1:]
        with pytest.raises(grpc.RpcError) as refused:
            await stub.Compute(message)
        assert error_from_rpc(refused.value).code == "INVALID_PLAIN_OPERAND"
        assert await tenant.fcu_used() == 1


async def test_concurrent_operations_share_the_reservation_stream_exactly(
        tenant: Tenant, monkeypatch: pytest.MonkeyPatch) -> None:
    """60 adds and 20 refused requests at once over ckks-compute's one reservation stream:
    every add is charged once, every refusal is free."""
    sent = []
    reserve = ReservationStream.reserve

    async def counted(self: ReservationStream, request: Any) -> Any:
        sent.append(request.op_id)
        return await reserve(self, request)

    monkeypatch.setattr(ReservationStream, "reserve", counted)
    adds = [tenant.compute("add") for _ in range(60)]
    refused = [tenant.compute("multiply-plain", ciphertext_ids=tenant.ids[:1],
                              plain_operand=[1.0]) for _ in range(20)]
    results = await asyncio.gather(*adds, *refused)
    assert [status for status, _ in results[:60]] == [200] * 60
    assert all(body["cost_units"] == 1 for _, body in results[:60])
    assert {(status, body["error"]["code"]) for status, body in results[60:]} == {
        (400, "INVALID_PLAIN_OPERAND")}
    assert await tenant.fcu_used() == 60
    assert len(set(sent)) == 80  # every request reserved on the stream, refused ones too


async def test_a_refused_charge_reaches_the_caller_through_the_stream(tenant: Tenant) -> None:
    """A hard budget cap of two adds: the third add is refused by the metering service, and
    the refusal (its public code and details) travels back on the reservation stream."""
    async with tenant.http.post(f"{tenant.mesh.base_url}/api/v1/billing/budget",
                                json={"monthly_cap_usd": 0.000004, "mode": "hard"}) as reply:
        assert reply.status == 200, await reply.text()
    assert [(await tenant.compute("add"))[0] for _ in range(2)] == [200, 200]
    status, body = await tenant.compute("add")
    assert status == 402 and body["error"]["code"] == "BUDGET_CAP_REACHED", body
    assert await tenant.fcu_used() == 2
