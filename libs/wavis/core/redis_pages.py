"""Newest-first pages over a Redis sorted set used as an index.

Members are "<created_ms, 13 digits>:<id>" with score 0, so the set is ordered by member
(lexicographically = by creation time, then id). A page continues strictly below the last
member it returned, so inserts between pages (always newer) never shift or repeat items.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as aioredis


def page_limit(requested: int) -> int:
    """An internal caller's page size: 20 when unset, within 1-100 (the gateway already
    refuses anything else from the public API)."""
    return max(1, min(100, requested or 20))


def index_member(created_ms: int, item_id: str) -> str:
    return f"{created_ms:013d}:{item_id}"


def member_id(member: str) -> str:
    return member.split(":", 1)[1]


@dataclass
class Page:
    ids: list[str]
    has_more: bool
    next_cursor: str  # the last member returned, when has_more; else ""


async def newest_first(redis: aioredis.Redis, index_key: str, limit: int, cursor: str) -> Page:
    upper = f"({cursor}" if cursor else "+"
    raw = await redis.zrevrangebylex(index_key, upper, "-", start=0, num=limit + 1)
    members = [m.decode() if isinstance(m, bytes) else m for m in raw]
    has_more = len(members) > limit
    members = members[:limit]
    return Page([member_id(m) for m in members], has_more, members[-1] if has_more else "")
