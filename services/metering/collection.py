"""Pay as you go, collected: at the close of each month (and when pay as you go ends) the
month's usage becomes one Stripe invoice, charged to the card saved by Checkout, exactly once.

Every Stripe call carries an idempotency key derived from the account and the month
(`wavis:{acct}:{YYYY-MM}:...`), and the Stripe invoice id is kept on the month's invoice, so
retries, concurrent replicas and restarts create nothing twice; the Stripe invoice's items
are the internal invoice's usage lines, to the cent
(docs/decisions/0069-pay-as-you-go-collected-per-month.md).

Keys: billing:payg (set of accounts that have, or had, months on pay as you go to collect).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import cast

import redis.asyncio as aioredis

from services.metering.invoices import Invoices, invoice_key
from services.metering.ledger import month_bounds, month_of
from services.metering.stripe_client import StripeBilling
from services.metering.subscriptions import PAYG_ACCOUNTS, Subscriptions
from services.metering.terms import terms_before
from wavis.core.errors import WavisError
from wavis.core.timefmt import parse_rfc3339

log = logging.getLogger(__name__)


def _months_before(first: str, current: str) -> list[str]:
    months = []
    year, month = int(first[:4]), int(first[5:7])
    while f"{year:04d}-{month:02d}" < current:
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


class Collector:
    def __init__(self, redis: aioredis.Redis, invoices: Invoices, stripe: StripeBilling,
                 subscriptions: Subscriptions, interval_seconds: float) -> None:
        self.redis = redis
        self.invoices = invoices
        self.stripe = stripe
        self.subscriptions = subscriptions
        self.store = subscriptions.store
        self.interval_seconds = interval_seconds
        subscriptions.on_payg_end = self.close_now

    async def run(self) -> None:
        """Close what is due, every interval, until cancelled (a task of the lifespan)."""
        while True:
            try:
                await self.subscriptions.apply_all_due()
                if self.stripe.configured:
                    await self.close_due()
            except Exception:  # Stripe or Redis away: the next round tries again
                log.warning("billing close round failed", exc_info=True)
            await asyncio.sleep(self.interval_seconds)

    async def close_due(self) -> None:
        """Collect every ended month of every pay-as-you-go account not collected yet."""
        current = month_of(time.time())
        for account_id in cast(set[str], await self.redis.smembers(PAYG_ACCOUNTS)):
            try:
                account = await self.store.get_account(account_id)
            except WavisError:
                await self.redis.srem(PAYG_ACCOUNTS, account_id)
                continue
            first = month_of(parse_rfc3339(account["created_at"]))
            for period in _months_before(first, current):
                await self.collect(account_id, period)
            if account["plan"] != "payg":  # nothing more will become due
                await self.redis.srem(PAYG_ACCOUNTS, account_id)

    async def close_now(self, account_id: str) -> None:
        """Pay as you go ends (cancel, or another plan): this month is closed and charged
        now, on pay-as-you-go terms; ended months still due are collected too."""
        current = month_of(time.time())
        await self.redis.sadd(PAYG_ACCOUNTS, account_id)
        await self.collect(account_id, current, close=True)

    async def collect(self, account_id: str, period: str, *, close: bool = False) -> None:
        """Make the month's invoice final and, if it is a pay-as-you-go invoice with
        something to pay, charge it through Stripe (once)."""
        account = await self.store.get_account(account_id)
        invoice_id = await self.invoices.invoice_id(account_id, period)
        record = cast(dict[str, str], await self.redis.hgetall(invoice_key(invoice_id)))
        if record.get("stripe_invoice_id") or record.get("collected"):
            return
        _, month_end = _bounds(period)
        terms = await terms_before(self.redis, account_id, month_end)
        if not close and (terms is None or terms[0] != "payg"):
            return  # not a pay-as-you-go month (another plan's fee is Stripe's subscription)
        payg = self.store.plan("payg")
        await self.invoices.finalize(account_id, invoice_id, period, payg, "monthly")
        invoice = await self.invoices.get(account_id, invoice_id, payg, "monthly")
        lines = [(line.description, round(line.amount_usd * 100)) for line in invoice.lines
                 if line.kind == "usage" and round(line.amount_usd * 100) > 0]
        customer = (await self.subscriptions.record(account_id)).get("stripe_customer_id")
        if invoice.plan != "payg" or not lines or not customer:
            await self.redis.hset(invoice_key(invoice_id), "collected", "nothing due")
            return
        if sum(cents for _, cents in lines) != round(invoice.total_usd * 100):
            raise WavisError("INTERNAL_ERROR", f"invoice {invoice_id}: lines do not add up")
        stripe_invoice_id = await self.stripe.charge(
            customer, lines, {"account_id": account["account_id"], "wavis_period": period,
                              "wavis_invoice_id": invoice_id},
            idempotency_prefix=f"wavis:{account_id}:{period}")
        await self.redis.hset(invoice_key(invoice_id), "stripe_invoice_id", stripe_invoice_id)
        log.info("charged %s for %s: %s", account_id, period, stripe_invoice_id)


def _bounds(period: str) -> tuple[float, float]:
    start, end = month_bounds(period)
    return start.timestamp(), end.timestamp()
