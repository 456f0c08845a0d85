"""Request rate limits: per account per UTC day and per calendar month, per client IP per 60 s.

One Lua script (namespace wavis:gateway:rate:) checks the caller's brute-force locks, then
all three counters, and counts the request only if every one has room. See
docs/decisions/0016-one-redis-script-for-rate-limits-and-locks.md.
"""

from __future__ import annotations

import calendar
import math
import time
from dataclasses import dataclass

import redis.asyncio as aioredis

from gateway.response_headers import RATE_LIMIT_WINDOWS, rate_limit

_NS = "wavis:gateway:rate"

# KEYS: lock keys, then counters; ARGV: the number of lock keys, then for each counter its
# limit and its expiry (epoch seconds). Returns {-1, longest lock's ms} when a lock is set
# (nothing counted), else {allowed (1/0), index of the first full counter (0 if none),
# count1, count2, ...}.
_CHECK_AND_COUNT = """
local locks = tonumber(ARGV[1])
local locked_ms = 0
for i = 1, locks do
  locked_ms = math.max(locked_ms, redis.call('PTTL', KEYS[i]))
end
if locked_ms > 0 then return {-1, locked_ms} end
local n = #KEYS - locks
for i = 1, n do
  local count = tonumber(redis.call('GET', KEYS[locks + i]) or '0')
  if count >= tonumber(ARGV[2 * i]) then
    local reply = {0, i}
    for j = 1, n do reply[j + 2] = tonumber(redis.call('GET', KEYS[locks + j]) or '0') end
    return reply
  end
end
local reply = {1, 0}
for i = 1, n do
  reply[i + 2] = redis.call('INCR', KEYS[locks + i])
  if reply[i + 2] == 1 then redis.call('EXPIREAT', KEYS[locks + i], ARGV[2 * i + 1]) end
end
return reply
"""


@dataclass(frozen=True)
class Window:
    name: str  # one of RATE_LIMIT_WINDOWS, as in the X-RateLimit-<name>-* headers
    key: str
    limit: int
    reset_at: int  # epoch seconds when the window's count starts again


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    headers: dict[str, str]
    retry_after: int  # seconds, when refused
    locked: bool = False  # refused by a brute-force lock, not a window


def _next_utc_midnight(now: float) -> int:
    return (int(now) // 86400 + 1) * 86400


def _next_month(now: float) -> int:
    year, month = time.gmtime(now)[:2]
    year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return calendar.timegm((year, month, 1, 0, 0, 0))


def account_windows(account_id: str, client_ip: str, daily: int, monthly: int, burst: int,
                    now: float) -> list[Window]:
    day = time.strftime("%Y%m%d", time.gmtime(now))
    month = time.strftime("%Y%m", time.gmtime(now))
    minute = int(now) // 60
    daily_name, monthly_name, burst_name = RATE_LIMIT_WINDOWS
    return [
        Window(daily_name, f"{_NS}:day:{account_id}:{day}", daily, _next_utc_midnight(now)),
        Window(monthly_name, f"{_NS}:month:{account_id}:{month}", monthly, _next_month(now)),
        Window(burst_name, f"{_NS}:burst:{client_ip}:{minute}", burst, (minute + 1) * 60),
    ]


class RateLimiter:
    def __init__(self, redis: aioredis.Redis) -> None:
        self._check = redis.register_script(_CHECK_AND_COUNT)

    async def hit(self, windows: list[Window], now: float | None = None,
                  locks: tuple[str, ...] = ()) -> Verdict:
        """Count the request in every window, unless one is full or one of `locks` is set
        (then `Verdict.locked` and no headers)."""
        now = time.time() if now is None else now
        args: list[int] = [len(locks)]
        for window in windows:
            args += [window.limit, window.reset_at + 60]  # a minute's slack for clock skew
        allowed, full, *counts = await self._check(keys=[*locks, *(w.key for w in windows)],
                                                   args=args)
        if allowed == -1:
            return Verdict(False, {}, math.ceil(full / 1000), locked=True)
        headers: dict[str, str] = {}
        for window, count in zip(windows, counts, strict=True):
            headers[rate_limit(window.name, "Limit")] = str(window.limit)
            headers[rate_limit(window.name, "Remaining")] = str(max(0, window.limit - count))
            headers[rate_limit(window.name, "Reset")] = str(window.reset_at)
        retry_after = 0
        if not allowed:
            retry_after = max(1, math.ceil(windows[full - 1].reset_at - now))
        return Verdict(bool(allowed), headers, retry_after)
