"""Every event type delivered to a real loopback endpoint, its body validated against the
schema the OpenAPI document shows (`WebhookEvent`, one schema per type)."""

from __future__ import annotations

import asyncio
import calendar
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from gateway.endpoints import Endpoint, Reply
from support import fake_stripe
from support.accounts import Tenant, create_account
from support.edge_app import edge_app
from support.fake_stripe import FakeStripe
from support.http import Api, stack_api
from support.metered_endpoint import metered
from support.openapi_check import assert_matches_schema
from support.receiver import Receiver, running_receiver
from support.stack_redis import stack_redis
from wavis.core.events import EVENT_TYPES
from wavis.core.roles import TRIAL
from wavis.devstack.stack import Stack

PARAMS = {"poly_degree": 2048, "scale_bits": 40, "max_depth": 3, "security_level": "testing"}


@pytest.fixture(scope="module")
def events_stack(make_stack: Callable[..., Stack], stripe_server: FakeStripe) -> Iterator[Stack]:
    stack = make_stack(env={**fake_stripe.stack_env(stripe_server),
                            "WAVIS_WEBHOOK_ALLOW_PRIVATE": "true"})
    yield stack
    stack.stop()


@pytest.fixture
async def eapi(events_stack: Stack) -> AsyncIterator[Api]:
    async with stack_api(events_stack.gateway_url) as api:
        yield api


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with running_receiver() as running:
        yield running


async def _metered_op(request: web.Request) -> web.Response:
    async with metered(request, "multiply", int(request.query["fcu"])):
        pass
    return web.json_response({})


async def _until(check: Callable[[], Any], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := await check()):
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.1)
    return found


async def _stripe_event(api: Api, event_type: str, obj: dict[str, Any]) -> None:
    payload = fake_stripe.event(event_type, obj)
    reply = await api.post("/api/v1/billing/stripe_webhook", data=payload, headers={
        "Stripe-Signature": fake_stripe.signature(payload), "Content-Type": "application/json"})
    assert reply.status == 200, reply.text


async def test_every_event_type_is_delivered_as_documented(
        events_stack: Stack, eapi: Api, receiver: Receiver) -> None:
    tenant = await create_account(events_stack, plan="free")
    hook = await eapi.post("/api/v1/webhooks", headers=tenant.auth(),
                           json={"url": receiver.endpoint("all")})
    assert hook.status == 201, hook.text

    # test
    assert (await eapi.post("/api/v1/webhooks/test", headers=tenant.auth())).status in (
        200, 202)
    # key_created; compute_complete
    key = (await eapi.post("/api/v1/keys/generate", headers=tenant.auth(),
                           json={"scheme": "ckks", "params": PARAMS})).json
    encrypted = await eapi.post("/api/v1/ciphertexts/encrypt", headers=tenant.auth(), json={
        "key_id": key["key_id"], "values": [1.0, 2.0]})
    assert encrypted.status == 201, encrypted.text
    queued = await eapi.post("/api/v1/compute/negate", headers=tenant.auth(), json={
        "key_id": key["key_id"], "ciphertext_ids": [encrypted.json["ciphertext_id"]],
        "async": True})
    assert queued.status == 202, queued.text

    async def completed() -> bool:
        polled = await eapi.get(f"/api/v1/compute/{queued.json['op_id']}",
                                headers=tenant.auth())
        return bool(polled.json["status"] == "completed")

    await _until(completed)
    # key_deleted
    assert (await eapi.request("DELETE", f"/api/v1/keys/{key['key_id']}",
                               headers=tenant.auth())).status == 204
    # budget_alert (soft cap of $0.01 = 5,000 FCU), usage_alert (free: 10,000 FCU a month),
    # limit_reached (the allowance refuses the next operation)
    budget = await eapi.post("/api/v1/billing/budget", headers=tenant.auth(),
                             json={"monthly_cap_usd": 0.01, "mode": "soft"})
    assert budget.status == 200, budget.text
    endpoint = Endpoint("POST", "/_test/op", _metered_op, "test", "Test", {200: Reply("ok")},
                        min_role=TRIAL)
    async with edge_app(events_stack, endpoint) as base, aiohttp.ClientSession() as session:
        for fcu, status in ((6_000, 200), (5_000, 402), (3_999, 200)):
            async with session.post(base + "/api/v1/_test/op", params={"fcu": str(fcu)},
                                    headers=tenant.auth()) as reply:
                assert reply.status == status, await reply.text()
    # key_rotated
    rotated = await eapi.post("/api/v1/keys/apikey/rotate", headers=tenant.auth())
    assert rotated.status == 200, rotated.text
    tenant = Tenant(tenant.account_id, rotated.json["new_api_key"], tenant.client_ip)
    # invoice_created: an account opened last month has that month's invoice made final
    async with stack_redis(events_stack) as redis:
        now = time.gmtime()
        year, month = (now.tm_year - 1, 12) if now.tm_mon == 1 else (now.tm_year, now.tm_mon - 1)
        opened = calendar.timegm((year, month, 15, 0, 0, 0))
        await redis.hset(f"wavis:metering:account:{tenant.account_id}", "created_at",
                         time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(opened)))
    assert (await eapi.get("/api/v1/billing/invoices", headers=tenant.auth())).status == 200
    # invoice_failed, invoice_paid: Stripe reports on the account's invoice
    for event_type in ("invoice.payment_failed", "invoice.paid"):
        await _stripe_event(eapi, event_type, {
            "id": "in_fake_events", "object": "invoice", "amount_due": 0, "amount_paid": 0,
            "attempt_count": 1, "period_start": int(time.time()),
            "metadata": {"account_id": tenant.account_id}})

    wanted = set(EVENT_TYPES) - {"compute_failed"}  # test_operation_leases delivers that one

    async def all_types() -> set[str]:
        seen = {json.loads(r.body)["type"] for r in receiver.requests}
        return seen if wanted <= seen else set()

    await _until(all_types, timeout=30)
    for request in receiver.requests:
        assert_matches_schema(eapi.openapi, "WebhookEvent", json.loads(request.body))
    bodies = {json.loads(r.body)["type"]: json.loads(r.body)["data"] for r in receiver.requests}
    assert bodies["usage_alert"]["included_fcu"] == 10_000
    assert bodies["budget_alert"]["cap_usd"] == 0.01
    assert bodies["limit_reached"]["limit"] == "monthly_fcu"
    assert bodies["compute_complete"]["cost_units"] == 1
    assert bodies["invoice_paid"]["status"] == "paid"
