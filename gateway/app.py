"""The gateway's aiohttp app factory."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

from aiohttp import web
from opentelemetry import trace

from gateway import state
from gateway.auth import AuthCache, watch_revocations
from gateway.clients import ServiceClients
from gateway.endpoints import Endpoint, add_routes
from gateway.lockout import BruteForceGuard, LockoutPolicy
from gateway.middlewares import MIDDLEWARES
from gateway.openapi import build_openapi
from gateway.pagination import CursorSigner
from gateway.rate_limits import RateLimiter
from gateway.routes import (
    api_keys,
    billing,
    ciphertexts,
    compute,
    health,
    keys,
    meta,
    models,
    onboarding,
    programs,
    tfhe,
)
from gateway.routes import webhooks as webhook_routes
from gateway.settings import GatewaySettings
from wavis.core.maintenance import MaintenanceWatch
from wavis.core.metrics import metrics_handler
from wavis.core.redis_client import open_redis
from wavis.core.secrets import require_secret
from wavis.core.service_auth import service_token
from wavis.core.telemetry import active_tracer_provider

# Every public endpoint, in the order the OpenAPI document lists them.
ENDPOINTS: tuple[Endpoint, ...] = (
    *health.ENDPOINTS, *meta.ENDPOINTS, *onboarding.ENDPOINTS, *api_keys.ENDPOINTS,
    # programs first: /compute/program must not be read as /compute/{operation}
    *keys.ENDPOINTS, *ciphertexts.ENDPOINTS, *programs.ENDPOINTS, *compute.ENDPOINTS,
    *tfhe.ENDPOINTS, *models.ENDPOINTS,
    *webhook_routes.ENDPOINTS,
    *billing.ENDPOINTS)


def create_app(settings: GatewaySettings,
               tracer_provider: trace.TracerProvider | None = None) -> web.Application:
    app = web.Application(middlewares=MIDDLEWARES, client_max_size=settings.max_request_bytes)
    app[state.SETTINGS] = settings
    app[state.ENDPOINTS] = ENDPOINTS
    app[state.OPENAPI] = build_openapi(ENDPOINTS)
    tracer_provider = active_tracer_provider(tracer_provider)
    app[state.TRACING] = tracer_provider is not None
    app[state.TRACER] = trace.get_tracer("wavis.gateway", tracer_provider=tracer_provider)
    app[state.STARTED_AT] = time.monotonic()
    app[state.ROUTE_ENDPOINTS] = add_routes(app, ENDPOINTS)
    # Prometheus scrapes this; outside /api/v1 and the endpoint table (no auth, not in OpenAPI).
    app.router.add_get("/metrics", metrics_handler, name="metrics")
    app[state.AUTH_CACHE] = AuthCache(settings.auth_cache_seconds)
    app[state.MAINTENANCE] = MaintenanceWatch()
    app[state.CURSORS] = CursorSigner(require_secret(
        settings.cursor_secret, "WAVIS_CURSOR_SECRET", "cursor_secret",
        production=settings.is_production, data_dir=settings.data_dir))
    service_token(settings)  # production refuses to start without WAVIS_SERVICE_TOKEN

    async def clients(app: web.Application) -> AsyncIterator[None]:
        redis = app[state.REDIS] = open_redis(settings, tracer_provider=tracer_provider)
        app[state.SERVICES] = ServiceClients(settings.service_targets, tracer_provider,
                                             service_token(settings))
        app[state.LOCKOUT] = BruteForceGuard(redis, LockoutPolicy(
            settings.auth_failures_per_key, settings.auth_failures_per_ip,
            settings.auth_failure_window_seconds, settings.auth_lockout_seconds))
        app[state.RATE_LIMITER] = RateLimiter(redis)
        watchers = [asyncio.create_task(watch_revocations(app[state.SERVICES].accounts,
                                                          app[state.AUTH_CACHE])),
                    asyncio.create_task(app[state.MAINTENANCE].follow(redis))]
        yield
        for watcher in watchers:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        await app[state.SERVICES].close()
        await redis.aclose()

    app.cleanup_ctx.append(clients)
    return app
