"""FCU accounting in Redis: a charge is taken before the work, recorded exactly once.

Both ways check the plan's quota and a hard budget cap first, atomically: `record=True`
(synchronous work) writes the record at once ("recorded"; a release reverses exactly that);
`record=False` holds the FCU ("reserved") until CommitUsage or ReleaseUsage, or until
RESERVATION_SECONDS pass. CommitUsage of a "recorded" op marks it "committed" (final). See
docs/decisions/0003-metering-in-the-compute-services.md.

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

import json
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, cast

import redis.asyncio as aioredis

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

# KEYS: op, account, pending zset, pending totals, month usage, budget, operations used,
#       day usage, ledger
# ARGV: op_id, account_id, operation, fcu, nano, now, expires_at, plans json, count_op,
#       cost_usd, cost_jpy, op ttl, record ('1': record now), day ttl, recorded_at (RFC 3339),
#       environment, scope
# Returns {1, remaining ops} held; {2, remaining ops, month fcu, month nano, plan, cap_nano,
# mode, operations limit, pending fcu, pending nano} recorded; {0, state} existing;
# {-1} other account's op_id; {-2} no account; {-3, used, limit} quota;
# {-4, spent_nano, cap_nano} budget; {-5} operations;
# {-6} released before it was reserved (see _RELEASE).
_RESERVE = """
local rec = redis.call('HMGET', KEYS[1], 'account_id', 'state')
if rec[1] then
  if rec[1] ~= ARGV[2] then return {-1} end
  if rec[2] == 'void' then return {-6} end
  if rec[2] ~= 'released' then return {0, rec[2]} end
end
local acct = redis.call('HMGET', KEYS[2], 'plan', 'operations_limit')
if not acct[1] then return {-2} end
local now = tonumber(ARGV[6])
local expired = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now)
for _, member in ipairs(expired) do
  local _, _, f, n = string.find(member, '|(%d+)|(%d+)$')
  redis.call('HINCRBY', KEYS[4], 'fcu', -tonumber(f))
  redis.call('HINCRBY', KEYS[4], 'nano', -tonumber(n))
  redis.call('ZREM', KEYS[3], member)
end
local fcu = tonumber(ARGV[4])
local nano = tonumber(ARGV[5])
local plan = cjson.decode(ARGV[8])[acct[1]]
local pend = redis.call('HMGET', KEYS[4], 'fcu', 'nano')
local used = redis.call('HMGET', KEYS[5], 'fcu', 'nano')
local used_fcu = tonumber(used[1] or '0') + tonumber(pend[1] or '0')
local spent = tonumber(used[2] or '0') + tonumber(pend[2] or '0')
if plan and plan[2] == 0 and fcu > 0 and used_fcu + fcu > plan[1] then
  return {-3, used_fcu, plan[1]}
end
local budget = redis.call('HMGET', KEYS[6], 'cap_nano', 'mode')
if budget[2] == 'hard' and nano > 0 and spent + nano > tonumber(budget[1]) then
  return {-4, spent, tonumber(budget[1])}
end
local remaining = -1
local counted = 0
local limit = tonumber(acct[2] or '0')
if ARGV[9] == '1' and limit > 0 then
  local ops = redis.call('INCR', KEYS[7])
  if ops > limit then
    redis.call('DECR', KEYS[7])
    return {-5}
  end
  remaining = limit - ops
  counted = 1
end
if ARGV[13] == '1' then
  local entry = cjson.encode({op_id = ARGV[1], operation = ARGV[3], fcu = fcu,
    cost_usd = ARGV[10], cost_jpy = ARGV[11], recorded_at = ARGV[15], environment = ARGV[16]})
  redis.call('HSET', KEYS[1], 'account_id', ARGV[2], 'operation', ARGV[3], 'fcu', ARGV[4],
    'nano', ARGV[5], 'cost_usd', ARGV[10], 'cost_jpy', ARGV[11], 'state', 'recorded',
    'counted', counted, 'member', '', 'reserved_at', ARGV[6], 'recorded_at', ARGV[6],
    'entry', entry, 'environment', ARGV[16], 'scope', ARGV[17])
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[12]))
  local month_fcu = redis.call('HINCRBY', KEYS[5], 'fcu', fcu)
  local month_nano = redis.call('HINCRBY', KEYS[5], 'nano', nano)
  redis.call('HINCRBY', KEYS[5], 'count', 1)
  redis.call('HINCRBY', KEYS[5], 'fcu:' .. ARGV[3], fcu)
  redis.call('HINCRBY', KEYS[5], 'nano:' .. ARGV[3], nano)
  redis.call('HINCRBY', KEYS[5], 'count:' .. ARGV[3], 1)
  redis.call('HINCRBY', KEYS[8], 'fcu', fcu)
  redis.call('HINCRBY', KEYS[8], 'nano', nano)
  redis.call('HINCRBY', KEYS[8], 'count', 1)
  redis.call('EXPIRE', KEYS[8], tonumber(ARGV[14]))
  redis.call('RPUSH', KEYS[9], entry)
  return {2, remaining, month_fcu, month_nano, acct[1], budget[1] or '0', budget[2] or '',
    limit, tonumber(pend[1] or '0'), tonumber(pend[2] or '0')}
end
local member = ARGV[1] .. '|' .. ARGV[4] .. '|' .. ARGV[5]
redis.call('HSET', KEYS[1], 'account_id', ARGV[2], 'operation', ARGV[3], 'fcu', ARGV[4],
  'nano', ARGV[5], 'cost_usd', ARGV[10], 'cost_jpy', ARGV[11], 'state', 'reserved',
  'counted', counted, 'member', member, 'reserved_at', ARGV[6], 'recorded_at', '', 'entry', '',
  'environment', ARGV[16], 'scope', ARGV[17])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[12]))
redis.call('ZADD', KEYS[3], tonumber(ARGV[7]), member)
redis.call('HINCRBY', KEYS[4], 'fcu', fcu)
redis.call('HINCRBY', KEYS[4], 'nano', nano)
return {1, remaining}
"""

# KEYS: op, pending zset, pending totals, month usage, day usage, ledger, account, budget
# (all but op and account of the op's scope)
# ARGV: account_id, now (epoch s), op retention, day retention, recorded_at (RFC 3339), op_id
# Returns {1, month fcu, month nano, fcu, nano, plan, cap_nano, mode} recorded now; {0} already
# recorded; {-1} unknown op; {-2} released.
_COMMIT = """
local rec = redis.call('HMGET', KEYS[1], 'account_id', 'state', 'fcu', 'nano', 'operation',
  'member', 'cost_usd', 'cost_jpy', 'environment')
if not rec[1] or rec[1] ~= ARGV[1] or rec[2] == 'void' then return {-1} end
if rec[2] == 'committed' then return {0} end
if rec[2] == 'recorded' then  -- recorded when reserved: now final, no longer releasable
  redis.call('HSET', KEYS[1], 'state', 'committed', 'committed_at', ARGV[2])
  return {0}
end
if rec[2] ~= 'reserved' then return {-2} end
local fcu = tonumber(rec[3])
local nano = tonumber(rec[4])
local op = rec[5]
if redis.call('ZREM', KEYS[2], rec[6]) == 1 then
  redis.call('HINCRBY', KEYS[3], 'fcu', -fcu)
  redis.call('HINCRBY', KEYS[3], 'nano', -nano)
end
redis.call('HSET', KEYS[1], 'state', 'committed', 'committed_at', ARGV[2])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
local month_fcu = redis.call('HINCRBY', KEYS[4], 'fcu', fcu)
local month_nano = redis.call('HINCRBY', KEYS[4], 'nano', nano)
redis.call('HINCRBY', KEYS[4], 'count', 1)
redis.call('HINCRBY', KEYS[4], 'fcu:' .. op, fcu)
redis.call('HINCRBY', KEYS[4], 'nano:' .. op, nano)
redis.call('HINCRBY', KEYS[4], 'count:' .. op, 1)
redis.call('HINCRBY', KEYS[5], 'fcu', fcu)
redis.call('HINCRBY', KEYS[5], 'nano', nano)
redis.call('HINCRBY', KEYS[5], 'count', 1)
redis.call('EXPIRE', KEYS[5], tonumber(ARGV[4]))
redis.call('RPUSH', KEYS[6], cjson.encode({op_id = ARGV[6], operation = op, fcu = fcu,
  cost_usd = rec[7], cost_jpy = rec[8], recorded_at = ARGV[5],
  environment = rec[9] or 'live'}))
local plan = redis.call('HGET', KEYS[7], 'plan') or ''
local budget = redis.call('HMGET', KEYS[8], 'cap_nano', 'mode')
return {1, month_fcu, month_nano, fcu, nano, plan, budget[1] or '0', budget[2] or ''}
"""

# KEYS: op, pending zset, pending totals, operations used, month usage, day usage, ledger
# (the last three of the month and day the op was recorded in; unused for a hold).
# ARGV: account_id, op ttl.
# Returns 1 released (a hold given back, or a record reversed), 0 nothing to release
# (committed, released, another account's op). An op_id never seen is marked "void", so a
# reservation still on its way (its caller gave up waiting for it) is refused when it lands.
_RELEASE = """
local rec = redis.call('HMGET', KEYS[1], 'account_id', 'state', 'fcu', 'nano', 'member',
  'counted', 'operation', 'entry')
if not rec[1] then
  redis.call('HSET', KEYS[1], 'account_id', ARGV[1], 'state', 'void')
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]))
  return 0
end
if rec[1] ~= ARGV[1] then return 0 end
local fcu = tonumber(rec[3])
local nano = tonumber(rec[4])
if rec[2] == 'reserved' then
  if redis.call('ZREM', KEYS[2], rec[5]) == 1 then
    redis.call('HINCRBY', KEYS[3], 'fcu', -fcu)
    redis.call('HINCRBY', KEYS[3], 'nano', -nano)
  end
elseif rec[2] == 'recorded' then
  local op = rec[7]
  redis.call('HINCRBY', KEYS[5], 'fcu', -fcu)
  redis.call('HINCRBY', KEYS[5], 'nano', -nano)
  redis.call('HINCRBY', KEYS[5], 'count', -1)
  redis.call('HINCRBY', KEYS[5], 'fcu:' .. op, -fcu)
  redis.call('HINCRBY', KEYS[5], 'nano:' .. op, -nano)
  if redis.call('HINCRBY', KEYS[5], 'count:' .. op, -1) <= 0 then
    redis.call('HDEL', KEYS[5], 'fcu:' .. op, 'nano:' .. op, 'count:' .. op)
  end
  redis.call('HINCRBY', KEYS[6], 'fcu', -fcu)
  redis.call('HINCRBY', KEYS[6], 'nano', -nano)
  if redis.call('HINCRBY', KEYS[6], 'count', -1) <= 0 then redis.call('DEL', KEYS[6]) end
  redis.call('LREM', KEYS[7], -1, rec[8])
else
  return 0
end
if rec[6] == '1' and tonumber(redis.call('GET', KEYS[4]) or '0') > 0 then
  redis.call('DECR', KEYS[4])
end
redis.call('HSET', KEYS[1], 'state', 'released')
return 1
"""


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


def _operations_used(account_id: str) -> str:
    return f"{NS}:account:{account_id}:operations_used"


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
    operations_remaining: int
    recorded: Recorded | None = None  # set when this call recorded the operation (record=True)
    # FCU left before a limit could refuse an operation (-1: none applies; 0 with an
    # operations limit, or when the call recorded nothing).
    headroom_fcu: int = 0


class Ledger:
    def __init__(self, redis: aioredis.Redis, plans: dict[str, Plan], jpy_per_usd: float) -> None:
        self.redis = redis
        self.plans = plans
        self.jpy_per_usd = jpy_per_usd
        self._plans_json = json.dumps({
            name: [plan.monthly_fcu, 1 if plan.overage_allowed else 0]
            for name, plan in plans.items()})
        self._reserve = redis.register_script(_RESERVE)
        self._commit = redis.register_script(_COMMIT)
        self._release = redis.register_script(_RELEASE)

    async def reserve(self, account_id: str, op_id: str, operation: str, fcu: int,
                      already_counted: bool, record: bool = False,
                      environment: str = "live") -> Reserved:
        """Take the operation's charge (402 codes when the plan or a hard cap refuses it).

        record=True: the charge is recorded now and stands unless released; record=False:
        it is held until committed or released (or it expires). A test key's charge goes to
        the test-mode ledger and budget; the live plan's allowance bounds it all the same."""
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
        result = cast(list[Any], await self._reserve(
            keys=[op_key(op_id), _account(account_id), pending, totals,
                  usage_key(scope, period), budget_key(scope),
                  _operations_used(account_id), usage_key(scope, day_of(now)),
                  ledger_key(scope, period)],
            args=[op_id, account_id, operation, fcu, nano, now, now + RESERVATION_SECONDS,
                  self._plans_json, "0" if already_counted else "1", repr(cost_usd),
                  repr(cost_jpy), _OP_RETENTION, "1" if record else "0", _DAY_RETENTION,
                  _rfc3339(now), environment, scope]))
        code = int(result[0])
        if code == 1:
            return Reserved(fcu, cost_usd, cost_jpy, int(result[1]))
        if code == 2:
            recorded = Recorded(int(result[2]), int(result[3]), fcu, nano, _text(result[4]),
                                int(_text(result[5]) or 0), _text(result[6]), scope)
            headroom = headroom_fcu(self.plans.get(recorded.plan), recorded,
                                    operations_limit=int(result[7]),
                                    pending_fcu=int(result[8]), pending_nano=int(result[9]))
            return Reserved(fcu, cost_usd, cost_jpy, int(result[1]), recorded, headroom)
        if code == 0:  # the same op_id again: what it was reserved at
            fields = cast(dict[str, str], await self.redis.hgetall(op_key(op_id)))
            stored = int(fields.get("fcu", fcu))
            return Reserved(stored, float(fields.get("cost_usd", cost_usd)),
                            float(fields.get("cost_jpy", cost_jpy)), -1)
        if code == -1:
            raise WavisError("VALIDATION_ERROR", f"op_id {op_id!r} belongs to another account.")
        if code == -2:
            raise WavisError("NOT_FOUND", f"No account {account_id!r}.")
        if code == -6:
            raise WavisError("VALIDATION_ERROR", f"Operation {op_id!r} was released before "
                             "it was reserved; use a new op_id.")
        if code == -3:
            raise WavisError("QUOTA_EXHAUSTED", "This operation would take the account past "
                             "its plan's monthly FCU allowance; upgrade or wait for the reset.",
                             {"fcu": fcu, "fcu_used": int(result[1]),
                              "fcu_included": int(result[2])})
        if code == -4:
            raise WavisError("BUDGET_CAP_REACHED", "This operation would take the month's "
                             "spend past the account's hard budget cap.",
                             {"cost_usd": cost_usd, "spent_usd": usd(int(result[1])),
                              "monthly_cap_usd": usd(int(result[2]))})
        raise WavisError("QUOTA_EXHAUSTED",
                         "This trial's operations are used up; sign up for a plan.")

    async def commit(self, account_id: str, op_id: str) -> Recorded | None:
        """Record the operation; None when it was already recorded."""
        now = time.time()
        period = month_of(now)
        # Whose ledger (set when reserved, never changed); the script re-checks the op.
        scope = await self.redis.hget(op_key(op_id), "scope") or account_id
        if scope not in (account_id, scope_of(account_id, "test")):
            scope = account_id
        pending, totals = _pending(scope)
        result = cast(list[Any], await self._commit(
            keys=[op_key(op_id), pending, totals, usage_key(scope, period),
                  usage_key(scope, day_of(now)), ledger_key(scope, period),
                  _account(account_id), budget_key(scope)],
            args=[account_id, now, _OP_RETENTION, _DAY_RETENTION,
                  _rfc3339(now), op_id]))
        code = int(result[0])
        if code == 1:
            return Recorded(int(result[1]), int(result[2]), int(result[3]), int(result[4]),
                            _text(result[5]), int(_text(result[6]) or 0), _text(result[7]),
                            scope)
        if code == 0:
            return None
        if code == -2:
            raise WavisError("VALIDATION_ERROR", f"Operation {op_id!r} was released; it "
                             "cannot be recorded.")
        raise WavisError("OPERATION_NOT_FOUND", f"No reservation {op_id!r} for this account.")

    async def release(self, account_id: str, op_id: str) -> bool:
        """Give back a hold, or reverse a record (atomically, once); False when there was
        nothing to release (committed, already released, unknown: then marked void)."""
        if not op_id or len(op_id) > 128 or not account_id:
            return False
        # Which ledger, month and day a record landed in (set once); the script re-checks
        # the state, so a concurrent release or commit is harmless.
        recorded_at, scope = await self.redis.hmget(op_key(op_id), ["recorded_at", "scope"])
        if scope not in (account_id, scope_of(account_id, "test")):
            scope = account_id
        pending, totals = _pending(scope)
        when = float(recorded_at) if recorded_at else time.time()
        period = month_of(when)
        return bool(await self._release(
            keys=[op_key(op_id), pending, totals, _operations_used(account_id),
                  usage_key(scope, period), usage_key(scope, day_of(when)),
                  ledger_key(scope, period)],
            args=[account_id, _OP_RETENTION]))

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


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
