"""The billing terms (plan, billing cycle) an account had over time, so that a past month's
invoice charges the terms in effect when that month ended, not today's.

    wavis:metering:account:{acct}:terms   zset "{epoch}|{plan}|{cycle}" -> epoch of the change

Every change is noted where it happens (account creation, SetPlan, a subscription applied or
cancelled). Accounts opened before terms were noted have none: their invoices use the
current terms, as before.
"""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis

from services.metering.keyspace import NS

DEFAULT_CYCLE = "monthly"


def terms_key(account_id: str) -> str:
    return f"{NS}:account:{account_id}:terms"


def note_terms(pipe: Any, account_id: str, plan: str, billing_cycle: str, at: float) -> None:
    """Queue the change on a Redis pipeline (so it lands with the change itself)."""
    pipe.zadd(terms_key(account_id), {f"{at:.6f}|{plan}|{billing_cycle}": at})


async def terms_before(redis: aioredis.Redis, account_id: str,
                       moment: float) -> tuple[str, str] | None:
    """(plan, billing cycle) of the last change before `moment`; None if none was noted."""
    found = await redis.zrevrangebyscore(terms_key(account_id), f"({moment}", "-inf",
                                         start=0, num=1)
    if not found:
        return None
    raw = found[0].decode() if isinstance(found[0], bytes) else str(found[0])
    _, plan, billing_cycle = raw.split("|", 2)
    return plan, billing_cycle
