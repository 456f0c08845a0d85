"""FCU accounting in Redis: a charge is taken before the work, recorded exactly once.

Both ways check the plan's quota and a hard budget cap first, atomically: `record=True`
(synchronous work) writes the record at once ("recorded"; a release reverses exactly that);
`record=False` holds the FCU ("reserved") until CommitUsage or ReleaseUsage, or until
RESERVATION_SECONDS pass. CommitUsage of a "recorded" op marks it "committed" (final). See
docs/decisions/0003-metering-in-the-compute-services.md. The Redis scripts are in
ledger_scripts.py.

Keys (namespace wavis:metering:); {scope} is the account id, or "{acct}:test" for test mode
(services/metering/modes.py), whose usage the live plan bounds but which is kept apart:
  op:{op_id}                    hash: the operation (account, scope, environment, name, FCU,
                                cost, state reserved|recorded|committed|released,
                                recorded_at, the ledger entry written); the exactly-once
                                record
  pending:{scope}               zset: "op_id|fcu|nano" -> expiry (epoch s) of open reservations
  pending:{scope}:totals        hash: fcu, nano reserved by open reservations
  usage:{scope}:{YYYY-MM}       hash: fcu, nano, count and fcu:/nano:/count:<operation>
  usage:{scope}:{YYYY-MM-DD}    hash: fcu, nano, count of one UTC day
  ledger:{scope}:{YYYY-MM}      list: one JSON entry per recorded operation, with its
                                environment (live, test, trial)
  budget:{scope}                hash: cap_nano, mode, updated_at
Costs are kept as integers of nano-USD, so sums are exact.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import cast

import redis.asyncio as aioredis

from services.metering import ledger_scripts as scripts
from services.metering.keyspace import NS
from services.metering.modes import scope_of
from services.metering.plans import Plan
from wavis.core import pricing
from wavis.core.errors import WavisError
from wavis.core.roles import ENVIRONMENTS

RESERVATION_SECONDS = 3600  # an uncommitted, unreleased reservation frees its quota after this
_OP_RETENTION = 40 * 86_400  # the exactly-once record of an op_id
_DAY_RETENTION = 400 * 86_400
NANO_PER_USD = 1_000_000_000

def month_of(epoch: float) -> str:
    return time.strftime("%Y-%m", time.gmtime(epoch))


def day_of(epoch: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(epoch))


def month_bounds(period: str) -> tuple[datetime, datetime]:
    start = datetime.strptime(period, "%Y-%m").replace(tzinfo=timezone.utc)
    end = start.replace(year=start.year + 1, month=1) if start.month == 12 else \
        start.replace(month=start.month + 1)
    return start, end


def usd(nano: int) -> float:
    return round(nano / NANO_PER_USD, 8)


def nano_of(fcu: int) -> int:
    return round(pricing.cost_usd(fcu) * NANO_PER_USD)


def op_key(op_id: str) -> str:
    return f"{NS}:op:{op_id}"


def usage_key(account_id: str, period_or_day: str) -> str:
    return f"{NS}:usage:{account_id}:{period_or_day}"


def ledger_key(account_id: str, period: str) -> str:
    return f"{NS}:ledger:{account_id}:{period}"


def budget_key(account_id: str) -> str:
    return f"{NS}:budget:{account_id}"


def _pending(account_id: str) -> tuple[str, str]:
    return f"{NS}:pending:{account_id}", f"{NS}:pending:{account_id}:totals"


def _account(account_id: str) -> str:
    return f"{NS}:account:{account_id}"


@dataclass
class Recorded:
    """A call that recorded an operation: the month's totals after it, for alerts."""

    month_fcu: int
    month_nano: int
    fcu: int
    nano: int
    plan: str
    cap_nano: int
    budget_mode: str
    scope: str = ""  # whose ledger: the account id, or "<account id>:test"


@dataclass
class Reserved:
    fcu: int
    cost_usd: float
    cost_jpy: float
    recorded: Recorded | None = None  # set when this call recorded the operation (record=True)
    # FCU left before a limit could refuse an operation (-1: none applies; 0 with an
    # operations limit, or when the call recorded nothing).
    headroom_fcu: int = 0


class Ledger:
    def __init__(self, redis: aioredis.Redis, plans: dict[str, Plan], jpy_per_usd: float) -> None:
        self.redis = redis
        self.plans = plans
        self.jpy_per_usd = jpy_per_usd
        # {plan: [monthly FCU, 1 if overage is allowed]}: what the reserve script checks.
        self._plans = {name: [plan.monthly_fcu, 1 if plan.overage_allowed else 0]
                       for name, plan in plans.items()}
        self._reserve = scripts.RESERVE.bind(redis)
        self._commit = scripts.COMMIT.bind(redis)
        self._release = scripts.RELEASE.bind(redis)

    async def reserve(self, account_id: str, op_id: str, operation: str, fcu: int,
                      record: bool = False, environment: str = "live") -> Reserved:
        """Take the operation's charge (402 codes when the plan or a hard cap refuses it).

        record=True: the charge is recorded now and stands unless released; record=False:
        it is held until committed or released (or it expires). A test key's charge goes to
        the test-mode ledger and budget; the live plan's allowance bounds it all the same.
        A trial's operations are counted by the gateway (AccountStore.reserve_operations),
        not here."""
        if not op_id or len(op_id) > 128 or not operation or len(operation) > 64:
            raise WavisError("VALIDATION_ERROR", "op_id (<= 128 chars) and operation (<= 64 "
                             "chars) are required.")
        if fcu < 0:
            raise WavisError("VALIDATION_ERROR", "fcu must be >= 0.")
        if "|" in op_id or ":" in operation:
            raise WavisError("VALIDATION_ERROR", "op_id must not contain '|', operation ':'.")
        now = time.time()
        nano = nano_of(fcu)
        cost_usd = pricing.cost_usd(fcu)
        cost_jpy = pricing.cost_jpy(fcu, self.jpy_per_usd)
        environment = environment if environment in ENVIRONMENTS else "live"
        scope = scope_of(account_id, environment)
        pending, totals = _pending(scope)
        period = month_of(now)
        answer = await self._reserve(
            {"op": op_key(op_id), "account": _account(account_id), "pending": pending,
             "pending_totals": totals, "month": usage_key(scope, period),
             "budget": budget_key(scope), "day": usage_key(scope, day_of(now)),
             "ledger": ledger_key(scope, period)},
            op_id=op_id, account_id=account_id, operation=operation, fcu=fcu, nano=nano,
            now=now, expires_at=now + RESERVATION_SECONDS, plans=self._plans,
            cost_usd=repr(cost_usd), cost_jpy=repr(cost_jpy), op_ttl=_OP_RETENTION,
            record=record, day_ttl=_DAY_RETENTION, recorded_at=_rfc3339(now),
            environment=environment, scope=scope)
        outcome = answer["outcome"]
        if outcome == "held":
            return Reserved(fcu, cost_usd, cost_jpy)
        if outcome == "recorded":
            recorded = Recorded(int(answer["month_fcu"]), int(answer["month_nano"]), fcu, nano,
                                str(answer["plan"]), int(answer["cap_nano"] or 0),
                                str(answer["mode"]), scope)
            headroom = headroom_fcu(self.plans.get(recorded.plan), recorded,
                                    operations_limit=int(answer["operations_limit"]),
                                    pending_fcu=int(answer["pending_fcu"]),
                                    pending_nano=int(answer["pending_nano"]))
            return Reserved(fcu, cost_usd, cost_jpy, recorded, headroom)
        if outcome == "existing":  # the same op_id again: what it was reserved at
            fields = cast(dict[str, str], await self.redis.hgetall(op_key(op_id)))
            stored = int(fields.get("fcu", fcu))
            return Reserved(stored, float(fields.get("cost_usd", cost_usd)),
                            float(fields.get("cost_jpy", cost_jpy)))
        if outcome == "foreign":
            raise WavisError("VALIDATION_ERROR", f"op_id {op_id!r} belongs to another account.")
        if outcome == "no_account":
            raise WavisError("NOT_FOUND", f"No account {account_id!r}.")
        if outcome == "void":
            raise WavisError("VALIDATION_ERROR", f"Operation {op_id!r} was released before "
                             "it was reserved; use a new op_id.")
        if outcome == "quota":
            raise WavisError("QUOTA_EXHAUSTED", "This operation would take the account past "
                             "its plan's monthly FCU allowance; upgrade or wait for the reset.",
                             {"fcu": fcu, "fcu_used": int(answer["used_fcu"]),
                              "fcu_included": int(answer["included_fcu"])})
        if outcome == "budget":
            raise WavisError("BUDGET_CAP_REACHED", "This operation would take the month's "
                             "spend past the account's hard budget cap.",
                             {"cost_usd": cost_usd, "spent_usd": usd(int(answer["spent_nano"])),
                              "monthly_cap_usd": usd(int(answer["cap_nano"]))})
        raise RuntimeError(f"reserve answered {answer}")

    def _scope(self, account_id: str, stored: object) -> str:
        """Whose ledger an op was charged to (stored when reserved, never changed)."""
        return str(stored) if stored in (account_id, scope_of(account_id, "test")) \
            else account_id

    async def commit(self, account_id: str, op_id: str) -> Recorded | None:
        """Record the operation; None when it was already recorded."""
        now = time.time()
        period = month_of(now)
        # The script re-checks the op: a concurrent commit or release is harmless.
        scope = self._scope(account_id, await self.redis.hget(op_key(op_id), "scope"))
        pending, totals = _pending(scope)
        answer = await self._commit(
            {"op": op_key(op_id), "pending": pending, "pending_totals": totals,
             "month": usage_key(scope, period), "day": usage_key(scope, day_of(now)),
             "ledger": ledger_key(scope, period), "account": _account(account_id),
             "budget": budget_key(scope)},
            account_id=account_id, op_id=op_id, now=now, op_ttl=_OP_RETENTION,
            day_ttl=_DAY_RETENTION, recorded_at=_rfc3339(now))
        outcome = answer["outcome"]
        if outcome == "recorded":
            return Recorded(int(answer["month_fcu"]), int(answer["month_nano"]),
                            int(answer["fcu"]), int(answer["nano"]), str(answer["plan"]),
                            int(answer["cap_nano"] or 0), str(answer["mode"]), scope)
        if outcome == "already":
            return None
        if outcome == "released":
            raise WavisError("VALIDATION_ERROR", f"Operation {op_id!r} was released; it "
                             "cannot be recorded.")
        raise WavisError("OPERATION_NOT_FOUND", f"No reservation {op_id!r} for this account.")

    async def release(self, account_id: str, op_id: str) -> bool:
        """Give back a hold, or reverse a record (atomically, once); False when there was
        nothing to release (committed, already released, unknown: then marked void)."""
        if not op_id or len(op_id) > 128 or not account_id:
            return False
        # Which ledger, month and day a record landed in (set once).
        recorded_at, stored = await self.redis.hmget(op_key(op_id), ["recorded_at", "scope"])
        scope = self._scope(account_id, stored)
        pending, totals = _pending(scope)
        when = float(recorded_at) if recorded_at else time.time()
        period = month_of(when)
        answer = await self._release(
            {"op": op_key(op_id), "pending": pending, "pending_totals": totals,
             "month": usage_key(scope, period), "day": usage_key(scope, day_of(when)),
             "ledger": ledger_key(scope, period)},
            account_id=account_id, op_ttl=_OP_RETENTION)
        return bool(answer["outcome"] == "released")

    async def month_usage(self, account_id: str, period: str) -> dict[str, str]:
        return cast(dict[str, str], await self.redis.hgetall(usage_key(account_id, period)))

    async def budget(self, account_id: str) -> tuple[int, str]:
        """(cap in nano-USD, mode) of the account's budget; (0, '') without one."""
        fields = cast(dict[str, str], await self.redis.hgetall(budget_key(account_id)))
        return int(fields.get("cap_nano", 0)), fields.get("mode", "")

    async def days(self, account_id: str, period: str) -> list[tuple[str, dict[str, str]]]:
        start, end = month_bounds(period)
        days = [day_of(start.timestamp() + 86_400 * n)
                for n in range((end - start).days)]
        async with self.redis.pipeline(transaction=False) as pipe:
            for day in days:
                pipe.hgetall(usage_key(account_id, day))
            rows = await pipe.execute()
        return [(day, cast(dict[str, str], row)) for day, row in zip(days, rows, strict=True)
                if row]

    async def reserved(self, account_id: str) -> int:
        """FCU held by open reservations (expired ones are dropped at the next reserve)."""
        pending, _ = _pending(account_id)
        members = await self.redis.zrangebyscore(pending, time.time(), "+inf")
        return sum(int(str(m).rsplit("|", 2)[1]) for m in members)


def headroom_fcu(plan: Plan | None, recorded: Recorded, *, operations_limit: int,
                 pending_fcu: int, pending_nano: int) -> int:
    """FCU the account can still be charged, counting open reservations, before its plan's
    allowance (no overage) or a hard budget cap could refuse an operation; -1 when neither
    applies; 0 with an operations limit (trials count operations, not FCU)."""
    if operations_limit > 0:
        return 0
    room = []
    if plan is not None and not plan.overage_allowed:
        room.append(plan.monthly_fcu - recorded.month_fcu - pending_fcu)
    if recorded.budget_mode == "hard":
        room.append((recorded.cap_nano - recorded.month_nano - pending_nano) // nano_of(1))
    return max(0, min(room)) if room else -1


def by_operation(usage: dict[str, str]) -> dict[str, dict[str, int]]:
    """{operation: {count, fcu, nano}} from a month's usage hash."""
    result: dict[str, dict[str, int]] = {}
    for field, value in usage.items():
        kind, _, operation = field.partition(":")
        if operation:
            result.setdefault(operation, {"count": 0, "fcu": 0, "nano": 0})[kind] = int(value)
    return result


def _rfc3339(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))
