"""Typed application state of the gateway (aiohttp AppKeys)."""

from __future__ import annotations

import redis.asyncio as aioredis
from aiohttp import web
from opentelemetry import trace

from wavis.gateway.clients import ServiceClients
from wavis.gateway.endpoints import Endpoint
from wavis.gateway.settings import GatewaySettings

SETTINGS = web.AppKey("settings", GatewaySettings)
REDIS = web.AppKey("redis", aioredis.Redis)
SERVICES = web.AppKey("services", ServiceClients)
ENDPOINTS = web.AppKey("endpoints", tuple[Endpoint, ...])
TRACER = web.AppKey("tracer", trace.Tracer)
STARTED_AT = web.AppKey("started_at", float)
OPENAPI = web.AppKey("openapi", dict)  # the document, built once at start
