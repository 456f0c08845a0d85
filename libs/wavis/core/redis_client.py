"""The async Redis client every process opens from its settings."""

from __future__ import annotations

import redis.asyncio as aioredis
from opentelemetry import trace
from opentelemetry.instrumentation.redis import RedisInstrumentor

from wavis.core.settings import CommonSettings


def open_redis(settings: CommonSettings, *, decode_responses: bool = False,
               tracer_provider: trace.TracerProvider | None = None) -> aioredis.Redis:
    """Connections are lazy: a Redis that is down shows up as errors on use, never at start.

    Every command (and pipeline) is a CLIENT span under the current trace, made by
    `tracer_provider` (default: the process's, as `setup_tracing` installs it).
    """
    client = aioredis.Redis.from_url(
        settings.redis_url,
        socket_timeout=settings.redis_timeout_seconds,
        socket_connect_timeout=settings.redis_timeout_seconds,
        health_check_interval=30,
        decode_responses=decode_responses,
    )
    RedisInstrumentor.instrument_client(client, tracer_provider=tracer_provider)
    return client
