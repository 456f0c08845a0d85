"""The async Redis client every process opens from its settings."""

from __future__ import annotations

import redis.asyncio as aioredis

from wavis.core.settings import CommonSettings


def open_redis(settings: CommonSettings, *, decode_responses: bool = False) -> aioredis.Redis:
    """Connections are lazy: a Redis that is down shows up as errors on use, never at start."""
    return aioredis.Redis.from_url(
        settings.redis_url,
        socket_timeout=settings.redis_timeout_seconds,
        socket_connect_timeout=settings.redis_timeout_seconds,
        health_check_interval=30,
        decode_responses=decode_responses,
    )
