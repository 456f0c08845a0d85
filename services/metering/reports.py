"""What the billing endpoints read: usage per month, the balance with its forecast, budgets."""

from __future__ import annotations

import math
import re
import time
from datetime import datetime, timezone
from typing import cast

import redis.asyncio as aioredis

from services.metering.ledger import (
    NANO_PER_USD,
    Ledger,
    budget_key,
    by_operation,
    month_bounds,
    month_of,
    usd,
)
from services.metering.plans import Plan
from wavis.core import pricing
from wavis.core.errors import WavisError
from wavis.core.limits import MAX_BUDGET_CAP_USD
from wavis.core.timefmt import rfc3339
from wavis.generated.metering.v1 import billing_pb2, usage_pb2

_PERIOD = re.compile(r"\d{4}-(0[1-9]|1[0-2])")


def parse_period(period: str) -> str:
    if not period:
        return month_of(time.time())
    if not _PERIOD.fullmatch(period) or period < "2000-01":
        raise WavisError("VALIDATION_ERROR", "period must be a month as YYYY-MM.",
                         {"parameter": "period"})
    return period


class Reports:
    def __init__(self, redis: aioredis.Redis, ledger: Ledger) -> None:
        self.redis = redis
        self.ledger = ledger

    async def usage(self, account_id: str, period: str) -> usage_pb2.GetUsageResponse:
        period = parse_period(period)
        month = await self.ledger.month_usage(account_id, period)
        total_nano = int(month.get("nano", 0))
        operations = [
            usage_pb2.OperationUsage(operation=name, count=row["count"], fcu=row["fcu"],
                                        cost_usd=usd(row["nano"]))
            for name, row in sorted(by_operation(month).items())]
        days = [usage_pb2.DayUsage(date=day, fcu=int(row.get("fcu", 0)),
                                      cost_usd=usd(int(row.get("nano", 0))))
                for day, row in await self.ledger.days(account_id, period)]
        return usage_pb2.GetUsageResponse(
            period=period, total_fcu=int(month.get("fcu", 0)), total_cost_usd=usd(total_nano),
            total_cost_jpy=round(total_nano / NANO_PER_USD * self.ledger.jpy_per_usd, 6),
            by_operation=operations, by_day=days)

    async def balance(self, account_id: str, plan: Plan,
                      now: float | None = None) -> usage_pb2.GetBalanceResponse:
        now = time.time() if now is None else now
        period = month_of(now)
        start, end = month_bounds(period)
        month = await self.ledger.month_usage(account_id, period)
        used = int(month.get("fcu", 0))
        reserved = await self.ledger.reserved(account_id)
        unlimited = plan.overage_allowed
        included = 0 if unlimited else plan.monthly_fcu
        remaining = 0 if unlimited else max(0, included - used - reserved)
        today = datetime.fromtimestamp(now, timezone.utc)
        days_until_reset = (end.date() - today.date()).days
        daily_avg = used / today.day
        if unlimited or daily_avg == 0:
            days_left = -1
        else:
            days_left = math.floor(remaining / daily_avg)
        projected = 0 if unlimited else max(0, remaining - round(daily_avg * days_until_reset))
        return usage_pb2.GetBalanceResponse(
            plan=plan.name, unlimited=unlimited, fcu_included=included, fcu_used=used,
            fcu_reserved=reserved, fcu_remaining=remaining, cost_usd=usd(int(month.get("nano",
                                                                                       0))),
            billing_period_start=rfc3339(start.timestamp()), next_reset=rfc3339(end.timestamp()),
            days_until_reset=days_until_reset, daily_avg_fcu=round(daily_avg, 4),
            days_remaining_at_current_rate=days_left, projected_reset_balance=projected,
            will_exhaust_before_reset=not unlimited and daily_avg * days_until_reset > remaining)

    async def budget(self, account_id: str) -> billing_pb2.Budget:
        period = month_of(time.time())
        fields = cast(dict[str, str], await self.redis.hgetall(budget_key(account_id)))
        month = await self.ledger.month_usage(account_id, period)
        return billing_pb2.Budget(
            monthly_cap_usd=usd(int(fields.get("cap_nano", 0))), mode=fields.get("mode", ""),
            spent_usd=usd(int(month.get("nano", 0))), period=period,
            updated_at=fields.get("updated_at", ""))

    async def set_budget(self, account_id: str, cap_usd: float, mode: str) -> billing_pb2.Budget:
        if mode not in ("hard", "soft"):
            raise WavisError("VALIDATION_ERROR", "mode must be hard or soft.")
        if not (0 < cap_usd <= MAX_BUDGET_CAP_USD) or math.isnan(cap_usd):
            raise WavisError("VALIDATION_ERROR", f"monthly_cap_usd must be above 0 and at most "
                             f"{MAX_BUDGET_CAP_USD}.")
        cap_nano = round(cap_usd * NANO_PER_USD)
        if cap_nano < round(pricing.USD_PER_FCU * NANO_PER_USD):
            raise WavisError("VALIDATION_ERROR", "monthly_cap_usd is below the price of one FCU.")
        await self.redis.hset(budget_key(account_id), mapping={
            "cap_nano": cap_nano, "mode": mode, "updated_at": rfc3339(time.time())})
        return await self.budget(account_id)
