"""Monthly invoices built from the ledger's sums: the plan fee, one usage line per operation
type (their sum is the sum of the recorded costs, to the cent) and the credit for usage the
plan's allowance covers; pay as you go pays its usage as overage.

Keys: invoice:{id} (hash: account_id, period, status, doc JSON once final, paid_at, ...),
invoices:{acct} (zset index, newest first), invoices:{acct}:periods (hash period -> id).
The current month's invoice is open and recomputed on every read; a past month's is
computed once, at its first read after the month ends, which fires invoice_created.
"""

from __future__ import annotations

import time
from typing import Any, cast

import redis.asyncio as aioredis
from google.protobuf import json_format

from services.metering.alerts import Alerts
from services.metering.keyspace import NS
from services.metering.ledger import Ledger, by_operation, month_bounds, month_of, nano_of
from services.metering.plans import Plan
from services.metering.terms import terms_before
from wavis.core.errors import WavisError
from wavis.core.event_schemas import event_data
from wavis.core.ids import new_id
from wavis.core.redis_pages import index_member, newest_first
from wavis.core.timefmt import parse_rfc3339, rfc3339
from wavis.generated.metering.v1 import billing_pb2

PLAN_FEE_CENTS = {"trial": 0, "free": 0, "payg": 0, "starter": 900, "pro": 4900,
                  "scale": 19900, "enterprise": 0}
ANNUAL_DISCOUNT = 0.17
_NANO_PER_CENT = 10_000_000


def plan_fee_cents(plan: str, billing_cycle: str) -> int:
    """Per month; annual billing is 17% off."""
    fee = PLAN_FEE_CENTS.get(plan, 0)
    return round(fee * (1 - ANNUAL_DISCOUNT)) if billing_cycle == "annual" else fee


def split_cents(nanos: list[int]) -> list[int]:
    """Round each amount to cents so that they add up to their rounded total exactly
    (largest remainders get the leftover cents)."""
    total = (sum(nanos) + _NANO_PER_CENT // 2) // _NANO_PER_CENT
    cents = [n // _NANO_PER_CENT for n in nanos]
    order = sorted(range(len(nanos)), key=lambda i: -(nanos[i] % _NANO_PER_CENT))
    for i in order[:total - sum(cents)]:
        cents[i] += 1
    return cents


def invoice_key(invoice_id: str) -> str:
    return f"{NS}:invoice:{invoice_id}"


def _index(account_id: str) -> str:
    return f"{NS}:invoices:{account_id}"


def _periods(account_id: str) -> str:
    return f"{NS}:invoices:{account_id}:periods"


def _months(first: str, last: str) -> list[str]:
    months = []
    year, month = int(first[:4]), int(first[5:7])
    while f"{year:04d}-{month:02d}" <= last:
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def invoice_event(event_type: str, invoice_id: str, invoice: billing_pb2.Invoice, status: str,
                  stripe_invoice_id: str) -> dict[str, Any]:
    """The data of an invoice_* event (wavis.core.event_schemas)."""
    return event_data(event_type, invoice_id=invoice_id, period=invoice.period,
                      status=status, total_usd=invoice.total_usd, currency="usd",
                      stripe_invoice_id=stripe_invoice_id or None)


class Invoices:
    def __init__(self, redis: aioredis.Redis, ledger: Ledger, alerts: Alerts,
                 plans: dict[str, Plan]) -> None:
        self.redis = redis
        self.ledger = ledger
        self.alerts = alerts
        self.plans = plans

    async def _terms(self, account_id: str, period: str, plan: Plan,
                     billing_cycle: str) -> tuple[Plan, str]:
        """The plan and cycle in effect when the month ended (or now, for this month);
        the current ones when no change was noted."""
        _, end = month_bounds(period)
        noted = await terms_before(self.redis, account_id, end.timestamp())
        if noted is None or noted[0] not in self.plans:
            return plan, billing_cycle
        return self.plans[noted[0]], noted[1]

    async def build(self, account_id: str, period: str, plan: Plan,
                    billing_cycle: str) -> billing_pb2.Invoice:
        """The invoice's numbers for one month, from the ledger's sums, on the terms in
        effect when the month ended (`plan` and `billing_cycle` are today's)."""
        plan, billing_cycle = await self._terms(account_id, period, plan, billing_cycle)
        month = await self.ledger.month_usage(account_id, period)
        operations = sorted(by_operation(month).items())
        total_fcu = int(month.get("fcu", 0))
        usage_cents = split_cents([row["nano"] for _, row in operations])
        fee = plan_fee_cents(plan.name, billing_cycle)
        included = 0 if plan.overage_allowed else plan.monthly_fcu
        lines = [billing_pb2.InvoiceLine(
            kind="plan", description=f"{plan.name} plan ({billing_cycle})", quantity=1,
            fcu=included, amount_usd=fee / 100)]
        for (name, row), cents in zip(operations, usage_cents, strict=True):
            lines.append(billing_pb2.InvoiceLine(
                kind="usage", description=f"{name}: {row['count']} operations, "
                f"{row['fcu']} FCU", operation=name, quantity=row["count"], fcu=row["fcu"],
                amount_usd=cents / 100))
        usage = sum(usage_cents)
        covered_fcu = min(total_fcu, included)
        if covered_fcu:
            # Every operation of a plan without overage is covered: credit exactly the usage.
            credit = usage if covered_fcu == total_fcu else \
                (nano_of(covered_fcu) + _NANO_PER_CENT // 2) // _NANO_PER_CENT
            lines.append(billing_pb2.InvoiceLine(
                kind="included", description=f"{covered_fcu} FCU included in the plan",
                quantity=1, fcu=covered_fcu, amount_usd=-credit / 100))
        else:
            credit = 0
        start, end = month_bounds(period)
        return billing_pb2.Invoice(
            period=period, currency="usd", plan=plan.name, lines=lines, total_fcu=total_fcu,
            usage_usd=usage / 100,
            overage_fcu=max(0, total_fcu - included) if plan.overage_allowed else 0,
            total_usd=(fee + usage - credit) / 100, period_start=rfc3339(start.timestamp()),
            period_end=rfc3339(end.timestamp()))

    async def invoice_id(self, account_id: str, period: str) -> str:
        invoice_id = await self.redis.hget(_periods(account_id), period)
        if invoice_id:
            return str(invoice_id)
        candidate = new_id("inv")
        if await self.redis.hsetnx(_periods(account_id), period, candidate):
            start, _ = month_bounds(period)
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.hset(invoice_key(candidate), mapping={
                    "account_id": account_id, "period": period, "status": "open",
                    "created_at": rfc3339(time.time())})
                pipe.zadd(_index(account_id),
                          {index_member(int(start.timestamp() * 1000), candidate): 0})
                await pipe.execute()
            return candidate
        return str(await self.redis.hget(_periods(account_id), period))

    async def closed(self, account_id: str, period: str) -> bool:
        """Whether the month's invoice is final (a month that has not ended is final only
        when pay as you go ended in it)."""
        invoice_id = await self.redis.hget(_periods(account_id), period)
        return bool(invoice_id) and bool(
            await self.redis.hexists(invoice_key(str(invoice_id)), "doc"))

    async def sync(self, account: dict[str, str], plan: Plan, billing_cycle: str) -> None:
        """Make sure every month since the account opened has its invoice; finalize the
        months that are over."""
        account_id = account["account_id"]
        current = month_of(time.time())
        first = month_of(parse_rfc3339(account["created_at"]))
        for period in _months(first, current):
            invoice_id = await self.invoice_id(account_id, period)
            if period < current:
                await self.finalize(account_id, invoice_id, period, plan, billing_cycle)

    async def finalize(self, account_id: str, invoice_id: str, period: str, plan: Plan,
                        billing_cycle: str) -> None:
        if await self.redis.hexists(invoice_key(invoice_id), "doc"):
            return
        invoice = await self.build(account_id, period, plan, billing_cycle)
        doc = json_format.MessageToJson(invoice)
        status = "paid" if invoice.total_usd == 0 else None
        if not await self.redis.hsetnx(invoice_key(invoice_id), "doc", doc):
            return  # another replica finalized it first
        if status:
            await self.redis.hset(invoice_key(invoice_id), "status", status)
        await self.alerts.emit(account_id, "invoice_created", invoice_event(
            "invoice_created", invoice_id, invoice, status or "open", ""),
            once=f"{period}:invoice_created")

    async def get(self, account_id: str, invoice_id: str, plan: Plan,
                  billing_cycle: str) -> billing_pb2.Invoice:
        record = cast(dict[str, str], await self.redis.hgetall(invoice_key(invoice_id)))
        if not record or record.get("account_id") != account_id:
            raise WavisError("NOT_FOUND", f"No invoice {invoice_id!r}.")
        if record.get("doc"):
            invoice = json_format.Parse(record["doc"], billing_pb2.Invoice())
            finalized = True
        else:
            invoice = await self.build(account_id, record["period"], plan, billing_cycle)
            finalized = False
        invoice.invoice_id = invoice_id
        invoice.status = record.get("status", "open")
        invoice.finalized = finalized
        invoice.created_at = record.get("created_at", "")
        invoice.paid_at = record.get("paid_at", "")
        invoice.stripe_invoice_id = record.get("stripe_invoice_id", "")
        return invoice

    async def list(self, account: dict[str, str], plan: Plan, billing_cycle: str, limit: int,
                   cursor: str) -> tuple[list[billing_pb2.Invoice], bool, str]:
        account_id = account["account_id"]
        if not cursor:
            await self.sync(account, plan, billing_cycle)
        page = await newest_first(self.redis, _index(account_id), limit, cursor)
        invoices = [await self.get(account_id, invoice_id, plan, billing_cycle)
                    for invoice_id in page.ids]
        return invoices, page.has_more, page.next_cursor

    async def mark(self, account: dict[str, str], period: str, fields: dict[str, Any],
                   plan: Plan, billing_cycle: str) -> str:
        """Set fields (status, paid_at, stripe ids) on the month's invoice; returns its id."""
        await self.sync(account, plan, billing_cycle)
        invoice_id = await self.invoice_id(account["account_id"], period)
        await self.redis.hset(invoice_key(invoice_id), mapping=cast(Any, fields))
        return invoice_id

