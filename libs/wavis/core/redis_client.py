"""The async Redis client every process opens from its settings."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import redis.asyncio as aioredis
import redis.exceptions
from opentelemetry import trace
from opentelemetry.instrumentation.redis import RedisInstrumentor

from wavis.core.errors import WavisError
from wavis.core.settings import CommonSettings
from wavis.core.telemetry import active_tracer_provider

_FROM_SETTINGS = -1.0

# A Redis that does not answer: 502 UPSTREAM_UNAVAILABLE, not a 500.
REDIS_UNAVAILABLE = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


def redis_unavailable() -> WavisError:
    return WavisError("UPSTREAM_UNAVAILABLE", "Shared state (Redis) is unavailable; retry "
                      "shortly.")


def open_redis(settings: CommonSettings, *, decode_responses: bool = False,
               tracer_provider: trace.TracerProvider | None = None,
               read_timeout: float | None = _FROM_SETTINGS,
               url: str | None = None) -> aioredis.Redis:
    """Connections are lazy: a Redis that is down shows up as errors on use, never at start.

    When tracing is on, every command (and pipeline) is a CLIENT span under the current
    trace, made by `tracer_provider` (default: the process's, see wavis.core.telemetry).
    `read_timeout` defaults to WAVIS_REDIS_TIMEOUT_SECONDS; None (subscriptions, which wait
    for messages indefinitely) or a longer one (blocking reads) where a command may wait.
    `url` (default WAVIS_REDIS_URL) names another Redis, e.g. the ciphertext cache.
    """
    client = aioredis.Redis.from_url(
        url or settings.redis_url,
        socket_timeout=(settings.redis_timeout_seconds if read_timeout == _FROM_SETTINGS
                        else read_timeout),
        socket_connect_timeout=settings.redis_timeout_seconds,
        health_check_interval=30,
        decode_responses=decode_responses,
    )
    provider = active_tracer_provider(tracer_provider)
    if provider is not None:
        RedisInstrumentor.instrument_client(client, tracer_provider=provider)
    return client


async def channel_messages(client: aioredis.Redis, channel: str,
                           stopping: asyncio.Event) -> AsyncIterator[str | None]:
    """A subscription for a gRPC stream: None once subscribed (so the stream can tell its
    caller that nothing published from now on is missed), then each message, until
    `stopping` is set (the server's graceful stop must not wait on subscribers)."""
    async with client.pubsub(ignore_subscribe_messages=True) as pubsub:
        await pubsub.subscribe(channel)
        yield None
        while not stopping.is_set():
            message = await pubsub.get_message(timeout=0.5)
            if message is not None:
                data = message["data"]
                yield data.decode() if isinstance(data, bytes) else str(data)
