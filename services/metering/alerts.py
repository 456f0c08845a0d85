"""Every event the metering service originates (usage_alert, limit_reached, budget_alert,
invoice_*, key_rotated), published to the webhooks service and logged in Redis.

Threshold alerts fire once per threshold per period: a SET NX marker
(wavis:metering:alerts:{acct}:once:{period}:{name}) decides. Every event also lands in the
account's event log (wavis:metering:alerts:{acct}:log, newest first, last 1000), which
operators and tests read; publishing runs in the background so no operation waits on it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

import redis.asyncio as aioredis

from services.metering.keyspace import NS
from services.metering.ledger import Recorded, month_of, usd
from services.metering.plans import Plan
from wavis.core.event_schemas import event_data
from wavis.core.events import EventPublisher
from wavis.core.timefmt import rfc3339

log = logging.getLogger(__name__)

USAGE_THRESHOLDS = (50, 80, 100)  # percent of the plan's monthly FCU
BUDGET_THRESHOLDS = (80, 100)  # percent of the budget cap
_ONCE_SECONDS = 40 * 86_400
_LOG_LENGTH = 1000


def log_key(account_id: str) -> str:
    return f"{NS}:alerts:{account_id}:log"


def crossed(before: int, after: int, whole: int, thresholds: tuple[int, ...]) -> list[int]:
    """Thresholds (percent of `whole`) that `before` -> `after` reaches for the first time."""
    return [pct for pct in thresholds if before * 100 < pct * whole <= after * 100]


class Alerts:
    def __init__(self, redis: aioredis.Redis, publisher: EventPublisher | None) -> None:
        self.redis = redis
        self.publisher = publisher
        self._tasks: set[asyncio.Task[Any]] = set()

    async def emit(self, account_id: str, event_type: str, data: dict[str, Any],
                   once: str | None = None) -> bool:
        """Log and publish the event; with `once`, only the first time for that name."""
        if once is not None:
            marker = f"{NS}:alerts:{account_id}:once:{once}"
            if not await self.redis.set(marker, "1", nx=True, ex=_ONCE_SECONDS):
                return False
        entry = json.dumps({"type": event_type, "data": data, "created_at": rfc3339(time.time())})
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.lpush(log_key(account_id), entry)
            pipe.ltrim(log_key(account_id), 0, _LOG_LENGTH - 1)
            await pipe.execute()
        if self.publisher is not None:
            task = asyncio.create_task(
                self.publisher.publish_or_log(account_id, event_type, data))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return True

    async def after_commit(self, account_id: str, recorded: Recorded, plan: Plan | None) -> None:
        period = month_of(time.time())
        if plan is not None and not plan.overage_allowed and plan.monthly_fcu > 0:
            before = recorded.month_fcu - recorded.fcu
            for pct in crossed(before, recorded.month_fcu, plan.monthly_fcu, USAGE_THRESHOLDS):
                await self.emit(account_id, "usage_alert", event_data(
                    "usage_alert", threshold_pct=pct, period=period,
                    used_fcu=recorded.month_fcu, included_fcu=plan.monthly_fcu,
                    plan=plan.name), once=f"{period}:usage:{pct}")
        if recorded.cap_nano > 0:
            before = recorded.month_nano - recorded.nano
            for pct in crossed(before, recorded.month_nano, recorded.cap_nano,
                               BUDGET_THRESHOLDS):
                await self.emit(account_id, "budget_alert", event_data(
                    "budget_alert", threshold_pct=pct, period=period,
                    mode=recorded.budget_mode or "soft", cap_usd=usd(recorded.cap_nano),
                    spent_usd=usd(recorded.month_nano)), once=f"{period}:budget:{pct}")

    async def limit_reached(self, account_id: str, code: str, details: dict[str, Any], *,
                            used_fcu: int, included_fcu: int, spent_nano: int,
                            hard_cap_nano: int) -> None:
        """A limit refused an operation: which one (from the refusal), with the month's
        numbers; once per limit and month."""
        period = month_of(time.time())
        if code == "BUDGET_CAP_REACHED":
            limit = "budget_cap"
        elif "fcu_included" in details:
            limit = "monthly_fcu"
        else:
            limit = "operations"
        await self.emit(account_id, "limit_reached", event_data(
            "limit_reached", period=period, limit=limit, used_fcu=used_fcu,
            included_fcu=included_fcu, cap_usd=usd(hard_cap_nano) if hard_cap_nano else None,
            spent_usd=usd(spent_nano)), once=f"{period}:limit:{limit}")

    async def close(self) -> None:
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=2)
