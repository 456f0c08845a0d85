"""Subscriptions: plan changes at once (free, test keys) or through Stripe Checkout, cancel,
and the Stripe webhook events that move them (each Stripe event id applied once).

Keys: subscription:{acct} (hash), stripe:customer:{cus} and stripe:subscription:{sub}
(-> account id), stripe:event:{evt} (applied marker, 30 days).
"""

from __future__ import annotations

import logging
import time
from typing import Any, cast

import redis.asyncio as aioredis

from services.metering.alerts import Alerts
from services.metering.invoices import Invoices, plan_fee_cents
from services.metering.keyspace import NS
from services.metering.ledger import month_bounds, month_of
from services.metering.store import AccountStore
from services.metering.stripe_client import StripeBilling
from wavis.core.emails import is_email
from wavis.core.errors import WavisError
from wavis.core.timefmt import rfc3339
from wavis.generated.metering.v1 import metering_pb2

log = logging.getLogger(__name__)

SELF_SERVE_PLANS = ("free", "payg", "starter", "pro", "scale")
_EVENT_SECONDS = 30 * 86_400
# Stripe subscription status -> ours.
_STATUSES = {"active": "active", "trialing": "trial", "past_due": "past_due",
             "unpaid": "unpaid", "canceled": "cancelled", "incomplete": "past_due",
             "incomplete_expired": "cancelled", "paused": "past_due"}


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

    async def record(self, account_id: str) -> dict[str, str]:
        return cast(dict[str, str], await self.redis.hgetall(_sub_key(account_id)))

    async def get(self, account_id: str) -> metering_pb2.Subscription:
        account = await self.store.get_account(account_id)
        record = await self.record(account_id)
        start, end = month_bounds(month_of(time.time()))
        default_status = "trial" if account["plan"] == "trial" else "active"
        return metering_pb2.Subscription(
            plan=account["plan"], status=record.get("status", default_status),
            billing_cycle=record.get("billing_cycle", "monthly"),
            email=record.get("email", account.get("email", "")),
            current_period_start=rfc3339(start.timestamp()),
            current_period_end=rfc3339(end.timestamp()),
            stripe_customer_id=record.get("stripe_customer_id", ""),
            stripe_subscription_id=record.get("stripe_subscription_id", ""),
            cancelled_at=record.get("cancelled_at", ""),
            pending_plan=record.get("pending_plan", ""))

    async def _apply(self, account_id: str, plan: str, fields: dict[str, str]) -> None:
        await self.store.set_plan(account_id, plan, fields.get("billing_cycle"))
        await self.redis.hset(_sub_key(account_id), mapping=cast(Any, fields))

    async def subscribe(self, request: metering_pb2.SubscribeRequest,
                        ) -> metering_pb2.SubscribeResponse:
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
        record = await self.record(request.account_id)
        live = request.environment != "test"  # test keys never reach Stripe
        fee = plan_fee_cents(plan, cycle)
        if plan == "free" or not live:
            stripe_sub = record.get("stripe_subscription_id", "")
            if stripe_sub and live:
                await self.stripe.cancel_subscription(stripe_sub)
            await self._apply(request.account_id, plan, {
                "status": "active", "billing_cycle": cycle, "email": request.email,
                "pending_plan": "", "cancelled_at": "",
                "stripe_subscription_id": "" if live else stripe_sub})
            return metering_pb2.SubscribeResponse(
                subscription=await self.get(request.account_id))
        customer = record.get("stripe_customer_id") or await self._customer(
            request.account_id, request.email)
        session_id, url = await self.stripe.checkout(request.account_id, customer, plan, cycle,
                                                     fee * 12 if cycle == "annual" else fee)
        await self.redis.hset(_sub_key(request.account_id), mapping={
            "pending_plan": plan, "checkout_session_id": session_id, "email": request.email,
            "pending_cycle": cycle})
        return metering_pb2.SubscribeResponse(
            subscription=await self.get(request.account_id), checkout_url=url,
            checkout_session_id=session_id)

    async def _customer(self, account_id: str, email: str) -> str:
        customer = await self.stripe.create_customer(account_id, email)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(_sub_key(account_id), "stripe_customer_id", customer)
            pipe.set(_customer_key(customer), account_id)
            await pipe.execute()
        return customer

    async def cancel(self, account_id: str, environment: str) -> metering_pb2.Subscription:
        account = await self.store.get_account(account_id)
        if account["plan"] == "trial":
            raise WavisError("FORBIDDEN", "Trial accounts have no subscription to cancel.")
        record = await self.record(account_id)
        stripe_sub = record.get("stripe_subscription_id", "")
        if stripe_sub and environment != "test":
            await self.stripe.cancel_subscription(stripe_sub)
        await self._cancelled(account_id)
        return await self.get(account_id)

    async def _cancelled(self, account_id: str) -> None:
        await self._apply(account_id, "free", {
            "status": "cancelled", "cancelled_at": rfc3339(time.time()),
            "stripe_subscription_id": "", "pending_plan": ""})

    # Stripe webhooks ----------------------------------------------------------------------

    async def handle_webhook(self, payload: bytes, signature: str,
                             ) -> metering_pb2.HandleStripeWebhookResponse:
        event = self.stripe.verify(payload, signature)
        event_id, event_type = str(event["id"]), str(event.get("type", ""))
        marker = f"{NS}:stripe:event:{event_id}"
        if not await self.redis.set(marker, "1", nx=True, ex=_EVENT_SECONDS):
            return metering_pb2.HandleStripeWebhookResponse(event_id=event_id, type=event_type,
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
        return metering_pb2.HandleStripeWebhookResponse(
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
        fields = {"status": "active", "billing_cycle": metadata.get("billing_cycle", "monthly"),
                  "pending_plan": "", "cancelled_at": ""}
        async with self.redis.pipeline(transaction=True) as pipe:
            if isinstance(obj.get("customer"), str):
                fields["stripe_customer_id"] = obj["customer"]
                pipe.set(_customer_key(obj["customer"]), account_id)
            if isinstance(obj.get("subscription"), str):
                fields["stripe_subscription_id"] = obj["subscription"]
                pipe.set(_stripe_sub_key(obj["subscription"]), account_id)
            await pipe.execute()
        await self._apply(account_id, plan, fields)

    async def _subscription_updated(self, obj: dict[str, Any]) -> None:
        account_id = await self._account_for(obj)
        if account_id is None:
            return
        status = _STATUSES.get(str(obj.get("status")), "active")
        if status == "cancelled":
            await self._cancelled(account_id)
        else:
            await self.redis.hset(_sub_key(account_id), "status", status)

    async def _subscription_deleted(self, obj: dict[str, Any]) -> None:
        account_id = await self._account_for(obj)
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
        await self.alerts.emit(account_id, "invoice_paid", {
            "invoice_id": invoice_id, "stripe_invoice_id": obj.get("id"), "period": period,
            "amount_paid_usd": int(obj.get("amount_paid") or 0) / 100})

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
        await self.alerts.emit(account_id, "invoice_failed", {
            "invoice_id": invoice_id, "stripe_invoice_id": obj.get("id"), "period": period,
            "amount_due_usd": int(obj.get("amount_due") or 0) / 100,
            "attempt_count": int(obj.get("attempt_count") or 0)})
