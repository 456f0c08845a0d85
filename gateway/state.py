"""Typed application state of the gateway (aiohttp AppKeys)."""

from __future__ import annotations

import redis.asyncio as aioredis
from aiohttp import web
from opentelemetry import trace

from gateway.auth import AuthCache, Caller
from gateway.clients import ServiceClients
from gateway.endpoints import Endpoint
from gateway.lockout import BruteForceGuard
from gateway.pagination import CursorSigner
from gateway.rate_limits import RateLimiter
from gateway.settings import GatewaySettings
from wavis.core.maintenance import MaintenanceWatch

SETTINGS = web.AppKey("settings", GatewaySettings)
REDIS = web.AppKey("redis", aioredis.Redis)
SERVICES = web.AppKey("services", ServiceClients)
ENDPOINTS = web.AppKey("endpoints", tuple[Endpoint, ...])
TRACER = web.AppKey("tracer", trace.Tracer)
TRACING = web.AppKey("tracing", bool)  # False: no spans at all (OTEL_TRACES_EXPORTER=none)
STARTED_AT = web.AppKey("started_at", float)
OPENAPI = web.AppKey("openapi", dict)  # the document, built once at start
ROUTE_ENDPOINTS = web.AppKey("route_endpoints", dict)  # route name -> Endpoint
AUTH_CACHE = web.AppKey("auth_cache", AuthCache)
LOCKOUT = web.AppKey("lockout", BruteForceGuard)
RATE_LIMITER = web.AppKey("rate_limiter", RateLimiter)
CURSORS = web.AppKey("cursors", CursorSigner)
MAINTENANCE = web.AppKey("maintenance", MaintenanceWatch)

# Per request: who is calling (authenticated endpoints), and headers every response of this
# request must carry whatever path it takes out (rate-limit headers).
CALLER = web.RequestKey("caller", Caller)
RESPONSE_HEADERS = web.RequestKey("response_headers", dict)
