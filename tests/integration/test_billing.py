"""Billing through HTTP: subscriptions via a local Stripe in Stripe's wire format, the
Stripe webhook (good, bad, stale, replayed), invoices, and Stripe left unconfigured."""

from __future__ import annotations

import asyncio
import calendar
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis
from aiohttp import web

from gateway.endpoints import Endpoint, Reply
from support import fake_stripe
from support.accounts import Tenant, create_account, create_key, fresh_ip
from support.edge_app import edge_app
from support.fake_stripe import FakeStripe
from support.http import Api
from support.metered_endpoint import metered
from support.stack_redis import stack_redis
from wavis.core.roles import TRIAL
from wavis.devstack.stack import Stack


@pytest.fixture(scope="module")
def billing_stack(make_stack: Callable[..., Stack], stripe_server: FakeStripe) -> Stack:
    return make_stack(env=fake_stripe.stack_env(stripe_server))


@pytest.fixture
async def bapi(billing_stack: Stack, openapi_doc: dict[str, Any]) -> AsyncIterator[Api]:
    async with aiohttp.ClientSession() as session:
        yield Api(session, billing_stack.gateway_url, openapi_doc)


@pytest.fixture
async def redis(billing_stack: Stack) -> AsyncIterator[aioredis.Redis]:
    """This module's stack's Redis (not the shared mesh's)."""
    async with stack_redis(billing_stack) as client:
        yield client


async def _alerts(redis: aioredis.Redis, tenant: Tenant) -> list[dict[str, Any]]:
    raw = await redis.lrange(f"wavis:metering:alerts:{tenant.account_id}:log", 0, -1)
    return [json.loads(entry) for entry in reversed(raw)]


async def _deliver(api: Api, payload: bytes, signature: str | None = None) -> Any:
    return await api.post("/api/v1/billing/stripe_webhook", data=payload, headers={
        "Stripe-Signature": signature or fake_stripe.signature(payload),
        "Content-Type": "application/json"})


async def _subscription(api: Api, tenant: Tenant) -> dict[str, Any]:
    reply = await api.get("/api/v1/billing/subscription", headers=tenant.auth(ip=fresh_ip()))
    assert reply.status == 200, reply.text
    return reply.json


async def test_health_lists_stripe_when_configured(bapi: Api, api: Api) -> None:
    body = (await bapi.get("/api/v1/health")).json
    assert body["dependencies"][-1]["name"] == "stripe"
    assert body["dependencies"][-1]["status"] == "up" and body["status"] == "healthy"
    unconfigured = (await api.get("/api/v1/health")).json  # the shared mesh: no Stripe
    assert "stripe" not in [d["name"] for d in unconfigured["dependencies"]]


async def test_subscribe_through_checkout_and_webhooks(
        billing_stack: Stack, bapi: Api, stripe_server: FakeStripe,
        redis: aioredis.Redis) -> None:
    tenant = await create_account(billing_stack, plan="free")
    reply = await bapi.post("/api/v1/billing/subscribe", headers=tenant.auth(ip=fresh_ip()), json={
        "plan": "pro", "email": "billing@example.com"})
    assert reply.status == 200, reply.text
    session_id = reply.json["checkout_session_id"]
    assert reply.json["checkout_url"] == f"https://checkout.stripe.com/c/pay/{session_id}"
    assert reply.json["subscription"]["plan"] == "free"
    assert reply.json["subscription"]["pending_plan"] == "pro"
    customer = stripe_server.calls("POST", "/v1/customers")[-1]
    assert customer == {"email": "billing@example.com",
                        "metadata": {"account_id": tenant.account_id}}
    checkout = stripe_server.calls("POST", "/v1/checkout/sessions")[-1]
    assert checkout["mode"] == "subscription"
    assert checkout["line_items"]["0"]["price_data"] == {
        "currency": "usd", "unit_amount": "4900", "recurring": {"interval": "month"},
        "product_data": {"name": "WAVIS pro plan"}}
    assert checkout["metadata"] == {"account_id": tenant.account_id, "plan": "pro",
                                    "billing_cycle": "monthly"}

    completed = fake_stripe.event("checkout.session.completed", {
        "id": session_id, "object": "checkout.session", "mode": "subscription",
        "customer": reply.json["subscription"]["stripe_customer_id"],
        "subscription": "sub_fake_pro", "metadata": checkout["metadata"]})
    first = await _deliver(bapi, completed)
    assert first.status == 200 and first.json["duplicate"] is False
    sub = await _subscription(bapi, tenant)
    assert (sub["plan"], sub["status"], sub["stripe_subscription_id"]) == (
        "pro", "active", "sub_fake_pro")
    # The same event again (Stripe retries): applied once.
    await bapi.post("/api/v1/billing/budget", headers=tenant.auth(ip=fresh_ip()),
                    json={"monthly_cap_usd": 10, "mode": "soft"})
    again = await _deliver(bapi, completed)
    assert again.status == 200 and again.json["duplicate"] is True

    failed = fake_stripe.event("invoice.payment_failed", {
        "id": "in_fake_1", "object": "invoice", "customer": sub["stripe_customer_id"],
        "subscription": "sub_fake_pro", "amount_due": 4900, "attempt_count": 1,
        "period_start": int(time.time())})
    assert (await _deliver(bapi, failed)).status == 200
    assert (await _subscription(bapi, tenant))["status"] == "past_due"
    paid = fake_stripe.event("invoice.paid", {
        "id": "in_fake_1", "object": "invoice", "customer": sub["stripe_customer_id"],
        "subscription": "sub_fake_pro", "amount_paid": 4900, "period_start": int(time.time())})
    assert (await _deliver(bapi, paid)).status == 200
    assert (await _subscription(bapi, tenant))["status"] == "active"
    invoices = (await bapi.get("/api/v1/billing/invoices", headers=tenant.auth(ip=fresh_ip()))).json
    assert invoices["data"][0]["status"] == "paid"
    assert invoices["data"][0]["stripe_invoice_id"] == "in_fake_1"
    assert [a["type"] for a in await _alerts(redis, tenant)] == ["invoice_failed",
                                                                 "invoice_paid"]
    updated = fake_stripe.event("customer.subscription.updated", {
        "id": "sub_fake_pro", "object": "subscription", "status": "unpaid",
        "customer": sub["stripe_customer_id"]})
    assert (await _deliver(bapi, updated)).status == 200
    assert (await _subscription(bapi, tenant))["status"] == "unpaid"

    cancelled = await bapi.request("DELETE", "/api/v1/billing/subscription",
                                   headers=tenant.auth(ip=fresh_ip()))
    assert cancelled.status == 200
    assert (cancelled.json["plan"], cancelled.json["status"]) == ("free", "cancelled")
    assert stripe_server.requests[-1][:2] == ("DELETE", "/v1/subscriptions/sub_fake_pro")


async def test_subscription_deleted_in_stripe_moves_to_free(
        billing_stack: Stack, bapi: Api) -> None:
    tenant = await create_account(billing_stack, plan="free")
    await _deliver(bapi, fake_stripe.event("checkout.session.completed", {
        "id": "cs_x", "object": "checkout.session", "customer": "cus_deleted_case",
        "subscription": "sub_deleted_case", "client_reference_id": tenant.account_id,
        "metadata": {"account_id": tenant.account_id, "plan": "scale",
                     "billing_cycle": "annual"}}))
    sub = await _subscription(bapi, tenant)
    assert (sub["plan"], sub["billing_cycle"]) == ("scale", "annual")
    await _deliver(bapi, fake_stripe.event("customer.subscription.deleted", {
        "id": "sub_deleted_case", "object": "subscription", "status": "canceled",
        "customer": "cus_deleted_case"}))
    sub = await _subscription(bapi, tenant)
    assert (sub["plan"], sub["status"], sub["stripe_subscription_id"]) == (
        "free", "cancelled", None)


async def test_bad_and_stale_signatures_are_400(billing_stack: Stack, bapi: Api) -> None:
    tenant = await create_account(billing_stack, plan="free")
    payload = fake_stripe.event("checkout.session.completed", {
        "id": "cs_y", "object": "checkout.session", "customer": "cus_y",
        "metadata": {"account_id": tenant.account_id, "plan": "pro"}})
    wrong = fake_stripe.signature(payload, secret="whsec_not_the_right_one_at_all_000000")
    stale = fake_stripe.signature(payload, timestamp=int(time.time()) - 3600)
    altered = fake_stripe.signature(payload)
    for signature, body in ((wrong, payload), (stale, payload), ("", payload),
                            (altered, payload.replace(b"pro", b"scale"))):
        reply = await _deliver(bapi, body, signature or "t=1,v1=00")
        assert reply.status == 400
        assert reply.json["error"]["code"] == "INVALID_SIGNATURE"
    assert (await _subscription(bapi, tenant))["plan"] == "free"  # nothing applied
    # The untouched event still applies: a refused delivery does not mark it as seen.
    assert (await _deliver(bapi, payload)).json["duplicate"] is False
    assert (await _subscription(bapi, tenant))["plan"] == "pro"


async def test_test_keys_never_reach_stripe(billing_stack: Stack, bapi: Api,
                                            stripe_server: FakeStripe) -> None:
    tenant = await create_account(billing_stack, plan="free", environment="test")
    before = len(stripe_server.requests)
    reply = await bapi.post("/api/v1/billing/subscribe", headers=tenant.auth(ip=fresh_ip()), json={
        "plan": "starter", "email": "ci@example.com", "billing_cycle": "annual"})
    assert reply.status == 200, reply.text
    assert (reply.json["plan"], reply.json["status"], reply.json["billing_cycle"]) == (
        "starter", "active", "annual")
    cancelled = await bapi.request("DELETE", "/api/v1/billing/subscription",
                                   headers=tenant.auth(ip=fresh_ip()))
    assert cancelled.json["status"] == "cancelled"
    assert len(stripe_server.requests) == before
    for body, status in (({"plan": "enterprise", "email": "a@b.co"}, 400),
                         ({"plan": "gold", "email": "a@b.co"}, 400),
                         ({"plan": "pro", "email": "nope"}, 400), ({"plan": "pro"}, 422)):
        bad = await bapi.post("/api/v1/billing/subscribe", json=body,
                              headers=tenant.auth(ip=fresh_ip()))
        assert bad.status == status, body


async def test_stripe_unconfigured_is_502(mesh: Stack, api: Api) -> None:
    tenant = await create_account(mesh, plan="free")
    reply = await api.post("/api/v1/billing/subscribe", headers=tenant.auth(ip=fresh_ip()), json={
        "plan": "pro", "email": "owner@example.com"})
    assert reply.status == 502
    assert reply.json["error"]["code"] == "UPSTREAM_UNAVAILABLE"
    assert "Stripe is not configured" in reply.json["error"]["message"]
    payload = fake_stripe.event("invoice.paid", {"id": "in_z", "object": "invoice"})
    webhook = await _deliver(api, payload)
    assert webhook.status == 502 and "WAVIS_STRIPE_WEBHOOK_SECRET" in webhook.json["error"][
        "message"]
    # Free plans need no Stripe.
    free = await api.post("/api/v1/billing/subscribe", headers=tenant.auth(ip=fresh_ip()), json={
        "plan": "free", "email": "owner@example.com"})
    assert free.status == 200 and free.json["plan"] == "free"


async def _metered_op(request: web.Request) -> web.Response:
    async with metered(request, request.query["op"], int(request.query["fcu"])) as charge:
        pass
    return web.json_response({"cost_usd": charge.cost_usd})


async def test_invoices_sum_the_ledger_to_the_cent(billing_stack: Stack, bapi: Api,
                                                   redis: aioredis.Redis) -> None:
    payg = await create_account(billing_stack, plan="payg")
    pro = await create_account(billing_stack, plan="pro")
    endpoint = Endpoint("POST", "/_test/op", _metered_op, "test", "Test", {200: Reply("ok")},
                        min_role=TRIAL)
    recorded: dict[str, float] = {"payg": 0.0, "pro": 0.0}
    payg_total = 0.0
    # Big FCU numbers (the test endpoint takes any weight) so the cents mean something.
    plan_ops = (("matmul", 1_234_567, 7), ("bootstrap", 2_000_000, 3), ("add", 55_555, 11))
    async with edge_app(billing_stack, endpoint) as base, aiohttp.ClientSession() as session:
        for name, tenant in (("payg", payg), ("pro", pro)):
            for op, fcu, times in plan_ops:
                for _ in range(times):
                    async with session.post(base + "/api/v1/_test/op", params={
                            "op": op, "fcu": str(fcu)}, headers=tenant.auth(ip=fresh_ip())) as r:
                        recorded[name] += (await r.json())["cost_usd"]
    total_fcu = 7 * 1_234_567 + 3 * 2_000_000 + 11 * 55_555
    for name, tenant in (("payg", payg), ("pro", pro)):
        page = await bapi.get("/api/v1/billing/invoices", headers=tenant.auth(ip=fresh_ip()))
        assert page.status == 200, page.text
        [invoice] = page.json["data"]
        if name == "payg":
            payg_total = invoice["total_usd"]
        assert invoice == (await bapi.get(f"/api/v1/billing/invoices/{invoice['invoice_id']}",
                                          headers=tenant.auth(ip=fresh_ip()))).json
        assert invoice["status"] == "open" and invoice["finalized"] is False
        assert invoice["total_fcu"] == total_fcu
        # $30.506148 recorded: lines of 1.22 + 12.00 + 17.29 (largest remainder) = 30.51.
        assert invoice["usage_usd"] == round(recorded[name], 2) == 30.51
        usage_lines = [(line["operation"], line["quantity"], line["fcu"], line["amount_usd"])
                       for line in invoice["lines"] if line["kind"] == "usage"]
        assert usage_lines == [("add", 11, 611_105, 1.22), ("bootstrap", 3, 6_000_000, 12.0),
                               ("matmul", 7, 8_641_969, 17.29)]
    assert payg_total == 30.51
    assert invoice["total_usd"] == 49.0  # pro: the plan fee; usage is included
    assert [line["kind"] for line in invoice["lines"]] == ["plan", "usage", "usage", "usage",
                                                           "included"]
    # Another account's invoice is not found.
    other = await bapi.get(f"/api/v1/billing/invoices/{invoice['invoice_id']}",
                           headers=payg.auth(ip=fresh_ip()))
    assert other.status == 404


async def test_a_past_month_is_finalized_once_with_exact_cents(
        billing_stack: Stack, bapi: Api, redis: aioredis.Redis) -> None:
    tenant = await create_account(billing_stack, plan="payg")
    # An account opened last month, with that month's ledger sums: 3,333,333 FCU of
    # multiply and 1,666,667 of add -> $6.666666 + $3.333334 = $10.00 exactly.
    now = time.gmtime()
    year, month = (now.tm_year - 1, 12) if now.tm_mon == 1 else (now.tm_year, now.tm_mon - 1)
    period = f"{year:04d}-{month:02d}"
    await redis.hset(f"wavis:metering:account:{tenant.account_id}", "created_at",
                     f"{period}-15T00:00:00Z")
    await redis.hset(f"wavis:metering:usage:{tenant.account_id}:{period}", mapping={
        "fcu": 5_000_000, "nano": 10_000_000_000, "count": 3,
        "fcu:multiply": 3_333_333, "nano:multiply": 6_666_666_000, "count:multiply": 2,
        "fcu:add": 1_666_667, "nano:add": 3_333_334_000, "count:add": 1})
    for _ in range(2):
        page = (await bapi.get("/api/v1/billing/invoices", headers=tenant.auth(ip=fresh_ip()))).json
    current, past = page["data"]
    assert past["period"] == period and past["finalized"] is True and current["finalized"] is False
    assert past["usage_usd"] == 10.0 and past["total_usd"] == 10.0
    assert past["overage_fcu"] == 5_000_000
    assert sum(line["amount_usd"] for line in past["lines"]) == pytest.approx(10.0)
    assert [line["amount_usd"] for line in past["lines"] if line["kind"] == "usage"] == [
        3.33, 6.67]
    created = [a for a in await _alerts(redis, tenant) if a["type"] == "invoice_created"]
    assert [a["data"]["invoice_id"] for a in created] == [past["invoice_id"]]
    limited = await bapi.get("/api/v1/billing/invoices?limit=1", headers=tenant.auth(ip=fresh_ip()))
    assert limited.json["has_more"] is True
    second = await bapi.get("/api/v1/billing/invoices?limit=1&cursor="
                            + limited.json["next_cursor"], headers=tenant.auth(ip=fresh_ip()))
    assert [i["invoice_id"] for i in second.json["data"]] == [past["invoice_id"]]


async def test_a_past_month_is_invoiced_on_the_plan_it_ended_on(
        billing_stack: Stack, bapi: Api, redis: aioredis.Redis) -> None:
    """An account on pro, billed annually, all of last month, that cancels this month: last
    month's invoice still charges pro's annual fee and credits its allowance; this month's is
    on the free plan it is on now."""
    tenant = await create_account(billing_stack, plan="pro")
    now = time.gmtime()
    year, month = (now.tm_year - 1, 12) if now.tm_mon == 1 else (now.tm_year, now.tm_mon - 1)
    period = f"{year:04d}-{month:02d}"
    opened = calendar.timegm((year, month, 15, 0, 0, 0))
    account_key = f"wavis:metering:account:{tenant.account_id}"
    # The history the service notes, as it would have been noted last month.
    await redis.hset(account_key, "created_at", f"{period}-15T00:00:00Z")
    await redis.delete(f"{account_key}:terms")
    await redis.zadd(f"{account_key}:terms", {f"{opened:.6f}|pro|annual": opened})
    await redis.hset(f"wavis:metering:usage:{tenant.account_id}:{period}", mapping={
        "fcu": 1000, "nano": 2_000_000, "count": 1,
        "fcu:add": 1000, "nano:add": 2_000_000, "count:add": 1})
    cancelled = await bapi.request("DELETE", "/api/v1/billing/subscription",
                                   headers=tenant.auth(ip=fresh_ip()))
    assert cancelled.status == 200, cancelled.text
    assert (await _subscription(bapi, tenant))["plan"] == "free"
    page = (await bapi.get("/api/v1/billing/invoices", headers=tenant.auth(ip=fresh_ip()))).json
    current, past = page["data"]
    assert (past["period"], past["plan"], past["finalized"]) == (period, "pro", True)
    assert [(line["kind"], line["amount_usd"]) for line in past["lines"]] == [
        ("plan", 40.67), ("usage", 0.0), ("included", -0.0)]
    assert past["lines"][0]["description"] == "pro plan (annual)"
    assert past["total_usd"] == 40.67  # $49 x 12 x 0.83 / 12, the usage included
    assert (current["plan"], current["total_usd"]) == ("free", 0.0)


async def _op(base: str, tenant: Tenant, fcu: int, op: str = "multiply") -> int:
    async with aiohttp.ClientSession() as session, session.post(
            base + "/api/v1/_test/op", params={"op": op, "fcu": str(fcu)},
            headers=tenant.auth(ip=fresh_ip())) as reply:
        return reply.status


async def test_test_mode_is_a_sandbox(billing_stack: Stack, bapi: Api,
                                      stripe_server: FakeStripe, redis: aioredis.Redis) -> None:
    """A wvs_test_ key sees and changes only test-mode state: its own ledger, invoices,
    budget and simulated subscription; it never reaches Stripe and never changes the live
    account's plan, limits or budget."""
    live = await create_account(billing_stack, plan="free")
    test = Tenant(live.account_id, await create_key(billing_stack, live, "account_admin",
                                                    environment="test"))
    before = len(stripe_server.requests)
    subscribed = await bapi.post("/api/v1/billing/subscribe", headers=test.auth(ip=fresh_ip()),
                                 json={"plan": "scale", "email": "ci@example.com"})
    assert subscribed.status == 200, subscribed.text
    assert subscribed.json["plan"] == "scale"
    assert (await _subscription(bapi, test))["plan"] == "scale"
    assert (await _subscription(bapi, live))["plan"] == "free"
    # The live key keeps the free plan's limits.
    balance = await bapi.get("/api/v1/billing/balance", headers=live.auth(ip=fresh_ip()))
    assert balance.json["plan"] == "free" and balance.json["fcu_included"] == 10_000
    assert balance.headers["X-RateLimit-Daily-Limit"] == "1000"
    # A budget set in test mode is test mode's.
    capped = await bapi.post("/api/v1/billing/budget", headers=test.auth(ip=fresh_ip()),
                             json={"monthly_cap_usd": 5, "mode": "hard"})
    assert capped.status == 200 and capped.json["monthly_cap_usd"] == 5
    live_budget = await bapi.get("/api/v1/billing/budget", headers=live.auth(ip=fresh_ip()))
    assert live_budget.json["monthly_cap_usd"] is None
    # Usage lands in the ledger of the key's mode, which records it.
    endpoint = Endpoint("POST", "/_test/op", _metered_op, "test", "Test", {200: Reply("ok")},
                        min_role=TRIAL)
    async with edge_app(billing_stack, endpoint) as base:
        assert await _op(base, test, 690) == 200
        assert await _op(base, live, 50) == 200
    # The mode travels with the work to the service that meters it.
    key = (await bapi.post("/api/v1/keys/generate", headers=test.auth(ip=fresh_ip()), json={
        "scheme": "ckks", "params": {"poly_degree": 2048, "scale_bits": 40, "max_depth": 2,
                                     "security_level": "testing"}})).json
    ciphertext = (await bapi.post("/api/v1/ciphertexts/encrypt", headers=test.auth(
        ip=fresh_ip()), json={"key_id": key["key_id"], "values": [1.0]})).json
    multiplied = await bapi.post("/api/v1/compute/multiply", headers=test.auth(ip=fresh_ip()),
                                 json={"key_id": key["key_id"], "ciphertext_ids": [
                                     ciphertext["ciphertext_id"]] * 2})
    assert multiplied.status == 200 and multiplied.json["cost_units"] == 5, multiplied.text
    # ...and to asynchronous work, recorded when it completes.
    queued = await bapi.post("/api/v1/compute/rescale", headers=test.auth(ip=fresh_ip()),
                             json={"key_id": key["key_id"], "async": True, "ciphertext_ids": [
                                 multiplied.json["result_ciphertext_id"]]})
    assert queued.status == 202, queued.text
    for _ in range(100):
        polled = await bapi.get(f"/api/v1/compute/{queued.json['op_id']}",
                                headers=test.auth(ip=fresh_ip()))
        if polled.json["status"] == "completed":
            break
        await asyncio.sleep(0.1)
    assert polled.json["status"] == "completed"
    usage = {}
    for mode, who in (("live", live), ("test", test)):
        usage[mode] = (await bapi.get("/api/v1/billing/usage",
                                      headers=who.auth(ip=fresh_ip()))).json["total_fcu"]
    assert usage == {"live": 50, "test": 696}
    period = time.strftime("%Y-%m", time.gmtime())
    entries = [json.loads(e) for key in await redis.keys(
        f"wavis:metering:ledger:{live.account_id}*:{period}")
        for e in await redis.lrange(key, 0, -1)]
    assert sorted((e["environment"], e["fcu"]) for e in entries) == [
        ("live", 50), ("test", 1), ("test", 5), ("test", 690)]
    for mode, who, fcu, plan in (("live", live, 50, "free"), ("test", test, 696, "scale")):
        [invoice] = (await bapi.get("/api/v1/billing/invoices",
                                    headers=who.auth(ip=fresh_ip()))).json["data"]
        assert (invoice["total_fcu"], invoice["plan"]) == (fcu, plan), mode
        assert (await bapi.get("/api/v1/billing/balance",
                               headers=who.auth(ip=fresh_ip()))).json["fcu_used"] == fcu
    # Cancelling in test mode ends the simulation only.
    cancelled = await bapi.request("DELETE", "/api/v1/billing/subscription",
                                   headers=test.auth(ip=fresh_ip()))
    assert cancelled.json["status"] == "cancelled"
    assert (await _subscription(bapi, live))["status"] == "active"
    assert len(stripe_server.requests) == before
