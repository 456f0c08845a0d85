"""The ledger's Redis scripts (services/metering/named_scripts.py: named keys, a JSON object
of arguments, name/value results). The keys and states are described in
services/metering/ledger.py.
"""

from __future__ import annotations

from services.metering.named_scripts import Script

# Add an operation to a month's and a day's usage and its entry to the month's ledger (or,
# with sign -1, take it away). Used by the scripts below. `negated` because Lua's -0 (the
# negation of a free operation's 0) reaches Redis as "-0", which is not an integer to it.
_ADD_TO_USAGE = """
local function negated(x) return -x + 0 end
local function signed(x, sign) if sign < 0 then return negated(x) end return x end
local function add_usage(month, day, fcu, nano, op, sign)
  local month_fcu = redis.call('HINCRBY', month, 'fcu', signed(fcu, sign))
  local month_nano = redis.call('HINCRBY', month, 'nano', signed(nano, sign))
  redis.call('HINCRBY', month, 'count', sign)
  redis.call('HINCRBY', month, 'fcu:' .. op, signed(fcu, sign))
  redis.call('HINCRBY', month, 'nano:' .. op, signed(nano, sign))
  if redis.call('HINCRBY', month, 'count:' .. op, sign) <= 0 then
    redis.call('HDEL', month, 'fcu:' .. op, 'nano:' .. op, 'count:' .. op)
  end
  redis.call('HINCRBY', day, 'fcu', signed(fcu, sign))
  redis.call('HINCRBY', day, 'nano', signed(nano, sign))
  if redis.call('HINCRBY', day, 'count', sign) <= 0 then redis.call('DEL', day) end
  return month_fcu, month_nano
end
"""

# Take an operation's charge. arg: op_id, account_id, operation, fcu, nano, now, expires_at,
# plans ({plan: [monthly_fcu, overage 0|1]}), cost_usd, cost_jpy, op_ttl, record (bool),
# day_ttl, recorded_at, environment, scope.
# outcome: held | recorded (month_fcu, month_nano, plan, cap_nano, mode, operations_limit,
# pending_fcu, pending_nano) | existing (state) | foreign (another account's op id) |
# no_account | quota (used_fcu, included_fcu) | budget (spent_nano, cap_nano) | void (released
# before it was reserved).
RESERVE = Script(
    ("op", "account", "pending", "pending_totals", "month", "budget", "day", "ledger"),
    _ADD_TO_USAGE + """
local rec = redis.call('HMGET', op, 'account_id', 'state')
if rec[1] then
  if rec[1] ~= arg.account_id then return {'outcome', 'foreign'} end
  if rec[2] == 'void' then return {'outcome', 'void'} end
  if rec[2] ~= 'released' then return {'outcome', 'existing', 'state', rec[2]} end
end
local acct = redis.call('HMGET', account, 'plan', 'operations_limit')
if not acct[1] then return {'outcome', 'no_account'} end
for _, member in ipairs(redis.call('ZRANGEBYSCORE', pending, '-inf', arg.now)) do
  local _, _, f, n = string.find(member, '|(%d+)|(%d+)$')
  redis.call('HINCRBY', pending_totals, 'fcu', negated(tonumber(f)))
  redis.call('HINCRBY', pending_totals, 'nano', negated(tonumber(n)))
  redis.call('ZREM', pending, member)
end
local fcu, nano = arg.fcu, arg.nano
local plan = arg.plans[acct[1]]
local pend = redis.call('HMGET', pending_totals, 'fcu', 'nano')
local used = redis.call('HMGET', month, 'fcu', 'nano')
local used_fcu = tonumber(used[1] or '0') + tonumber(pend[1] or '0')
local spent = tonumber(used[2] or '0') + tonumber(pend[2] or '0')
if plan and plan[2] == 0 and fcu > 0 and used_fcu + fcu > plan[1] then
  return {'outcome', 'quota', 'used_fcu', used_fcu, 'included_fcu', plan[1]}
end
local cap = redis.call('HMGET', budget, 'cap_nano', 'mode')
if cap[2] == 'hard' and nano > 0 and spent + nano > tonumber(cap[1]) then
  return {'outcome', 'budget', 'spent_nano', spent, 'cap_nano', tonumber(cap[1])}
end
local fields = {'account_id', arg.account_id, 'operation', arg.operation, 'fcu', fcu,
  'nano', nano, 'cost_usd', arg.cost_usd, 'cost_jpy', arg.cost_jpy, 'reserved_at', arg.now,
  'environment', arg.environment, 'scope', arg.scope}
if arg.record then
  local entry = cjson.encode({op_id = arg.op_id, operation = arg.operation, fcu = fcu,
    cost_usd = arg.cost_usd, cost_jpy = arg.cost_jpy, recorded_at = arg.recorded_at,
    environment = arg.environment})
  redis.call('HSET', op, 'state', 'recorded', 'member', '', 'recorded_at', arg.now,
    'entry', entry, unpack(fields))
  redis.call('EXPIRE', op, arg.op_ttl)
  local month_fcu, month_nano = add_usage(month, day, fcu, nano, arg.operation, 1)
  redis.call('EXPIRE', day, arg.day_ttl)
  redis.call('RPUSH', ledger, entry)
  return {'outcome', 'recorded', 'month_fcu', month_fcu, 'month_nano', month_nano,
    'plan', acct[1], 'cap_nano', cap[1] or '0', 'mode', cap[2] or '',
    'operations_limit', tonumber(acct[2] or '0'), 'pending_fcu', tonumber(pend[1] or '0'),
    'pending_nano', tonumber(pend[2] or '0')}
end
local member = arg.op_id .. '|' .. fcu .. '|' .. nano
redis.call('HSET', op, 'state', 'reserved', 'member', member, 'recorded_at', '', 'entry', '',
  unpack(fields))
redis.call('EXPIRE', op, arg.op_ttl)
redis.call('ZADD', pending, arg.expires_at, member)
redis.call('HINCRBY', pending_totals, 'fcu', fcu)
redis.call('HINCRBY', pending_totals, 'nano', nano)
return {'outcome', 'held'}
""")

# Record a held operation. arg: account_id, op_id, now, op_ttl, day_ttl, recorded_at.
# outcome: recorded (month_fcu, month_nano, fcu, nano, plan, cap_nano, mode) | already
# (recorded before) | unknown | released.
COMMIT = Script(
    ("op", "pending", "pending_totals", "month", "day", "ledger", "account", "budget"),
    _ADD_TO_USAGE + """
local rec = redis.call('HMGET', op, 'account_id', 'state', 'fcu', 'nano', 'operation',
  'member', 'cost_usd', 'cost_jpy', 'environment')
if not rec[1] or rec[1] ~= arg.account_id or rec[2] == 'void' then
  return {'outcome', 'unknown'}
end
if rec[2] == 'committed' then return {'outcome', 'already'} end
if rec[2] == 'recorded' then  -- recorded when reserved: now final, no longer releasable
  redis.call('HSET', op, 'state', 'committed', 'committed_at', arg.now)
  return {'outcome', 'already'}
end
if rec[2] ~= 'reserved' then return {'outcome', 'released'} end
local fcu, nano = tonumber(rec[3]), tonumber(rec[4])
if redis.call('ZREM', pending, rec[6]) == 1 then
  redis.call('HINCRBY', pending_totals, 'fcu', negated(fcu))
  redis.call('HINCRBY', pending_totals, 'nano', negated(nano))
end
redis.call('HSET', op, 'state', 'committed', 'committed_at', arg.now)
redis.call('EXPIRE', op, arg.op_ttl)
local month_fcu, month_nano = add_usage(month, day, fcu, nano, rec[5], 1)
redis.call('EXPIRE', day, arg.day_ttl)
redis.call('RPUSH', ledger, cjson.encode({op_id = arg.op_id, operation = rec[5], fcu = fcu,
  cost_usd = rec[7], cost_jpy = rec[8], recorded_at = arg.recorded_at,
  environment = rec[9] or 'live'}))
local cap = redis.call('HMGET', budget, 'cap_nano', 'mode')
return {'outcome', 'recorded', 'month_fcu', month_fcu, 'month_nano', month_nano, 'fcu', fcu,
  'nano', nano, 'plan', redis.call('HGET', account, 'plan') or '', 'cap_nano', cap[1] or '0',
  'mode', cap[2] or ''}
""")

# Give a hold back, or reverse a record (month, day and ledger of when it was recorded).
# arg: account_id, op_ttl. outcome: released | nothing (committed, released, another
# account's). An op id never seen is marked void, so a reservation still on its way (its
# caller gave up waiting for it) is refused when it lands.
RELEASE = Script(
    ("op", "pending", "pending_totals", "month", "day", "ledger"),
    _ADD_TO_USAGE + """
local rec = redis.call('HMGET', op, 'account_id', 'state', 'fcu', 'nano', 'member',
  'operation', 'entry')
if not rec[1] then
  redis.call('HSET', op, 'account_id', arg.account_id, 'state', 'void')
  redis.call('EXPIRE', op, arg.op_ttl)
  return {'outcome', 'nothing'}
end
if rec[1] ~= arg.account_id then return {'outcome', 'nothing'} end
local fcu, nano = tonumber(rec[3]), tonumber(rec[4])
if rec[2] == 'reserved' then
  if redis.call('ZREM', pending, rec[5]) == 1 then
    redis.call('HINCRBY', pending_totals, 'fcu', negated(fcu))
    redis.call('HINCRBY', pending_totals, 'nano', negated(nano))
  end
elseif rec[2] == 'recorded' then
  add_usage(month, day, fcu, nano, rec[6], -1)
  redis.call('LREM', ledger, -1, rec[7])
else
  return {'outcome', 'nothing'}
end
redis.call('HSET', op, 'state', 'released')
return {'outcome', 'released'}
""")
