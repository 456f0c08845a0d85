"""CKKS programs are metered once, by ckks-compute, whoever calls: a program that fails while
it runs is not billed and stores nothing; a program refused by a budget cap after it was
evaluated leaves nothing; internal gRPC callers get ExecuteProgram metered unless they skip
metering.

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

from services.ckks_compute import compute
from services.ckks_compute.programs import Programs
from support.ckks_http import encrypt, generate_ckks_key
from support.inprocess_mesh import InProcessMesh, inprocess_mesh
from wavis.core.errors import error_from_rpc
from wavis.core.events import EventPublisher
from wavis.core.grpc_client import open_channel
from wavis.generated.ckks_compute.v1 import ckks_compute_pb2, ckks_compute_pb2_grpc
from wavis.generated.metering.v1 import accounts_pb2, accounts_pb2_grpc

# multiply (5), rotate (5), add (1), negate (1): 12 FCU.
STEPS: list[dict[str, Any]] = [
    {"op": "multiply", "args": ["x", "y"], "scale_stable": True},
    {"op": "rotate", "args": ["$0"], "rotation_steps": 1},
    {"op": "add", "args": ["$0", "$1"]},
    {"op": "negate", "args": ["$2"]},
]


@dataclass
class Tenant:
    mesh: InProcessMesh
    http: aiohttp.ClientSession
    account_id: str
    key_id: str
    inputs: dict[str, str]

    async def program(self, **fields: Any) -> tuple[int, dict[str, Any]]:
        body = {"key_id": self.key_id, "inputs": self.inputs, "steps": STEPS, **fields}
        async with self.http.post(f"{self.mesh.base_url}/api/v1/compute/program",
                                  json=body) as reply:
            return reply.status, await reply.json()

    async def set_budget(self, cap_usd: float, mode: str) -> None:
        async with self.http.post(f"{self.mesh.base_url}/api/v1/billing/budget",
                                  json={"monthly_cap_usd": cap_usd, "mode": mode}) as reply:
            assert reply.status == 200, await reply.text()

    async def fcu_used(self) -> int:
        async with self.http.get(f"{self.mesh.base_url}/api/v1/billing/usage") as reply:
            assert reply.status == 200
            return int((await reply.json())["total_fcu"])

    async def exists(self, ciphertext_id: str) -> bool:
        async with self.http.get(f"{self.mesh.base_url}/api/v1/ciphertexts/"
                                 f"{ciphertext_id}") as reply:
            return reply.status == 200


@pytest.fixture(params=["pro"])
async def tenant(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[Tenant]:
    async with inprocess_mesh(tmp_path) as mesh:
        async with open_channel(mesh.targets["metering"]) as channel:
            account = await accounts_pb2_grpc.AccountsServiceStub(channel).CreateAccount(
                accounts_pb2.CreateAccountRequest(email="program@example.com",
                                                  plan=request.param, environment="live"))
        auth = {"Authorization": f"Bearer {account.api_key}"}
        async with aiohttp.ClientSession(headers=auth) as http:
            base = f"{mesh.base_url}/api/v1"
            key_id = await generate_ckks_key(http, base)
            inputs = {"x": await encrypt(http, base, key_id, [0.5, 1.5]),
                      "y": await encrypt(http, base, key_id, [1.0, 2.0])}
            yield Tenant(mesh, http, account.account.account_id, key_id, inputs)


async def test_a_program_that_fails_while_it_runs_is_not_billed(
        tenant: Tenant, monkeypatch: pytest.MonkeyPatch) -> None:
    evaluate = compute._evaluate

    def failing_add(cc: Any, request: compute.ComputeInput, *args: Any) -> Any:
        if request.operation == "add":
            raise RuntimeError("simulated OpenFHE failure")
        return evaluate(cc, request, *args)

    monkeypatch.setattr(compute, "_evaluate", failing_add)
    status, body = await tenant.program(outputs=["$0", "$3"])
    assert status == 500 and body["error"]["code"] == "INTERNAL_ERROR", body
    assert "simulated" not in str(body)
    monkeypatch.setattr(compute, "_evaluate", evaluate)
    assert await tenant.fcu_used() == 0
    status, body = await tenant.program(outputs=["$0", "$3"])
    assert status == 200 and body["cost_units"] == 12, body
    assert await tenant.fcu_used() == 12


@pytest.mark.parametrize("tenant", ["payg"], indirect=True)
async def test_a_program_refused_after_its_evaluation_leaves_nothing(
        tenant: Tenant, monkeypatch: pytest.MonkeyPatch) -> None:
    """payg without a cap is evaluated while its reservation travels; a hard cap set below
    the program's price meanwhile refuses it, and its stored outputs are deleted."""
    discarded: list[str] = []
    discard = Programs.discard

    async def noted(self: Programs, outcome: Any) -> None:
        discarded.extend(output.stored.ciphertext_id for output in outcome.outputs)
        await discard(self, outcome)

    monkeypatch.setattr(Programs, "discard", noted)
    status, body = await tenant.program()
    assert status == 200 and body["cost_units"] == 12
    await tenant.set_budget(0.000026, "hard")  # 13 FCU: 12 spent, a program costs 12
    status, body = await tenant.program(outputs=["$0", "$2", "$3"])
    assert status == 402 and body["error"]["code"] == "BUDGET_CAP_REACHED", body
    assert len(discarded) == 3  # evaluated while the reservation travelled, then dropped
    assert not any(await asyncio.gather(*(tenant.exists(ct) for ct in discarded)))
    assert await tenant.fcu_used() == 12


async def test_internal_callers_run_programs_metered_unless_they_skip_metering(
        tenant: Tenant) -> None:
    async with open_channel(tenant.mesh.targets["ckks_compute"]) as channel:
        stub = ckks_compute_pb2_grpc.CkksComputeServiceStub(channel)
        message = ckks_compute_pb2.ExecuteProgramRequest(
            account_id=tenant.account_id, key_id=tenant.key_id, inputs=tenant.inputs,
            steps=[ckks_compute_pb2.ProgramStep(operation="add", args=["x", "y"]),
                   ckks_compute_pb2.ProgramStep(operation="negate", args=["$0"])],
            outputs=["$0", "$1"])
        metered = await stub.ExecuteProgram(message)
        assert metered.status == "completed" and metered.result.cost_units == 2
        assert [o.ref for o in metered.result.outputs] == ["$0", "$1"]
        assert all(await asyncio.gather(*(tenant.exists(o.result.ciphertext_id)
                                          for o in metered.result.outputs)))
        assert await tenant.fcu_used() == 2
        message.skip_metering = True
        unmetered = await stub.ExecuteProgram(message)
        assert unmetered.status == "completed" and unmetered.result.cost_units == 0
        assert await tenant.fcu_used() == 2
        message.skip_metering = False
        message.steps[1].operation = "rotate"  # without rotation_steps
        with pytest.raises(grpc.RpcError) as refused:
            await stub.ExecuteProgram(message)
        error = error_from_rpc(refused.value)
        assert (error.code, error.details["step"]) == ("INVALID_PROGRAM", 1)
        assert await tenant.fcu_used() == 2


async def test_an_asynchronous_program_that_fails_is_announced_and_not_billed(
        tenant: Tenant, monkeypatch: pytest.MonkeyPatch) -> None:
    published: list[tuple[str, dict[str, Any]]] = []

    async def noted(self: EventPublisher, account_id: str, event_type: str,
                    data: dict[str, Any], event_id: str | None = None) -> str | None:
        published.append((event_type, data))
        return None

    evaluate = compute._evaluate

    def failing_negate(cc: Any, request: compute.ComputeInput, *args: Any) -> Any:
        if request.operation == "negate":
            raise RuntimeError("simulated OpenFHE failure")
        return evaluate(cc, request, *args)

    monkeypatch.setattr(EventPublisher, "publish_or_log", noted)
    monkeypatch.setattr(compute, "_evaluate", failing_negate)
    status, body = await tenant.program(**{"async": True})
    assert status == 202, body
    for _ in range(200):
        async with tenant.http.get(f"{tenant.mesh.base_url}/api/v1/compute/"
                                   f"{body['op_id']}") as reply:
            polled = await reply.json()
        if polled["status"] in ("completed", "failed") and published:
            break
        await asyncio.sleep(0.05)
    assert polled["status"] == "failed" and polled["operation"] == "program", polled
    assert polled["error"]["code"] == "INTERNAL_ERROR"
    assert published == [("compute_failed", {
        "op_id": body["op_id"], "operation": "program", "key_id": tenant.key_id,
        "error": {"code": "INTERNAL_ERROR", "message": polled["error"]["message"]}})]
    assert await tenant.fcu_used() == 0
