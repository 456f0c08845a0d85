"""Reserve-with-record (one round trip on the success path): the reservation is the record;
a refusal, failure or cancellation releases it, reversing exactly what it wrote."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import grpc
import pytest
import redis.asyncio as aioredis
from aiohttp import web

from gateway.endpoints import Endpoint, Reply
from support.accounts import Tenant, create_account, fresh_ip, metering_target
from support.edge_app import edge_app
from support.http import Api
from support.metered_endpoint import metered, reserve
from support.metering_stub import MeteringStub
from wavis.core.errors import WavisError, error_from_rpc
from wavis.core.grpc_client import open_channel
from wavis.core.ids import new_id
from wavis.core.roles import TRIAL
from wavis.core.usage_meter import UsageMeter
from wavis.devstack.stack import Stack
from wavis.generated.metering.v1 import accounts_pb2, accounts_pb2_grpc, billing_pb2, usage_pb2


async def _operate(request: web.Request) -> web.Response:
    query = request.query
    async with metered(request, query.get("op", "multiply"), int(query.get("fcu", "5"))) as c:
        if query.get("fail"):
            raise WavisError("INVALID_CIPHERTEXT", "failed while running")
    return web.json_response({"op_id": c.op_id}, status=int(query.get("status", "200")))


async def _cancelled(request: web.Request) -> web.Response:
    """A metered operation cancelled while it runs, and one cancelled while its reservation
    is on the wire; the request itself answers 200, so only the cancellations release."""
    started = asyncio.Event()

    async def running() -> None:
        async with metered(request, "multiply", 5):
            started.set()
            await asyncio.sleep(60)

    first = asyncio.create_task(running())
    await started.wait()
    second = asyncio.create_task(reserve(request, "matmul", 20, record=True))
    await asyncio.sleep(0)  # the reservation is sent (or about to be)
    second.cancel()
    first.cancel()
    for task in (first, second):
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert second.cancelled() and first.cancelled()
    return web.json_response({})


ENDPOINTS = (
    Endpoint("POST", "/_test/rec", _operate, "test", "Test", {200: Reply("ok")},
             min_role=TRIAL, operation=True),
    Endpoint("POST", "/_test/rec_cancelled", _cancelled, "test", "Test", {200: Reply("ok")},
             min_role=TRIAL),
)


@pytest.fixture
async def edge(mesh: Stack) -> AsyncIterator[str]:
    async with edge_app(mesh, *ENDPOINTS) as base:
        yield base + "/api/v1/_test/"


@pytest.fixture
async def stub(mesh: Stack) -> AsyncIterator[MeteringStub]:
    async with open_channel(metering_target(mesh)) as channel:
        yield MeteringStub(channel)


async def _op(session: aiohttp.ClientSession, url: str, tenant: Tenant,
              **query: Any) -> int:
    async with session.post(url + "rec", params={k: str(v) for k, v in query.items()},
                            headers=tenant.auth(ip=fresh_ip())) as r:
        return r.status


async def _usage(stub: MeteringStub,
                 tenant: Tenant) -> usage_pb2.GetUsageResponse:
    return await stub.GetUsage(usage_pb2.GetUsageRequest(account_id=tenant.account_id))


async def _ledger(redis: aioredis.Redis, tenant: Tenant) -> list[dict[str, Any]]:
    keys = await redis.keys(f"wavis:metering:ledger:{tenant.account_id}:*")
    return [json.loads(e) for key in keys for e in await redis.lrange(key, 0, -1)]


async def _alert_types(redis: aioredis.Redis, tenant: Tenant) -> list[tuple[str, Any]]:
    raw = await redis.lrange(f"wavis:metering:alerts:{tenant.account_id}:log", 0, -1)
    return [(e["type"], e["data"].get("threshold_pct"))
            for e in (json.loads(r) for r in reversed(raw))]


async def test_a_recorded_reservation_is_the_record_and_release_reverses_it_exactly(
        mesh: Stack, stub: MeteringStub,
        redis: aioredis.Redis) -> None:
    tenant = await create_account(mesh, plan="pro")
    keep, drop = new_id("op"), new_id("op")
    for op_id, operation, fcu in ((keep, "add", 1), (drop, "multiply", 5)):
        reply = await stub.ReserveUsage(usage_pb2.ReserveUsageRequest(
            account_id=tenant.account_id, op_id=op_id, operation=operation, fcu=fcu,
            record=True))
        assert reply.recorded and reply.cost_units == fcu
    usage = await _usage(stub, tenant)
    assert (usage.total_fcu, len(usage.by_operation), len(await _ledger(redis, tenant))) == (
        6, 2, 2)
    balance = await stub.GetBalance(usage_pb2.GetBalanceRequest(
        account_id=tenant.account_id))
    assert (balance.fcu_used, balance.fcu_reserved) == (6, 0)
    # The same op id again is idempotent: nothing more is recorded.
    again = await stub.ReserveUsage(usage_pb2.ReserveUsageRequest(
        account_id=tenant.account_id, op_id=keep, operation="add", fcu=1, record=True))
    assert not again.recorded and again.cost_units == 1
    ids = {"account_id": tenant.account_id, "op_id": drop}
    assert (await stub.ReleaseUsage(usage_pb2.ReleaseUsageRequest(**ids))).released
    assert not (await stub.ReleaseUsage(usage_pb2.ReleaseUsageRequest(**ids))).released
    usage = await _usage(stub, tenant)
    assert usage.total_fcu == 1 and usage.total_cost_usd == pytest.approx(0.000002)
    assert [(o.operation, o.count, o.fcu) for o in usage.by_operation] == [("add", 1, 1)]
    assert [(d.fcu, d.cost_usd) for d in usage.by_day] == [(1, pytest.approx(0.000002))]
    assert [e["op_id"] for e in await _ledger(redis, tenant)] == [keep]
    # A released op cannot be committed; another account cannot release a record.
    with pytest.raises(grpc.RpcError):
        await stub.CommitUsage(usage_pb2.CommitUsageRequest(**ids))
    other = await create_account(mesh, plan="pro")
    assert not (await stub.ReleaseUsage(usage_pb2.ReleaseUsageRequest(
        account_id=other.account_id, op_id=keep))).released
    # CommitUsage of a recorded op records nothing more and makes it final.
    keep_ids = {"account_id": tenant.account_id, "op_id": keep}
    assert not (await stub.CommitUsage(usage_pb2.CommitUsageRequest(**keep_ids))).recorded
    assert not (await stub.ReleaseUsage(usage_pb2.ReleaseUsageRequest(**keep_ids))).released
    assert (await _usage(stub, tenant)).total_fcu == 1


async def test_a_free_operation_is_released_and_committed_like_any_other(
        mesh: Stack, stub: MeteringStub) -> None:
    """An operation priced 0 FCU (a batch of free gates) that fails is released: its count
    comes back. Lua's -0 (the reversal of 0) is not an integer to Redis, so the release
    failed, was retried forever and the failed operation stayed counted (found by
    schemathesis: a tfhe_batch of NOT gates refused by its worker)."""
    tenant = await create_account(mesh, plan="pro")
    recorded, held = new_id("op"), new_id("op")
    for op_id, record in ((recorded, True), (held, False)):
        await stub.ReserveUsage(usage_pb2.ReserveUsageRequest(
            account_id=tenant.account_id, op_id=op_id, operation="tfhe_batch", fcu=0,
            record=record))
    for op_id in (recorded, held):
        released = await stub.ReleaseUsage(usage_pb2.ReleaseUsageRequest(
            account_id=tenant.account_id, op_id=op_id))
        assert released.released
    usage = await _usage(stub, tenant)
    assert usage.total_fcu == 0 and list(usage.by_operation) == []
    kept = new_id("op")
    await stub.ReserveUsage(usage_pb2.ReserveUsageRequest(
        account_id=tenant.account_id, op_id=kept, operation="tfhe_batch", fcu=0))
    committed = await stub.CommitUsage(usage_pb2.CommitUsageRequest(
        account_id=tenant.account_id, op_id=kept))
    assert committed.recorded
    usage = await _usage(stub, tenant)
    assert [(o.operation, o.count, o.fcu) for o in usage.by_operation] == [("tfhe_batch", 1, 0)]


async def test_a_recording_reservation_tells_the_headroom_before_a_limit(
        mesh: Stack, stub: MeteringStub) -> None:
    """`headroom_fcu` lets ckks-compute and tfhe-eval evaluate while the next reservations
    travel: the FCU left, open reservations counted, before the plan's allowance or a hard
    cap could refuse one; -1 without such a limit; 0 for trials (they count operations)."""
    async def headroom(tenant: Tenant, record: bool = True, fcu: int = 1) -> int:
        reply = await stub.ReserveUsage(usage_pb2.ReserveUsageRequest(
            account_id=tenant.account_id, op_id=new_id("op"), operation="add", fcu=fcu,
            record=record))
        return int(reply.headroom_fcu)

    async def budget(tenant: Tenant, cap_usd: float, mode: str) -> None:
        await stub.SetBudget(billing_pb2.SetBudgetRequest(
            account_id=tenant.account_id, monthly_cap_usd=cap_usd, mode=mode))

    payg, enterprise, pro = [await create_account(mesh, plan=plan)
                             for plan in ("payg", "enterprise", "pro")]
    assert [await headroom(t) for t in (payg, enterprise)] == [-1, -1]
    assert await headroom(pro) == 20_000_000 - 1
    assert await headroom(pro, record=False, fcu=5) == 0  # holds do not say it...
    assert await headroom(pro) == 20_000_000 - 2 - 5  # ...but their FCU counts
    await budget(payg, 100.0, "soft")  # a soft cap only alerts
    assert await headroom(payg) == -1
    await budget(payg, 0.00002, "hard")  # 10 FCU; 2 spent, this one makes 3
    assert await headroom(payg) == 7
    await budget(pro, 0.00003, "hard")  # the tighter of the two limits: 15 FCU, 7 spent
    assert await headroom(pro) == 7
    async with open_channel(metering_target(mesh)) as channel:
        trial = await accounts_pb2_grpc.AccountsServiceStub(channel).CreateTrialAccount(
            accounts_pb2.CreateTrialAccountRequest(client_ip="198.51.100.7"))
    assert await headroom(Tenant(trial.account.account_id, trial.api_key)) == 0


async def test_release_before_the_reservation_lands_voids_it(
        mesh: Stack, stub: MeteringStub) -> None:
    tenant = await create_account(mesh, plan="pro")
    ids = {"account_id": tenant.account_id, "op_id": new_id("op")}
    assert not (await stub.ReleaseUsage(usage_pb2.ReleaseUsageRequest(**ids))).released
    with pytest.raises(grpc.RpcError) as refused:
        await stub.ReserveUsage(usage_pb2.ReserveUsageRequest(
            operation="add", fcu=1, record=True, **ids))
    assert error_from_rpc(refused.value).code == "VALIDATION_ERROR"
    assert (await _usage(stub, tenant)).total_fcu == 0


async def test_released_records_free_the_quota_exactly_and_alerts_stay_once(
        mesh: Stack, edge: str, session: aiohttp.ClientSession,
        stub: MeteringStub, redis: aioredis.Redis) -> None:
    tenant = await create_account(mesh, plan="free")  # 10,000 FCU, no overage
    statuses = [await _op(session, edge, tenant, fcu=4000),
                await _op(session, edge, tenant, fcu=6000, fail=1),  # crosses 50/80/100%
                await _op(session, edge, tenant, fcu=6000, status=409),
                await _op(session, edge, tenant, fcu=6001),
                await _op(session, edge, tenant, fcu=6000),  # lands exactly on 10,000
                await _op(session, edge, tenant, fcu=1)]
    assert statuses == [200, 400, 409, 402, 200, 402]
    usage = await _usage(stub, tenant)
    assert usage.total_fcu == 10_000 and len(await _ledger(redis, tenant)) == 2
    # Each threshold is announced once, whatever was released in between.
    alerts = await _alert_types(redis, tenant)
    assert [a for a in alerts if a[0] == "usage_alert"] == [
        ("usage_alert", 50), ("usage_alert", 80), ("usage_alert", 100)]


async def test_200_concurrent_operations_with_failures_give_exact_totals(
        mesh: Stack, edge: str, session: aiohttp.ClientSession,
        stub: MeteringStub, redis: aioredis.Redis) -> None:
    tenant = await create_account(mesh, plan="pro")
    outcomes = ({}, {"fail": 1}, {"status": 409}, {"status": 500})
    statuses = await asyncio.gather(*(
        _op(session, edge, tenant, fcu=n + 1, **outcomes[n % 4]) for n in range(200)))
    assert statuses == [(200, 400, 409, 500)[n % 4] for n in range(200)]
    usage = await _usage(stub, tenant)
    assert usage.total_fcu == sum(n + 1 for n in range(0, 200, 4))
    assert [(o.operation, o.count) for o in usage.by_operation] == [("multiply", 50)]
    assert len(await _ledger(redis, tenant)) == 50
    balance = await stub.GetBalance(usage_pb2.GetBalanceRequest(
        account_id=tenant.account_id))
    assert balance.fcu_reserved == 0


async def test_cancelled_operations_cost_nothing(
        mesh: Stack, edge: str, session: aiohttp.ClientSession,
        stub: MeteringStub) -> None:
    tenant = await create_account(mesh, plan="pro")
    async with session.post(edge + "rec_cancelled", headers=tenant.auth(ip=fresh_ip())) as r:
        assert r.status == 200
    for _ in range(50):  # the release of the reservation cancelled on the wire is background
        usage = await _usage(stub, tenant)
        if usage.total_fcu == 0:
            break
        await asyncio.sleep(0.1)
    assert usage.total_fcu == 0 and list(usage.by_operation) == []


async def test_trial_failures_give_their_operation_back(
        mesh: Stack, api: Api, edge: str, session: aiohttp.ClientSession,
        stub: MeteringStub) -> None:
    reply = await api.post("/api/v1/onboarding/temp-key", headers={"X-Forwarded-For": fresh_ip()})
    tenant = Tenant("", reply.json["api_key"])
    failures = [await _op(session, edge, tenant, fail=1) for _ in range(3)]
    statuses = [await _op(session, edge, tenant) for _ in range(11)]
    assert failures == [400] * 3 and statuses == [200] * 10 + [402]
    who = await stub.Authenticate(accounts_pb2.AuthenticateRequest(api_key=tenant.api_key))
    usage = await stub.GetUsage(usage_pb2.GetUsageRequest(account_id=who.account.account_id))
    assert usage.total_fcu == 50 and usage.by_operation[0].count == 10


class _FlakyMetering:
    """ReleaseUsage that fails `failures` times (metering unreachable), then answers."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls: list[str] = []

    async def ReleaseUsage(self, message: usage_pb2.ReleaseUsageRequest,
                           ) -> usage_pb2.ReleaseUsageResponse:
        self.calls.append(message.op_id)
        if len(self.calls) <= self.failures:
            raise grpc.aio.AioRpcError(grpc.StatusCode.UNAVAILABLE, grpc.aio.Metadata(),
                                       grpc.aio.Metadata(), "metering is down")
        return usage_pb2.ReleaseUsageResponse(released=True)


async def test_a_release_that_cannot_be_delivered_is_retried() -> None:
    flaky = _FlakyMetering(failures=2)
    await UsageMeter(flaky).release_until_acknowledged(  # type: ignore[arg-type]
        "acct_x", "op_x", delays=(0.0, 0.01, 0.01, 0.01))
    assert flaky.calls == ["op_x"] * 3
    down = _FlakyMetering(failures=10)
    await UsageMeter(down).release_until_acknowledged(  # type: ignore[arg-type]
        "acct_x", "op_y", delays=(0.0, 0.01))
    assert down.calls == ["op_y"] * 2  # gives up (logged with the op id) after its attempts
