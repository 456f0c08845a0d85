"""Stripe through the official SDK: customers, Checkout sessions, subscription changes and
cancels, invoices charging pay-as-you-go usage, and webhook signature checks. The API base
URL is configuration (WAVIS_STRIPE_API_BASE), so tests point it at a local server speaking
Stripe's wire format."""

from __future__ import annotations

import json
import logging
from typing import Any

import stripe

from wavis.core.errors import WavisError

log = logging.getLogger(__name__)

NOT_CONFIGURED = ("Stripe is not configured on this deployment (WAVIS_STRIPE_API_KEY is "
                  "unset); paid plans cannot be bought here.")
WEBHOOKS_NOT_CONFIGURED = ("Stripe webhooks are not configured on this deployment "
                           "(WAVIS_STRIPE_WEBHOOK_SECRET is unset).")
_TIMEOUT_SECONDS = 10


class StripeBilling:
    def __init__(self, api_key: str | None, api_base: str, webhook_secret: str | None,
                 success_url: str, cancel_url: str) -> None:
        self.webhook_secret = webhook_secret
        self.success_url = success_url
        self.cancel_url = cancel_url
        self.client: stripe.StripeClient | None = None
        self._products: dict[str, str] = {}  # plan -> Stripe product id
        self._http = stripe.AIOHTTPClient(timeout=_TIMEOUT_SECONDS)
        if api_key:
            self.client = stripe.StripeClient(
                api_key, base_addresses={"api": api_base.rstrip("/")},
                http_client=self._http, max_network_retries=1)

    async def close(self) -> None:
        """Close the HTTP session the client opened (at shutdown)."""
        await self._http.close_async()

    @property
    def configured(self) -> bool:
        return self.client is not None

    def _require(self) -> stripe.StripeClient:
        if self.client is None:
            raise WavisError("UPSTREAM_UNAVAILABLE", NOT_CONFIGURED, {"dependency": "stripe"})
        return self.client

    async def create_customer(self, account_id: str, email: str) -> str:
        client = self._require()
        try:
            customer = await client.v1.customers.create_async({
                "email": email, "metadata": {"account_id": account_id}})
        except stripe.StripeError as exc:
            raise _upstream(exc) from None
        return str(customer.id)

    async def checkout(self, account_id: str, customer_id: str, plan: str, billing_cycle: str,
                       amount_cents: int) -> tuple[str, str]:
        """A Checkout session: a subscription at `amount_cents` per month or year, or (pay as
        you go, amount 0) a setup session that saves a payment method. -> (id, url)."""
        client = self._require()
        metadata = {"account_id": account_id, "plan": plan, "billing_cycle": billing_cycle}
        params: dict[str, Any] = {
            "customer": customer_id, "client_reference_id": account_id,
            "success_url": self.success_url, "cancel_url": self.cancel_url,
            "metadata": metadata,
        }
        if amount_cents > 0:
            params |= {"mode": "subscription", "subscription_data": {"metadata": metadata},
                       "line_items": [{"quantity": 1, "price_data": {
                           "currency": "usd", "unit_amount": amount_cents,
                           "recurring": {"interval": "year" if billing_cycle == "annual"
                                         else "month"},
                           "product_data": {"name": f"WAVIS {plan} plan"}}}]}
        else:
            params |= {"mode": "setup", "currency": "usd"}
        try:
            session = await client.v1.checkout.sessions.create_async(params)
        except stripe.StripeError as exc:
            raise _upstream(exc) from None
        return str(session.id), str(session.url or "")

    async def cancel_subscription(self, subscription_id: str) -> None:
        client = self._require()
        try:
            await client.v1.subscriptions.cancel_async(subscription_id)
        except stripe.InvalidRequestError as exc:
            if exc.http_status == 404:  # already gone in Stripe: nothing left to cancel
                log.warning("stripe subscription %s not found on cancel", subscription_id)
                return
            raise _upstream(exc) from None
        except stripe.StripeError as exc:
            raise _upstream(exc) from None

    async def save_payment_method(self, session: dict[str, Any]) -> str:
        """Make the card a completed Checkout session collected the customer's default for
        invoices (Checkout leaves it on the SetupIntent or the subscription only), so that
        pay-as-you-go invoices can be charged; returns its id ('' when the session has none)."""
        client = self._require()
        customer = session.get("customer")
        try:
            if isinstance(session.get("setup_intent"), str):
                intent = await client.v1.setup_intents.retrieve_async(session["setup_intent"])
                method = _field(intent, "payment_method")
            elif isinstance(session.get("subscription"), str):
                subscription = await client.v1.subscriptions.retrieve_async(
                    session["subscription"])
                method = _field(subscription, "default_payment_method")
            else:
                return ""
            if not isinstance(method, str) or not isinstance(customer, str):
                return ""
            await client.v1.customers.update_async(customer, {
                "invoice_settings": {"default_payment_method": method}})
        except stripe.StripeError as exc:
            raise _upstream(exc) from None
        return method

    async def cancel_at_period_end(self, subscription_id: str) -> None:
        """The subscription ends with its current period (a downgrade to a plan without a
        subscription)."""
        client = self._require()
        try:
            await client.v1.subscriptions.update_async(subscription_id,
                                                       {"cancel_at_period_end": True})
        except stripe.StripeError as exc:
            raise _upstream(exc) from None

    async def change_price(self, subscription_id: str, plan: str, billing_cycle: str,
                           amount_cents: int, *, prorate: bool) -> None:
        """Move the subscription's one item to `plan`'s price: prorated at once (upgrades),
        or from the next period on without proration (downgrades)."""
        client = self._require()
        try:
            subscription = await client.v1.subscriptions.retrieve_async(subscription_id)
            item = subscription["items"]["data"][0]
            await client.v1.subscriptions.update_async(subscription_id, {
                "items": [{"id": item["id"], "price_data": {
                    "currency": "usd", "unit_amount": amount_cents,
                    "product": await self._product(plan),
                    "recurring": {"interval": "year" if billing_cycle == "annual"
                                  else "month"}}}],
                "proration_behavior": "create_prorations" if prorate else "none",
                "metadata": {"plan": plan, "billing_cycle": billing_cycle}})
        except stripe.StripeError as exc:
            raise _upstream(exc) from None

    async def _product(self, plan: str) -> str:
        """The Stripe product of a plan (subscription items name a product, not its data)."""
        if plan not in self._products:
            product = await self._require().v1.products.create_async(
                {"name": f"WAVIS {plan} plan", "metadata": {"plan": plan}},
                {"idempotency_key": f"wavis-product-{plan}"})
            self._products[plan] = str(product.id)
        return self._products[plan]

    async def charge(self, customer_id: str, lines: list[tuple[str, int]],
                     metadata: dict[str, str], idempotency_prefix: str) -> str:
        """Charge `lines` (description, cents) to the customer's saved payment method as one
        invoice; returns the Stripe invoice id. Every call carries an idempotency key derived
        from `idempotency_prefix`, so a retry (after a failure or a restart) creates nothing
        twice."""
        client = self._require()
        try:
            for number, (description, cents) in enumerate(lines):
                await client.v1.invoice_items.create_async({
                    "customer": customer_id, "amount": cents, "currency": "usd",
                    "description": description, "metadata": metadata},
                    {"idempotency_key": f"{idempotency_prefix}:item:{number}"})
            invoice = await client.v1.invoices.create_async({
                "customer": customer_id, "collection_method": "charge_automatically",
                "auto_advance": True, "pending_invoice_items_behavior": "include",
                "metadata": metadata}, {"idempotency_key": f"{idempotency_prefix}:invoice"})
            await client.v1.invoices.finalize_invoice_async(
                str(invoice.id), None, {"idempotency_key": f"{idempotency_prefix}:finalize"})
        except stripe.StripeError as exc:
            raise _upstream(exc) from None
        return str(invoice.id)

    async def ping(self) -> str:
        """'' when Stripe answers an authenticated call, else why not."""
        if self.client is None:
            return "not configured"
        try:
            await self.client.v1.balance.retrieve_async()
        except stripe.StripeError as exc:
            return (exc.user_message or str(exc) or type(exc).__name__)[:200]
        return ""

    def verify(self, payload: bytes, signature: str) -> dict[str, Any]:
        """The event, if `signature` is Stripe's for `payload` under our secret and recent."""
        if not self.webhook_secret:
            raise WavisError("UPSTREAM_UNAVAILABLE", WEBHOOKS_NOT_CONFIGURED,
                             {"dependency": "stripe"})
        try:
            stripe.Webhook.construct_event(payload, signature, self.webhook_secret)
        except stripe.SignatureVerificationError:
            raise WavisError("INVALID_SIGNATURE", "The Stripe-Signature does not verify (wrong "
                             "secret, altered body, or older than 5 minutes).") from None
        except ValueError:
            raise WavisError("VALIDATION_ERROR", "The body is not a Stripe event.") from None
        event = json.loads(payload)
        if not isinstance(event, dict) or not isinstance(event.get("id"), str):
            raise WavisError("VALIDATION_ERROR", "The body is not a Stripe event.")
        return event


def _field(obj: Any, name: str) -> Any:
    """A field of a Stripe object, None when Stripe left it out."""
    try:
        return obj[name]
    except KeyError:
        return None


def _upstream(exc: stripe.StripeError) -> WavisError:
    message = exc.user_message or str(exc) or type(exc).__name__
    log.warning("stripe call failed: %s", message)
    return WavisError("UPSTREAM_UNAVAILABLE", f"Stripe did not complete the request: "
                      f"{message[:200]}", {"dependency": "stripe"})
