"""A test's client of a stack's state Redis, for checking what the services wrote."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio as aioredis

from wavis.devstack.stack import Stack


@asynccontextmanager
async def stack_redis(stack: Stack) -> AsyncIterator[aioredis.Redis]:
    """Decoded strings; closed at the end."""
    assert stack.redis is not None
    client = aioredis.Redis.from_url(stack.redis.url, decode_responses=True)
    try:
        yield client
    finally:
        await client.aclose()
