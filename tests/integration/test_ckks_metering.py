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

from services.ckks_compute import compute
from support.ckks_http import encrypt, generate_ckks_key
from support.inprocess_mesh import InProcessMesh, inprocess_mesh
from wavis.core.errors import error_from_rpc
from wavis.core.grpc_client import open_channel
from wavis.core.reservation_stream import ReservationStream
from wavis.generated.ckks_compute.v1 import ckks_compute_pb2, ckks_compute_pb2_grpc
from wavis.generated.metering.v1 import accounts_pb2, accounts_pb2_grpc


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

    async def set_budget(self, cap_usd: float, mode: str) -> None:
        async with self.http.post(f"{self.mesh.base_url}/api/v1/billing/budget",
                                  json={"monthly_cap_usd": cap_usd, "mode": mode}) as reply:
            assert reply.status == 200, await reply.text()

    async def fcu_used(self) -> int:
        async with self.http.get(f"{self.mesh.base_url}/api/v1/billing/usage") as reply:
            assert reply.status == 200
            return int((await reply.json())["total_fcu"])


@pytest.fixture(params=["pro"])
async def tenant(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[Tenant]:
    """An account on the plan the test names (parametrize "tenant" indirectly), pro if none:
    pro has an FCU ceiling, so each reservation is answered before evaluation starts."""
    async with inprocess_mesh(tmp_path) as mesh:
        async with open_channel(mesh.targets["metering"]) as channel:
            account = await accounts_pb2_grpc.AccountsServiceStub(channel).CreateAccount(
                accounts_pb2.CreateAccountRequest(email="meter@example.com",
                                                  plan=request.param, environment="live"))
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
    await tenant.set_budget(0.000004, "hard")
    assert [(await tenant.compute("add"))[0] for _ in range(2)] == [200, 200]
    status, body = await tenant.compute("add")
    assert status == 402 and body["error"]["code"] == "BUDGET_CAP_REACHED", body
    assert await tenant.fcu_used() == 2


@pytest.mark.parametrize("tenant", ["payg"], indirect=True)
async def test_a_limit_set_while_an_operation_is_evaluated_still_refuses_it(
        tenant: Tenant, monkeypatch: pytest.MonkeyPatch) -> None:
    """payg without a hard cap: no limit can refuse it, so ckks-compute evaluates while the
    reservation is on its way and answers once it is recorded. When a limit appears
    meanwhile, the refusal still wins: the evaluated result is deleted and nothing is
    billed; the next operation waits for its reservation again."""
    executed: list[str] = []
    discarded: list[str] = []
    execute, discard = compute.Calculator.execute, compute.Calculator.discard

    async def counted(self: compute.Calculator, prepared: Any) -> Any:
        executed.append(prepared.request.operation)
        return await execute(self, prepared)

    async def noted(self: compute.Calculator, output: Any) -> None:
        discarded.append(output.result.ciphertext_id)
        await discard(self, output)

    monkeypatch.setattr(compute.Calculator, "execute", counted)
    monkeypatch.setattr(compute.Calculator, "discard", noted)
    statuses = [(await tenant.compute("add"))[0] for _ in range(3)]
    assert statuses == [200] * 3 and await tenant.fcu_used() == 3
    # A failed evaluation on this path is free too.
    evaluate = compute._evaluate

    def failing(cc: Any, request: compute.ComputeInput, *args: Any) -> Any:
        raise RuntimeError("simulated OpenFHE failure")

    monkeypatch.setattr(compute, "_evaluate", failing)
    assert (await tenant.compute("multiply"))[0] == 500
    monkeypatch.setattr(compute, "_evaluate", evaluate)
    assert await tenant.fcu_used() == 3
    # A hard cap reached by the spend so far: the next add is evaluated (the account had no
    # limit a moment ago), refused, and its result is gone.
    await tenant.set_budget(0.000006, "hard")
    executed.clear()
    status, body = await tenant.compute("add")
    assert status == 402 and body["error"]["code"] == "BUDGET_CAP_REACHED", body
    assert executed == ["add"] and len(discarded) == 1
    async with tenant.http.get(f"{tenant.mesh.base_url}/api/v1/ciphertexts/"
                               f"{discarded[0]}") as reply:
        assert reply.status == 404
    # Now the account has a limit: the next add waits for its reservation, and is refused
    # before anything is evaluated.
    status, body = await tenant.compute("add")
    assert status == 402 and executed == ["add"]
    assert await tenant.fcu_used() == 3


async def test_operations_wait_for_their_reservation_only_near_a_limit(
        tenant: Tenant, monkeypatch: pytest.MonkeyPatch) -> None:
    """pro, 20M FCU a month: far from its allowance, an add is evaluated while its
    reservation travels. Under a hard cap of 6 adds, the adds evaluated that way stop while
    the headroom still covers twice what is in flight, and the add that would cross the cap
    is refused before it is evaluated: no work is wasted at the boundary."""
    events: list[str] = []
    execute, reserve = compute.Calculator.execute, ReservationStream.reserve

    async def noted_execute(self: compute.Calculator, prepared: Any) -> Any:
        events.append("evaluate")
        return await execute(self, prepared)

    async def slow_reserve(self: ReservationStream, request: Any) -> Any:
        await asyncio.sleep(0.2)  # long enough for any evaluation to start first
        try:
            return await reserve(self, request)
        finally:
            events.append("answered")

    monkeypatch.setattr(compute.Calculator, "execute", noted_execute)
    monkeypatch.setattr(ReservationStream, "reserve", slow_reserve)
    assert (await tenant.compute("add"))[0] == 200  # nothing known yet: it waits
    assert (await tenant.compute("add"))[0] == 200  # 19,999,999 FCU of headroom
    assert events == ["answered", "evaluate", "evaluate", "answered"]
    await tenant.set_budget(0.000012, "hard")  # 6 adds; 2 spent
    events.clear()
    statuses = [(await tenant.compute("add"))[0] for _ in range(5)]
    assert statuses == [200, 200, 200, 200, 402]
    # 1st: the headroom known is the allowance's, so it overlaps (and leaves 3 FCU);
    # 2nd: 2 x 1 <= 3, overlaps (leaves 2); 3rd: 2 x 1 <= 2, overlaps (leaves 1);
    # 4th: 2 x 1 > 1, waits (leaves 0); 5th: no headroom, waits and is refused unevaluated.
    assert events == ["evaluate", "answered"] * 3 + ["answered", "evaluate", "answered"]
    assert await tenant.fcu_used() == 6


@pytest.mark.parametrize("tenant", ["payg"], indirect=True)
async def test_concurrent_operations_at_a_cap_are_billed_exactly(
        tenant: Tenant, monkeypatch: pytest.MonkeyPatch) -> None:
    """payg with no cap: its first add makes the service take it for unlimited. A hard cap
    of 10 adds is then set, and 24 adds go at once, each evaluated while its reservation
    travels (the answers are held back until all have started): exactly 9 succeed, the 15
    others are refused with 402 after their evaluation, and none of their results is kept."""
    discarded: list[str] = []
    discard, reserve = compute.Calculator.discard, ReservationStream.reserve

    async def noted(self: compute.Calculator, output: Any) -> None:
        discarded.append(output.result.ciphertext_id)
        await discard(self, output)

    async def slow_reserve(self: ReservationStream, request: Any) -> Any:
        await asyncio.sleep(1.0)
        return await reserve(self, request)

    monkeypatch.setattr(compute.Calculator, "discard", noted)
    assert (await tenant.compute("add"))[0] == 200  # no limit: -1
    await tenant.set_budget(0.00002, "hard")  # 10 adds, 1 spent
    monkeypatch.setattr(ReservationStream, "reserve", slow_reserve)
    results = await asyncio.gather(*(tenant.compute("add") for _ in range(24)))
    statuses = sorted(status for status, _ in results)
    assert statuses == [200] * 9 + [402] * 15, statuses
    assert {body["error"]["code"] for status, body in results if status == 402} == {
        "BUDGET_CAP_REACHED"}
    assert await tenant.fcu_used() == 10
    for ciphertext_id in discarded:
        async with tenant.http.get(f"{tenant.mesh.base_url}/api/v1/ciphertexts/"
                                   f"{ciphertext_id}") as reply:
            assert reply.status == 404
    assert len(discarded) == 15  # every refusal came after its evaluation
    kept = {body["result_ciphertext_id"] for status, body in results if status == 200}
    assert len(kept) == 9 and not kept & set(discarded)
