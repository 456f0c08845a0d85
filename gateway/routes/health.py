"""GET|HEAD /health (dependency report), /health/live and /health/ready (Kubernetes probes)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from grpc_health.v1 import health_pb2

import wavis
from gateway import state
from gateway.endpoints import Endpoint, Reply
from wavis.core.errors import WavisError
from wavis.core.mesh import SERVICES, MeshService
from wavis.generated.metering.v1 import billing_pb2

# The ciphertext cache is flagged in /health once this full.
CACHE_WARNING_PCT = 80.0
_SERVING = health_pb2.HealthCheckResponse.SERVING


@dataclass
class Probe:
    """One dependency's answer to a probe."""

    name: str
    up: bool
    latency_ms: float
    error: str | None = None
    describe: Any = None  # the service's DescribeResponse, when it is up

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "status": "up" if self.up else "down",
                "latency_ms": self.latency_ms, "error": self.error}


def _elapsed_ms(started: float) -> float:
    return round(1000 * (time.perf_counter() - started), 2)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, asyncio.TimeoutError):
        return "timed out"
    details = getattr(exc, "details", None)  # grpc errors carry a readable sentence here
    text = details() if callable(details) else str(exc)
    return (text or type(exc).__name__)[:200]


async def probe_redis(app: web.Application, timeout: float) -> Probe:
    started = time.perf_counter()
    try:
        await asyncio.wait_for(app[state.REDIS].ping(), timeout)
    except Exception as exc:
        return Probe("redis", False, _elapsed_ms(started), _reason(exc))
    return Probe("redis", True, _elapsed_ms(started))


async def probe_service(app: web.Application, service: MeshService, timeout: float,
                        describe: bool) -> Probe:
    """The service's standard health check, then (for /health) its Describe round trip."""
    clients = app[state.SERVICES]
    started = time.perf_counter()
    try:
        status = await clients.check_health(service, timeout)
        latency = _elapsed_ms(started)
        if status != _SERVING:
            name = health_pb2.HealthCheckResponse.ServingStatus.Name(status)
            return Probe(service.name, False, latency, f"health check answered {name}")
        remaining = max(0.05, timeout - (time.perf_counter() - started))
        info = await clients.describe(service, remaining) if describe else None
    except Exception as exc:
        return Probe(service.name, False, _elapsed_ms(started), _reason(exc))
    return Probe(service.name, True, latency, describe=info)


async def probe_stripe(app: web.Application) -> Probe | None:
    """Stripe, through the metering service that holds its client; None when unconfigured."""
    settings = app[state.SETTINGS]
    if not settings.stripe_api_key:
        return None
    started = time.perf_counter()
    try:
        reply = await app[state.SERVICES].billing.CheckStripe(
            billing_pb2.CheckStripeRequest(), timeout=settings.health_probe_timeout_seconds)
    except Exception as exc:
        return Probe("stripe", False, _elapsed_ms(started), _reason(exc))
    return Probe("stripe", reply.reachable, _elapsed_ms(started), reply.error or None)


async def probe_all(app: web.Application, describe: bool) -> list[Probe]:
    timeout = app[state.SETTINGS].health_probe_timeout_seconds
    probes = [probe_redis(app, timeout)]
    probes += [probe_service(app, service, timeout, describe) for service in SERVICES]
    return list(await asyncio.gather(*probes))


def overall_status(probes: list[Probe]) -> str:
    """healthy: all up; unavailable: Redis or every service down; degraded: anything else."""
    if all(probe.up for probe in probes):
        return "healthy"
    redis_up = probes[0].up
    services_up = any(probe.up for probe in probes[1:])
    return "degraded" if redis_up and services_up else "unavailable"


async def get_health(request: web.Request) -> web.Response:
    app = request.app
    probes, stripe = await asyncio.gather(probe_all(app, describe=True), probe_stripe(app))
    by_name = {probe.name: probe.describe for probe in probes if probe.describe is not None}
    ckks = by_name.get("ckks-compute")
    tfhe = by_name.get("tfhe-eval")
    engine_source = ckks or tfhe
    cache_pct = round(ckks.ciphertext_cache_usage_pct, 2) if ckks is not None else 0.0
    status = overall_status(probes)
    if stripe is not None and not stripe.up and status == "healthy":
        status = "degraded"
    body = {
        "status": status,
        "version": wavis.__version__,
        "uptime_seconds": round(time.monotonic() - app[state.STARTED_AT], 3),
        "fhe_engine": engine_source.info.fhe_engine if engine_source is not None else "unknown",
        "active_sessions": int(tfhe.active_sessions) if tfhe is not None else 0,
        "active_jobs": int(ckks.active_jobs) if ckks is not None else 0,
        "ciphertext_cache_usage_pct": cache_pct,
        "ciphertext_cache_warning": cache_pct >= CACHE_WARNING_PCT,
        "dependencies": [probe.as_json() for probe in [*probes, *([stripe] if stripe else [])]],
    }
    return web.json_response(body)  # 200 even when degraded: the body says how healthy


async def get_health_live(request: web.Request) -> web.Response:
    return web.json_response({
        "status": "live",
        "uptime_seconds": round(time.monotonic() - request.app[state.STARTED_AT], 3),
    })


async def get_health_ready(request: web.Request) -> web.Response:
    probes = await probe_all(request.app, describe=False)
    down = [probe.name for probe in probes if not probe.up]
    if down:
        raise WavisError("NOT_READY", f"Not ready: {', '.join(down)} unavailable.",
                         {"down": down})
    return web.json_response({"status": "ready"})


ENDPOINTS = (
    Endpoint("GET", "/health", get_health, "Service status and dependency checks", "Health",
             {200: Reply("Status of the gateway and every dependency (200 even when degraded).",
                         "Health")},
             description="Probes Redis, every internal service and (when configured) Stripe "
                         "(2 s limit each). HEAD too."),
    Endpoint("GET", "/health/live", get_health_live, "Liveness probe (no dependency calls)",
             "Health", {200: Reply("The gateway process is up.", "Liveness")}),
    Endpoint("GET", "/health/ready", get_health_ready, "Readiness probe", "Health",
             {200: Reply("Every required dependency answers.", "Readiness"),
              503: Reply("A required dependency is down; details.down names it.", "Error")}),
)
