"""Subscriptions: plan changes at once (free) or through Stripe Checkout, cancel, and the
Stripe webhook events that move them (each Stripe event id applied once). Test keys change a
simulated subscription of test mode only (services/metering/modes.py).

Keys: subscription:{acct} (hash), subscription:{acct}:test (test mode's, with its plan),
stripe:customer:{cus} and stripe:subscription:{sub} (-> account id), stripe:event:{evt}
(applied marker, 30 days).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, cast

import redis.asyncio as aioredis

from services.metering.alerts import Alerts
from services.metering.invoices import Invoices, invoice_event, plan_fee_cents
from services.metering.keyspace import NS
from services.metering.ledger import month_bounds, month_of
from services.metering.modes import is_test, scope_of
from services.metering.plans import Plan
from services.metering.store import AccountStore
from services.metering.stripe_client import StripeBilling
from services.metering.terms import note_terms
from wavis.core.emails import is_email
from wavis.core.errors import WavisError
from wavis.core.plan_names import SELF_SERVE_PLANS
from wavis.core.timefmt import rfc3339
from wavis.generated.metering.v1 import billing_pb2

log = logging.getLogger(__name__)

_EVENT_SECONDS = 30 * 86_400
SCHEDULED = f"{NS}:subscriptions:scheduled"  # zset account -> when its downgrade applies
PAYG_ACCOUNTS = f"{NS}:billing:payg"  # set: accounts with pay-as-you-go months to collect
# Stripe subscription status -> ours.
_STATUSES = {"active": "active", "trialing": "trial", "past_due": "past_due",
             "unpaid": "unpaid", "canceled": "cancelled", "incomplete": "past_due",
             "incomplete_expired": "cancelled", "paused": "past_due"}


async def _nothing(account_id: str) -> None:
    return None


def _sub_key(account_id: str) -> str:
    return f"{NS}:subscription:{account_id}"


def _customer_key(customer_id: str) -> str:
    return f"{NS}:stripe:customer:{customer_id}"


def _stripe_sub_key(subscription_id: str) -> str:
    return f"{NS}:stripe:subscription:{subscription_id}"


class Subscriptions:
    def __init__(self, redis: aioredis.Redis, store: AccountStore, stripe: StripeBilling,
                 invoices: Invoices, alerts: Alerts) -> None:
        self.redis = redis
        self.store = store
        self.stripe = stripe
        self.invoices = invoices
        self.alerts = alerts
        # Charges pay-as-you-go usage of the month so far (set by the collection module).
        self.on_payg_end: Callable[[str], Awaitable[None]] = _nothing

    async def record(self, account_id: str) -> dict[str, str]:
        return cast(dict[str, str], await self.redis.hgetall(_sub_key(account_id)))

    async def get(self, account_id: str,
                  environment: str = "live") -> billing_pb2.Subscription:
        if not is_test(environment):
            await self.apply_due(account_id)
        account = await self.store.get_account(account_id)
        record = await self.record(scope_of(account_id, environment))
        start, end = month_bounds(month_of(time.time()))
        default_status = "trial" if account["plan"] == "trial" else "active"
        return billing_pb2.Subscription(
            plan=record.get("plan", account["plan"]) if is_test(environment)
            else account["plan"], status=record.get("status", default_status),
            billing_cycle=record.get("billing_cycle", "monthly"),
            email=record.get("email", account.get("email", "")),
            current_period_start=rfc3339(start.timestamp()),
            current_period_end=rfc3339(end.timestamp()),
            stripe_customer_id=record.get("stripe_customer_id", ""),
            stripe_subscription_id=record.get("stripe_subscription_id", ""),
            cancelled_at=record.get("cancelled_at", ""),
            pending_plan=record.get("pending_plan", ""),
            pending_plan_effective_at=rfc3339(float(record["pending_at"]))
            if record.get("pending_at") else "")

    async def terms(self, account_id: str, environment: str) -> tuple[dict[str, str], Plan,
                                                                        str]:
        """(the account as its invoices see it, plan, billing cycle) in one mode: in test
        mode, the test scope with the simulated plan."""
        account = await self.store.get_account(account_id)
        subscription = await self.get(account_id, environment)
        scoped = account | {"account_id": scope_of(account_id, environment)}
        return scoped, self.store.plan(subscription.plan), subscription.billing_cycle

    async def _apply(self, account_id: str, plan: str, fields: dict[str, str]) -> None:
        await self.store.set_plan(account_id, plan, fields.get("billing_cycle"))
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(_sub_key(account_id), mapping=cast(Any, fields))
            if plan == "payg":  # its months are collected (services/metering/collection.py)
                pipe.sadd(PAYG_ACCOUNTS, account_id)
            await pipe.execute()

    async def subscribe(self, request: billing_pb2.SubscribeRequest,
                        ) -> billing_pb2.SubscribeResponse:
        plan, cycle = request.plan, request.billing_cycle or "monthly"
        if plan == "enterprise":
            raise WavisError("VALIDATION_ERROR", "Enterprise plans are arranged with sales, "
                             "not through the API.")
        if plan not in SELF_SERVE_PLANS:
            raise WavisError("VALIDATION_ERROR", f"plan must be one of "
                             f"{', '.join(SELF_SERVE_PLANS)}.")
        if cycle not in ("monthly", "annual"):
            raise WavisError("VALIDATION_ERROR", "billing_cycle must be monthly or annual.")
        if not is_email(request.email):
            raise WavisError("VALIDATION_ERROR", "email must be an email address.")
        account = await self.store.get_account(request.account_id)
        if account["plan"] == "trial":
            raise WavisError("FORBIDDEN", "Trial accounts cannot subscribe; open an account.")
        if is_test(request.environment):  # simulated: never Stripe, never the live plan
            await self._simulate(request.account_id, plan, {
                "status": "active", "billing_cycle": cycle, "email": request.email,
                "cancelled_at": ""})
            return billing_pb2.SubscribeResponse(
                subscription=await self.get(request.account_id, request.environment))
        record = await self.record(request.account_id)
        stripe_sub = record.get("stripe_subscription_id", "")
        if stripe_sub:  # one subscription per account: it changes, none is added
            await self._change(request.account_id, account["plan"], record, plan, cycle)
            return billing_pb2.SubscribeResponse(
                subscription=await self.get(request.account_id))
        if plan == "free":
            if account["plan"] == "payg":  # leaving pay as you go: the month so far is due
                await self.on_payg_end(request.account_id)
            await self._apply(request.account_id, plan, {
                "status": "active", "billing_cycle": cycle, "email": request.email,
                "pending_plan": "", "pending_at": "", "cancelled_at": "",
                "stripe_subscription_id": ""})
            return billing_pb2.SubscribeResponse(
                subscription=await self.get(request.account_id))
        if plan == "payg" and await self.invoices.closed(request.account_id,
                                                         month_of(time.time())):
            # This month was charged when pay as you go ended; its invoice is final.
            _, next_month = month_bounds(month_of(time.time()))
            raise WavisError("VALIDATION_ERROR", "Pay as you go ended this month and the "
                             "month was invoiced; it can be taken again from "
                             f"{rfc3339(next_month.timestamp())}.", {"field": "plan"})
        fee = plan_fee_cents(plan, cycle)
        customer = record.get("stripe_customer_id") or await self._customer(
            request.account_id, request.email)
        session_id, url = await self.stripe.checkout(request.account_id, customer, plan, cycle,
                                                     fee * 12 if cycle == "annual" else fee)
        await self.redis.hset(_sub_key(request.account_id), mapping={
            "pending_plan": plan, "checkout_session_id": session_id, "email": request.email,
            "pending_cycle": cycle, "pending_at": ""})
        return billing_pb2.SubscribeResponse(
            subscription=await self.get(request.account_id), checkout_url=url,
            checkout_session_id=session_id)

    async def _change(self, account_id: str, current: str, record: dict[str, str], plan: str,
                      cycle: str) -> None:
        """Change the account's one Stripe subscription: an upgrade at once (prorated), a
        downgrade at the end of the period, as Stripe Billing does
        (docs/decisions/0068-plan-changes-on-one-subscription.md)."""
        sub_id = record["stripe_subscription_id"]
        if plan == current and cycle == record.get("billing_cycle", "monthly"):
            await self.redis.hset(_sub_key(account_id), mapping={
                "pending_plan": "", "pending_cycle": "", "pending_at": ""})
            await self.redis.zrem(SCHEDULED, account_id)
            return
        fee = plan_fee_cents(plan, cycle)
        upgrade = plan_fee_cents(plan, "monthly") > plan_fee_cents(current, "monthly")
        if fee == 0:  # free or pay as you go: no subscription after this period
            await self.stripe.cancel_at_period_end(sub_id)
        else:
            await self.stripe.change_price(sub_id, plan, cycle,
                                           fee * 12 if cycle == "annual" else fee,
                                           prorate=upgrade)
        if upgrade:
            await self._apply(account_id, plan, {"billing_cycle": cycle, "pending_plan": "",
                                                 "pending_cycle": "", "pending_at": ""})
            await self.redis.zrem(SCHEDULED, account_id)
            return
        _, period_end = month_bounds(month_of(time.time()))
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(_sub_key(account_id), mapping={
                "pending_plan": plan, "pending_cycle": cycle,
                "pending_at": str(period_end.timestamp())})
            pipe.zadd(SCHEDULED, {account_id: period_end.timestamp()})
            await pipe.execute()

    async def apply_due(self, account_id: str, now: float | None = None) -> bool:
        """Apply a downgrade whose period has ended; whether one was applied."""
        record = await self.record(account_id)
        pending_at = record.get("pending_at")
        if not pending_at or float(pending_at) > (time.time() if now is None else now):
            return False
        plan = record.get("pending_plan") or ""
        fields = {"pending_plan": "", "pending_cycle": "", "pending_at": "",
                  "billing_cycle": record.get("pending_cycle") or "monthly"}
        if plan_fee_cents(plan, "monthly") == 0:  # its Stripe subscription ended with it
            fields["stripe_subscription_id"] = ""
        if plan in SELF_SERVE_PLANS:
            await self._apply(account_id, plan, fields)
        await self.redis.zrem(SCHEDULED, account_id)
        return True

    async def apply_all_due(self) -> int:
        """Every downgrade whose period has ended (the metering service's close loop)."""
        due = await self.redis.zrangebyscore(SCHEDULED, "-inf", time.time(), start=0, num=100)
        return sum([await self.apply_due(str(account_id)) for account_id in due])

    async def _customer(self, account_id: str, email: str) -> str:
        customer = await self.stripe.create_customer(account_id, email)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(_sub_key(account_id), "stripe_customer_id", customer)
            pipe.set(_customer_key(customer), account_id)
            await pipe.execute()
        return customer

    async def cancel(self, account_id: str, environment: str) -> billing_pb2.Subscription:
        account = await self.store.get_account(account_id)
        if account["plan"] == "trial":
            raise WavisError("FORBIDDEN", "Trial accounts have no subscription to cancel.")
        if is_test(environment):
            await self._simulate(account_id, "free", {
                "status": "cancelled", "cancelled_at": rfc3339(time.time())})
            return await self.get(account_id, environment)
        record = await self.record(account_id)
        stripe_sub = record.get("stripe_subscription_id", "")
        if stripe_sub:
            await self.stripe.cancel_subscription(stripe_sub)
        if account["plan"] == "payg":  # the month so far is charged now
            await self.on_payg_end(account_id)
        await self._cancelled(account_id)
        return await self.get(account_id)

    async def _simulate(self, account_id: str, plan: str, fields: dict[str, str]) -> None:
        """Test mode: the simulated subscription (and the terms its invoices use) change; the
        live account does not."""
        scope = scope_of(account_id, "test")
        record = await self.record(scope)
        cycle = fields.get("billing_cycle") or record.get("billing_cycle", "monthly")
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(_sub_key(scope), mapping=cast(Any, fields | {"plan": plan}))
            note_terms(pipe, scope, plan, cycle, time.time())
            await pipe.execute()

    async def _cancelled(self, account_id: str) -> None:
        await self._apply(account_id, "free", {
            "status": "cancelled", "cancelled_at": rfc3339(time.time()),
            "stripe_subscription_id": "", "pending_plan": "", "pending_cycle": "",
            "pending_at": ""})
        await self.redis.zrem(SCHEDULED, account_id)

    # Stripe webhooks ----------------------------------------------------------------------

    async def handle_webhook(self, payload: bytes, signature: str,
                             ) -> billing_pb2.HandleStripeWebhookResponse:
        event = self.stripe.verify(payload, signature)
        event_id, event_type = str(event["id"]), str(event.get("type", ""))
        marker = f"{NS}:stripe:event:{event_id}"
        if not await self.redis.set(marker, "1", nx=True, ex=_EVENT_SECONDS):
            return billing_pb2.HandleStripeWebhookResponse(event_id=event_id, type=event_type,
                                                            duplicate=True, handled=True)
        obj = cast(dict[str, Any], (event.get("data") or {}).get("object") or {})
        handler = {
            "checkout.session.completed": self._checkout_completed,
            "customer.subscription.updated": self._subscription_updated,
            "customer.subscription.deleted": self._subscription_deleted,
            "invoice.paid": self._invoice_paid,
            "invoice.payment_failed": self._invoice_failed,
        }.get(event_type)
        try:
            if handler is not None:
                await handler(obj)
        except BaseException:
            await self.redis.delete(marker)  # not applied: Stripe's retry may apply it
            raise
        return billing_pb2.HandleStripeWebhookResponse(
            event_id=event_id, type=event_type, duplicate=False, handled=handler is not None)

    async def _account_for(self, obj: dict[str, Any]) -> str | None:
        metadata = obj.get("metadata") or {}
        candidates = []
        if obj.get("object") == "subscription" and obj.get("id"):
            candidates.append(_stripe_sub_key(str(obj["id"])))
        if isinstance(obj.get("subscription"), str):
            candidates.append(_stripe_sub_key(obj["subscription"]))
        if isinstance(obj.get("customer"), str):
            candidates.append(_customer_key(obj["customer"]))
        for key in candidates:
            account_id = await self.redis.get(key)
            if account_id:
                return str(account_id)
        account_id = metadata.get("account_id") or obj.get("client_reference_id")
        if account_id and await self.redis.exists(f"{NS}:account:{account_id}"):
            return str(account_id)
        log.warning("stripe %s %s matches no account", obj.get("object"), obj.get("id"))
        return None

    async def _checkout_completed(self, obj: dict[str, Any]) -> None:
        account_id = await self._account_for(obj)
        metadata = obj.get("metadata") or {}
        plan = metadata.get("plan")
        if account_id is None or plan not in SELF_SERVE_PLANS:
            return
        record = await self.record(account_id)
        older = record.get("stripe_subscription_id", "")
        if older and older != obj.get("subscription"):  # the new one replaces it
            await self.stripe.cancel_subscription(older)
        account = await self.store.get_account(account_id)
        if account["plan"] == "payg" and plan != "payg":  # the month so far is due
            await self.on_payg_end(account_id)
        fields = {"status": "active", "billing_cycle": metadata.get("billing_cycle", "monthly"),
                  "pending_plan": "", "pending_cycle": "", "pending_at": "", "cancelled_at": "",
                  "stripe_subscription_id": ""}
        async with self.redis.pipeline(transaction=True) as pipe:
            if isinstance(obj.get("customer"), str):
                fields["stripe_customer_id"] = obj["customer"]
                pipe.set(_customer_key(obj["customer"]), account_id)
            if isinstance(obj.get("subscription"), str):
                fields["stripe_subscription_id"] = obj["subscription"]
                pipe.set(_stripe_sub_key(obj["subscription"]), account_id)
            await pipe.execute()
        # The card it saved pays later invoices (pay as you go): the customer's default.
        fields["payment_method"] = await self.stripe.save_payment_method(obj)
        await self._apply(account_id, plan, fields)

    async def _current(self, obj: dict[str, Any]) -> str | None:
        """The account whose current subscription `obj` is; None for any other (an older
        subscription's events change nothing)."""
        account_id = await self._account_for(obj)
        if account_id is None:
            return None
        record = await self.record(account_id)
        if obj.get("id") != record.get("stripe_subscription_id"):
            log.info("stripe subscription %s is not %s's current one", obj.get("id"),
                     account_id)
            return None
        return account_id

    async def _subscription_updated(self, obj: dict[str, Any]) -> None:
        account_id = await self._current(obj)
        if account_id is None:
            return
        status = _STATUSES.get(str(obj.get("status")), "active")
        if status == "cancelled":
            await self._cancelled(account_id)
        else:
            await self.redis.hset(_sub_key(account_id), "status", status)

    async def _subscription_deleted(self, obj: dict[str, Any]) -> None:
        account_id = await self._current(obj)
        if account_id is not None:
            await self._cancelled(account_id)

    async def _stripe_invoice(self, obj: dict[str, Any]) -> tuple[str, str, dict[str, str]] | None:
        account_id = await self._account_for(obj)
        if account_id is None:
            return None
        account = await self.store.get_account(account_id)
        started = obj.get("period_start") or obj.get("created") or time.time()
        period = (obj.get("metadata") or {}).get("wavis_period") or month_of(float(started))
        return account_id, period, account

    async def _invoice_paid(self, obj: dict[str, Any]) -> None:
        found = await self._stripe_invoice(obj)
        if found is None:
            return
        account_id, period, account = found
        record = await self.record(account_id)
        invoice_id = await self.invoices.mark(account, period, {
            "status": "paid", "paid_at": rfc3339(time.time()),
            "stripe_invoice_id": str(obj.get("id", ""))},
            self.store.plan(account["plan"]), record.get("billing_cycle", "monthly"))
        if record.get("status") in ("past_due", "unpaid"):
            await self.redis.hset(_sub_key(account_id), "status", "active")
        await self._invoice_event("invoice_paid", account, invoice_id, record)

    async def _invoice_failed(self, obj: dict[str, Any]) -> None:
        found = await self._stripe_invoice(obj)
        if found is None:
            return
        account_id, period, account = found
        record = await self.record(account_id)
        invoice_id = await self.invoices.mark(account, period, {
            "stripe_invoice_id": str(obj.get("id", ""))},
            self.store.plan(account["plan"]), record.get("billing_cycle", "monthly"))
        await self.redis.hset(_sub_key(account_id), "status", "past_due")
        await self._invoice_event("invoice_failed", account, invoice_id, record)

    async def _invoice_event(self, event_type: str, account: dict[str, str], invoice_id: str,
                             record: dict[str, str]) -> None:
        invoice = await self.invoices.get(account["account_id"], invoice_id,
                                          self.store.plan(account["plan"]),
                                          record.get("billing_cycle", "monthly"))
        await self.alerts.emit(account["account_id"], event_type, invoice_event(
            event_type, invoice_id, invoice, invoice.status, invoice.stripe_invoice_id))
