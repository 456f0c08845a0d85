"""FCU metering through the real gateway and metering service: exact totals under
concurrency, quota and budget boundaries, idempotent replays, alerts, usage and balance."""

from __future__ import annotations

import asyncio
import json
import math
import time
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timezone
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
from wavis.core.roles import TRIAL
from wavis.devstack.stack import Stack
from wavis.generated.metering.v1 import accounts_pb2, usage_pb2


async def _operate(request: web.Request) -> web.Response:
    query = request.query
    async with metered(request, query.get("op", "multiply"), int(query.get("fcu", "5"))) as c:
        if query.get("fail"):
            raise WavisError("INVALID_CIPHERTEXT", "failed while running")
    status = int(query.get("status", "200"))
    return web.json_response({"op_id": c.op_id, "cost_units": c.cost_units,
                              "cost_usd": c.cost_usd, "cost_jpy": c.cost_jpy}, status=status)


async def _operate_async(request: web.Request) -> web.Response:
    charge = await reserve(request, "bootstrap", 50)
    return web.json_response({"op_id": charge.op_id, "status": "pending"}, status=202)


ENDPOINTS = (
    Endpoint("POST", "/_test/metered", _operate, "test", "Test", {200: Reply("ok")},
             min_role=TRIAL, operation=True),
    Endpoint("POST", "/_test/metered_async", _operate_async, "test", "Test",
             {202: Reply("ok")}, min_role=TRIAL, operation=True),
)


@pytest.fixture
async def edge(mesh: Stack) -> AsyncIterator[str]:
    async with edge_app(mesh, *ENDPOINTS) as base:
        yield base + "/api/v1/_test/"


async def _op(session: aiohttp.ClientSession, url: str, tenant: Tenant,
              headers: dict[str, str] | None = None, **query: Any) -> tuple[int, Any]:
    async with session.post(url + "metered", params={k: str(v) for k, v in query.items()},
                            headers=tenant.auth(ip=fresh_ip()) | (headers or {})) as r:
        return r.status, await r.json()


async def _usage(api: Api, tenant: Tenant) -> dict[str, Any]:
    reply = await api.get("/api/v1/billing/usage", headers=tenant.auth(ip=fresh_ip()))
    assert reply.status == 200, reply.text
    return reply.json


async def _alerts(redis: aioredis.Redis, tenant: Tenant) -> list[dict[str, Any]]:
    raw = await redis.lrange(f"wavis:metering:alerts:{tenant.account_id}:log", 0, -1)
    return [json.loads(entry) for entry in reversed(raw)]


async def test_200_concurrent_operations_give_exact_totals(
        mesh: Stack, api: Api, edge: str, session: aiohttp.ClientSession) -> None:
    tenant = await create_account(mesh, plan="pro")
    results = await asyncio.gather(*(
        _op(session, edge, tenant, op=("multiply" if n % 2 else "add"),
            fcu=(5 if n % 2 else 1)) for n in range(200)))
    assert [status for status, _ in results] == [200] * 200
    usage = await _usage(api, tenant)
    assert usage["total_fcu"] == 100 * 5 + 100 * 1
    assert usage["total_cost_usd"] == pytest.approx(600 * 0.000002)
    assert usage["total_cost_jpy"] == pytest.approx(600 * 0.000002 * 150)
    assert usage["by_operation"] == {
        "add": {"count": 100, "fcu": 100, "cost_usd": pytest.approx(0.0002)},
        "multiply": {"count": 100, "fcu": 500, "cost_usd": pytest.approx(0.001)}}
    today = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    assert [(d["date"], d["fcu"]) for d in usage["by_day"]] == [(today, 600)]
    # The charge each response reports is the pricing table's.
    assert results[1][1] | {"op_id": ""} == {"op_id": "", "cost_units": 5,
                                             "cost_usd": 0.00001, "cost_jpy": 0.0015}


async def test_failed_and_rejected_operations_cost_nothing(
        mesh: Stack, api: Api, edge: str, session: aiohttp.ClientSession) -> None:
    tenant = await create_account(mesh, plan="pro")
    assert (await _op(session, edge, tenant, fcu=20, fail=1))[0] == 400
    assert (await _op(session, edge, tenant, fcu=20, status=409))[0] == 409
    assert (await _op(session, edge, tenant, fcu=20))[0] == 200
    usage = await _usage(api, tenant)
    assert usage["total_fcu"] == 20 and usage["by_operation"]["multiply"]["count"] == 1
    balance = (await api.get("/api/v1/billing/balance", headers=tenant.auth(ip=fresh_ip()))).json
    assert balance["fcu_reserved"] == 0  # the refused ones' reservations were released


async def test_replayed_idempotent_request_is_billed_once(
        mesh: Stack, api: Api, edge: str, session: aiohttp.ClientSession) -> None:
    tenant = await create_account(mesh, plan="pro")
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    first = await _op(session, edge, tenant, headers, fcu=50, op="bootstrap")
    second = await _op(session, edge, tenant, headers, fcu=50, op="bootstrap")
    assert first == second and first[0] == 200
    usage = await _usage(api, tenant)
    assert usage["total_fcu"] == 50 and usage["by_operation"]["bootstrap"]["count"] == 1


async def test_quota_boundary_and_usage_alerts_once(
        mesh: Stack, api: Api, edge: str, session: aiohttp.ClientSession,
        redis: aioredis.Redis) -> None:
    tenant = await create_account(mesh, plan="free")  # 10,000 FCU a month, no overage
    statuses = []
    for fcu in (4000, 4000, 3000, 2000, 1, 0):
        status, body = await _op(session, edge, tenant, fcu=fcu)
        statuses.append((status, body.get("error", {}).get("code")))
    # 8000 + 3000 would cross 10,000: refused; 8000 + 2000 lands on it: allowed.
    assert statuses == [(200, None), (200, None), (402, "QUOTA_EXHAUSTED"), (200, None),
                        (402, "QUOTA_EXHAUSTED"), (200, None)]
    assert (await _usage(api, tenant))["total_fcu"] == 10_000
    alerts = await _alerts(redis, tenant)
    assert [(a["type"], a["data"].get("threshold_pct")) for a in alerts] == [
        ("usage_alert", 50), ("usage_alert", 80), ("limit_reached", None),
        ("usage_alert", 100)]
    assert alerts[2]["data"]["limit"] == "monthly_fcu"


async def test_hard_budget_cap_boundary_and_soft_cap_alerts(
        mesh: Stack, api: Api, edge: str, session: aiohttp.ClientSession,
        redis: aioredis.Redis) -> None:
    tenant = await create_account(mesh, plan="payg")
    # $0.0001 = 50 FCU.
    reply = await api.post("/api/v1/billing/budget", headers=tenant.auth(ip=fresh_ip()),
                           json={"monthly_cap_usd": 0.0001, "mode": "hard"})
    assert reply.status == 200, reply.text
    assert reply.json["monthly_cap_usd"] == 0.0001 and reply.json["mode"] == "hard"
    codes = []
    for fcu in (20, 20, 20, 10, 1):
        status, body = await _op(session, edge, tenant, fcu=fcu)
        codes.append(status if status == 200 else body["error"]["code"])
    assert codes == [200, 200, "BUDGET_CAP_REACHED", 200, "BUDGET_CAP_REACHED"]
    budget = (await api.get("/api/v1/billing/budget", headers=tenant.auth(ip=fresh_ip()))).json
    assert budget["spent_usd"] == pytest.approx(0.0001) and budget["remaining_usd"] == 0
    # Soft: past the cap is allowed, with alerts.
    assert (await api.post("/api/v1/billing/budget", headers=tenant.auth(ip=fresh_ip()), json={
        "monthly_cap_usd": 0.0001, "mode": "soft"})).status == 200
    assert (await _op(session, edge, tenant, fcu=500))[0] == 200
    alerts = [(a["type"], a["data"].get("threshold_pct"))
              for a in await _alerts(redis, tenant)]
    assert alerts == [("budget_alert", 80), ("limit_reached", None), ("budget_alert", 100)]
    bad = await api.post("/api/v1/billing/budget", headers=tenant.auth(ip=fresh_ip()),
                         json={"monthly_cap_usd": 0, "mode": "hard"})
    assert bad.status == 400
    sideways = await api.post("/api/v1/billing/budget", headers=tenant.auth(ip=fresh_ip()), json={
        "monthly_cap_usd": 5, "mode": "sideways"})
    assert sideways.status == 400


async def test_trial_operations_are_counted_once_with_fcu(
        mesh: Stack, api: Api, edge: str, session: aiohttp.ClientSession) -> None:
    reply = await api.post("/api/v1/onboarding/temp-key", headers={"X-Forwarded-For": fresh_ip()})
    tenant = Tenant("", reply.json["api_key"])
    statuses = [(await _op(session, edge, tenant, fcu=5))[0] for _ in range(11)]
    assert statuses == [200] * 10 + [402]
    async with open_channel(metering_target(mesh)) as channel:  # trial keys cannot read it
        stub = MeteringStub(channel)
        who = await stub.Authenticate(accounts_pb2.AuthenticateRequest(api_key=tenant.api_key))
        usage = await stub.GetUsage(usage_pb2.GetUsageRequest(
            account_id=who.account.account_id))
    assert usage.total_fcu == 50 and usage.by_operation[0].count == 10


async def test_async_reservation_commits_once_and_release_after_commit_is_refused(
        mesh: Stack, api: Api, edge: str, session: aiohttp.ClientSession) -> None:
    tenant = await create_account(mesh, plan="pro")
    async with session.post(edge + "metered_async", headers=tenant.auth(ip=fresh_ip())) as r:
        assert r.status == 202
        op_id = (await r.json())["op_id"]
    balance = (await api.get("/api/v1/billing/balance", headers=tenant.auth(ip=fresh_ip()))).json
    assert balance["fcu_reserved"] == 50 and balance["fcu_used"] == 0
    async with open_channel(metering_target(mesh)) as channel:
        stub = MeteringStub(channel)
        ids = {"account_id": tenant.account_id, "op_id": op_id}
        assert (await stub.CommitUsage(usage_pb2.CommitUsageRequest(**ids))).recorded
        assert not (await stub.CommitUsage(usage_pb2.CommitUsageRequest(**ids))).recorded
        assert not (await stub.ReleaseUsage(usage_pb2.ReleaseUsageRequest(**ids))).released
        # Reserving the same op id again is idempotent: nothing more is held.
        again = await stub.ReserveUsage(usage_pb2.ReserveUsageRequest(
            operation="bootstrap", fcu=50, **ids))
        assert again.cost_units == 50
    usage = await _usage(api, tenant)
    assert usage["by_operation"] == {"bootstrap": {"count": 1, "fcu": 50,
                                                   "cost_usd": pytest.approx(0.0001)}}
    balance = (await api.get("/api/v1/billing/balance", headers=tenant.auth(ip=fresh_ip()))).json
    assert balance["fcu_reserved"] == 0 and balance["fcu_used"] == 50


async def test_abandoned_reservations_expire(mesh: Stack, redis: aioredis.Redis) -> None:
    tenant = await create_account(mesh, plan="free")
    async with open_channel(metering_target(mesh)) as channel:
        stub = MeteringStub(channel)
        await stub.ReserveUsage(usage_pb2.ReserveUsageRequest(
            account_id=tenant.account_id, op_id="op_crashed_caller", operation="matmul",
            fcu=10_000))
        with pytest.raises(grpc.RpcError) as refused:
            await stub.ReserveUsage(usage_pb2.ReserveUsageRequest(
                account_id=tenant.account_id, op_id="op_second", operation="add", fcu=1))
        assert error_from_rpc(refused.value).code == "QUOTA_EXHAUSTED"
        # An hour later (moved back in time here) the crashed caller's hold is gone.
        pending = f"wavis:metering:pending:{tenant.account_id}"
        for member in await redis.zrange(pending, 0, -1):
            await redis.zadd(pending, {member: time.time() - 1})
        reply = await stub.ReserveUsage(usage_pb2.ReserveUsageRequest(
            account_id=tenant.account_id, op_id="op_third", operation="add", fcu=1))
        assert reply.cost_units == 1


async def test_usage_and_balance_match_a_hand_computation(
        mesh: Stack, api: Api, edge: str, session: aiohttp.ClientSession) -> None:
    tenant = await create_account(mesh, plan="free")
    for op, fcu, times in (("add", 1, 3), ("rotate", 5, 2), ("poly-eval", 10, 1)):
        for _ in range(times):
            assert (await _op(session, edge, tenant, op=op, fcu=fcu))[0] == 200
    used = 3 * 1 + 2 * 5 + 10
    usage = await _usage(api, tenant)
    assert usage["total_fcu"] == used == 23
    assert usage["by_operation"]["rotate"] == {"count": 2, "fcu": 10,
                                               "cost_usd": pytest.approx(0.00002)}
    balance = (await api.get("/api/v1/billing/balance", headers=tenant.auth(ip=fresh_ip()))).json
    now = datetime.now(timezone.utc)
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    nxt = start.replace(year=start.year + 1, month=1) if start.month == 12 else \
        start.replace(month=start.month + 1)
    days_left = (nxt.date() - now.date()).days
    avg = used / now.day
    assert balance == {
        "plan": "free", "unlimited": False, "fcu_included": 10_000, "fcu_used": 23,
        "fcu_reserved": 0, "fcu_remaining": 9_977, "cost_usd": pytest.approx(0.000046),
        "billing_period_start": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "next_reset": nxt.strftime("%Y-%m-%dT%H:%M:%SZ"), "days_until_reset": days_left,
        "forecast": {"daily_avg_fcu": round(avg, 4),
                     "days_remaining_at_current_rate": math.floor(9_977 / avg),
                     "projected_reset_balance": 9_977 - round(avg * days_left),
                     "will_exhaust_before_reset": False}}
    unlimited = await create_account(mesh, plan="payg")
    body = (await api.get("/api/v1/billing/balance", headers=unlimited.auth(ip=fresh_ip()))).json
    assert body["unlimited"] and body["fcu_included"] is None
    assert body["forecast"]["days_remaining_at_current_rate"] is None
    headers = tenant.auth(ip=fresh_ip())
    bad = await api.get("/api/v1/billing/usage?period=2026-13", headers=headers)
    assert bad.status == 400 and bad.json["error"]["code"] == "VALIDATION_ERROR"
    empty = await api.get("/api/v1/billing/usage?period=2020-01", headers=headers)
    assert empty.json == {"period": "2020-01", "total_fcu": 0, "total_cost_usd": 0,
                          "total_cost_jpy": 0, "by_operation": {}, "by_day": []}


async def test_key_rotation_fires_key_rotated(mesh: Stack, api: Api,
                                              redis: aioredis.Redis) -> None:
    tenant = await create_account(mesh)
    reply = await api.post("/api/v1/keys/apikey/rotate", headers=tenant.auth(ip=fresh_ip()))
    assert reply.status == 200
    alerts = await _alerts(redis, tenant)
    assert alerts[-1]["type"] == "key_rotated"
    assert alerts[-1]["data"] == {"old_key_prefix": tenant.api_key[:16],
                                  "new_key_prefix": reply.json["new_api_key"][:16],
                                  "grace_period_ends_at": reply.json["grace_period_ends_at"]}
