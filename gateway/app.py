"""The gateway's aiohttp app factory."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

from aiohttp import web
from opentelemetry import trace

from wavis.core.redis_client import open_redis
from wavis.gateway import state
from wavis.gateway.clients import ServiceClients
from wavis.gateway.endpoints import Endpoint, add_routes
from wavis.gateway.middlewares import MIDDLEWARES
from wavis.gateway.openapi import build_openapi
from wavis.gateway.routes import health, meta
from wavis.gateway.settings import GatewaySettings

# Every public endpoint, in the order the OpenAPI document lists them.
ENDPOINTS: tuple[Endpoint, ...] = (*health.ENDPOINTS, *meta.ENDPOINTS)


def create_app(settings: GatewaySettings,
               tracer_provider: trace.TracerProvider | None = None) -> web.Application:
    app = web.Application(middlewares=MIDDLEWARES, client_max_size=settings.max_request_bytes)
    app[state.SETTINGS] = settings
    app[state.ENDPOINTS] = ENDPOINTS
    app[state.OPENAPI] = build_openapi(ENDPOINTS)
    app[state.TRACER] = trace.get_tracer("wavis.gateway", tracer_provider=tracer_provider)
    app[state.STARTED_AT] = time.monotonic()
    add_routes(app, ENDPOINTS)

    async def clients(app: web.Application) -> AsyncIterator[None]:
        app[state.REDIS] = open_redis(settings)
        app[state.SERVICES] = ServiceClients(settings.service_targets, tracer_provider)
        yield
        await app[state.SERVICES].close()
        await app[state.REDIS].aclose()

    app.cleanup_ctx.append(clients)
    return app
