"""Money through Stripe, against the local Stripe-wire server: one Stripe subscription per
account (upgrades update it at once, downgrades at the period's end, stale deletions change
nothing), and pay-as-you-go usage charged once per period, across failures and restarts."""

from __future__ import annotations

import asyncio
import calendar
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis
from aiohttp import web

from gateway.endpoints import Endpoint, Reply
from support import fake_stripe
from support.accounts import Tenant, create_account, fresh_ip
from support.edge_app import edge_app
from support.fake_stripe import FakeStripe
from support.http import Api, stack_api
from support.metered_endpoint import metered
from support.stack_redis import stack_redis
from wavis.core.roles import TRIAL
from wavis.devstack.stack import Stack


@pytest.fixture(scope="module")
def money_stack(make_stack: Callable[..., Stack], stripe_server: FakeStripe) -> Iterator[Stack]:
    stack = make_stack(env={**fake_stripe.stack_env(stripe_server),
                            "WAVIS_BILLING_CLOSE_INTERVAL_SECONDS": "1"})
    yield stack
    stack.stop()


@pytest.fixture
async def mapi(money_stack: Stack) -> AsyncIterator[Api]:
    async with stack_api(money_stack.gateway_url) as api:
        yield api


@pytest.fixture
async def redis(money_stack: Stack) -> AsyncIterator[aioredis.Redis]:
    async with stack_redis(money_stack) as client:
        yield client


async def _deliver(api: Api, event_type: str, obj: dict[str, Any]) -> None:
    payload = fake_stripe.event(event_type, obj)
    reply = await api.post("/api/v1/billing/stripe_webhook", data=payload, headers={
        "Stripe-Signature": fake_stripe.signature(payload), "Content-Type": "application/json"})
    assert reply.status == 200, reply.text


async def _subscription(api: Api, tenant: Tenant) -> dict[str, Any]:
    reply = await api.get("/api/v1/billing/subscription", headers=tenant.auth(ip=fresh_ip()))
    assert reply.status == 200, reply.text
    return dict(reply.json)


async def _subscribe(api: Api, tenant: Tenant, plan: str) -> dict[str, Any]:
    reply = await api.post("/api/v1/billing/subscribe", headers=tenant.auth(ip=fresh_ip()),
                           json={"plan": plan, "email": "money@example.com"})
    assert reply.status == 200, reply.text
    return dict(reply.json)


async def _checkout(api: Api, tenant: Tenant, plan: str, subscription: str | None) -> str:
    """Subscribe through Checkout and have Stripe report it completed; the customer id."""
    started = await _subscribe(api, tenant, plan)
    customer = started["subscription"]["stripe_customer_id"]
    await _deliver(api, "checkout.session.completed", {
        "id": started["checkout_session_id"], "object": "checkout.session",
        "mode": "subscription" if subscription else "setup", "customer": customer,
        "subscription": subscription, "setup_intent": None if subscription else "seti_card",
        "metadata": {"account_id": tenant.account_id, "plan": plan,
                     "billing_cycle": "monthly"}})
    assert (await _subscription(api, tenant))["plan"] == plan
    return str(customer)


async def test_one_stripe_subscription_per_account(
        money_stack: Stack, mapi: Api, stripe_server: FakeStripe,
        redis: aioredis.Redis) -> None:
    tenant = await create_account(money_stack, plan="free")
    customer = await _checkout(mapi, tenant, "pro", "sub_one_a")
    sessions = len(stripe_server.calls("POST", "/v1/checkout/sessions"))
    # An upgrade changes the one subscription, at once, prorated: no second Checkout.
    up = await _subscribe(mapi, tenant, "scale")
    assert (up["plan"], up["stripe_subscription_id"], up["pending_plan"]) == (
        "scale", "sub_one_a", None)
    update = stripe_server.calls("POST", "/v1/subscriptions/sub_one_a")[-1]
    assert update["items"]["0"]["id"] == "si_sub_one_a"
    assert update["items"]["0"]["price_data"]["unit_amount"] == "19900"
    assert update["proration_behavior"] == "create_prorations"
    assert len(stripe_server.calls("POST", "/v1/checkout/sessions")) == sessions
    # Stripe deleting a subscription that is not the account's current one changes nothing.
    await redis.set("wavis:metering:stripe:subscription:sub_one_old", tenant.account_id)
    await _deliver(mapi, "customer.subscription.deleted", {
        "id": "sub_one_old", "object": "subscription", "status": "canceled",
        "customer": customer})
    assert (await _subscription(mapi, tenant))["plan"] == "scale"
    # A downgrade takes effect at the end of the period; the subscription's price changes
    # then, without proration.
    down = await _subscribe(mapi, tenant, "starter")
    assert (down["plan"], down["pending_plan"]) == ("scale", "starter")
    assert down["pending_plan_effective_at"] == down["current_period_end"]
    update = stripe_server.calls("POST", "/v1/subscriptions/sub_one_a")[-1]
    assert update["items"]["0"]["price_data"]["unit_amount"] == "900"
    assert update["proration_behavior"] == "none"
    assert (await _subscription(mapi, tenant))["plan"] == "scale"  # until the period ends
    # The period ends (moved into the past here): the downgrade applies.
    await redis.hset(f"wavis:metering:subscription:{tenant.account_id}", "pending_at",
                     str(time.time() - 1))
    ended = await _subscription(mapi, tenant)
    assert (ended["plan"], ended["pending_plan"]) == ("starter", None)
    # The current subscription deleted in Stripe: the account moves to free.
    await _deliver(mapi, "customer.subscription.deleted", {
        "id": "sub_one_a", "object": "subscription", "status": "canceled",
        "customer": customer})
    assert (await _subscription(mapi, tenant))["plan"] == "free"


async def _metered_op(request: web.Request) -> web.Response:
    async with metered(request, request.query["op"], int(request.query["fcu"])):
        pass
    return web.json_response({})


def _last_month() -> tuple[str, float]:
    now = time.gmtime()
    year, month = (now.tm_year - 1, 12) if now.tm_mon == 1 else (now.tm_year, now.tm_mon - 1)
    return f"{year:04d}-{month:02d}", calendar.timegm((year, month, 15, 0, 0, 0))


async def _invoices(api: Api, tenant: Tenant) -> list[dict[str, Any]]:
    reply = await api.get("/api/v1/billing/invoices", headers=tenant.auth(ip=fresh_ip()))
    assert reply.status == 200, reply.text
    return list(reply.json["data"])


async def _charged(stripe_server: FakeStripe, customer: str) -> list[dict[str, Any]]:
    return [i for i in stripe_server.invoices.values() if i["customer"] == customer]


async def test_payg_usage_is_charged_once_per_period(
        money_stack: Stack, mapi: Api, stripe_server: FakeStripe,
        redis: aioredis.Redis) -> None:
    tenant = await create_account(money_stack, plan="free")
    # Stripe fails the first invoice: the close is tried again (same idempotency keys).
    stripe_server.fail_next("POST", "/v1/invoices", 1)
    customer = await _checkout(mapi, tenant, "payg", None)
    # Last month, on payg, with that month's ledger sums: $6.666666 + $3.333334 = $10.00.
    period, opened = _last_month()
    account_key = f"wavis:metering:account:{tenant.account_id}"
    await redis.hset(account_key, "created_at",
                     time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(opened)))
    await redis.zadd(f"{account_key}:terms", {f"{opened:.6f}|payg|monthly": opened})
    await redis.hset(f"wavis:metering:usage:{tenant.account_id}:{period}", mapping={
        "fcu": 5_000_000, "nano": 10_000_000_000, "count": 3,
        "fcu:multiply": 3_333_333, "nano:multiply": 6_666_666_000, "count:multiply": 2,
        "fcu:add": 1_666_667, "nano:add": 3_333_334_000, "count:add": 1})
    deadline = time.monotonic() + 30
    while not (past := [i for i in await _invoices(mapi, tenant)
                        if i["period"] == period and i["stripe_invoice_id"]]):
        assert time.monotonic() < deadline, await _invoices(mapi, tenant)
        await asyncio.sleep(0.3)
    [invoice] = past
    # The card Checkout saved is the customer's default for invoices (Stripe charges it).
    assert stripe_server.customers[customer]["invoice_settings"] == {
        "default_payment_method": "pm_seti_card"}
    [charged] = await _charged(stripe_server, customer)
    assert charged["id"] == invoice["stripe_invoice_id"] and charged["status"] == "open"
    assert charged["metadata"] == {"account_id": tenant.account_id, "wavis_period": period,
                                   "wavis_invoice_id": invoice["invoice_id"]}
    # The internal invoice and Stripe's agree to the cent, line by line.
    assert invoice["total_usd"] == 10.0 and charged["amount_due"] == 1000
    items = sorted(i["amount"] for i in stripe_server.invoice_items.values()
                   if i["invoice"] == charged["id"])
    assert items == sorted(round(line["amount_usd"] * 100) for line in invoice["lines"]
                           if line["kind"] == "usage")
    # A restart of the metering service (and its next closes) charges nothing again.
    money_stack.restart_service("metering")
    await asyncio.sleep(3)
    assert len(await _charged(stripe_server, customer)) == 1
    # Cancelling pay as you go charges the month so far, once.
    endpoint = Endpoint("POST", "/_test/op", _metered_op, "test", "Test", {200: Reply("ok")},
                        min_role=TRIAL)
    async with edge_app(money_stack, endpoint) as base, aiohttp.ClientSession() as session:
        async with session.post(base + "/api/v1/_test/op", params={
                "op": "bootstrap", "fcu": "1000000"}, headers=tenant.auth(ip=fresh_ip())) as r:
            assert r.status == 200, await r.text()
    cancelled = await mapi.request("DELETE", "/api/v1/billing/subscription",
                                   headers=tenant.auth(ip=fresh_ip()))
    assert cancelled.status == 200 and cancelled.json["plan"] == "free"
    this_month = time.strftime("%Y-%m", time.gmtime())
    [current] = [i for i in await _invoices(mapi, tenant) if i["period"] == this_month]
    assert current["finalized"] is True and current["total_usd"] == 2.0
    charges = await _charged(stripe_server, customer)
    assert len(charges) == 2
    assert [c["amount_due"] for c in charges if c["id"] == current["stripe_invoice_id"]] == [200]
    await asyncio.sleep(2)
    assert len(await _charged(stripe_server, customer)) == 2
    # That month is final: pay as you go can be taken again from the next one.
    again = await mapi.post("/api/v1/billing/subscribe", headers=tenant.auth(ip=fresh_ip()),
                            json={"plan": "payg", "email": "money@example.com"})
    assert again.status == 400 and again.json["error"]["details"] == {"field": "plan"}
