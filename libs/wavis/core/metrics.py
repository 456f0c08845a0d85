"""RED metrics (rate, errors, duration) for Prometheus: per HTTP route and per gRPC method.

The gateway serves them at GET /metrics; each gRPC service serves its own on
WAVIS_METRICS_PORT. Labels are bounded (route templates, method and code names); `service`
names the process, so processes sharing one registry (in-process tests) do not collide.
See docs/decisions/0025-metrics-per-process.md.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import grpc
import grpc.aio
from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    start_http_server,
)

# FHE work spans milliseconds (metering, keys) to tens of seconds (bootstrapping, key upload).
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

# gRPC codes that mean the service failed, not the caller (the E of RED).
SERVER_FAULT_CODES = frozenset({"UNKNOWN", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
                                "DEADLINE_EXCEEDED", "UNIMPLEMENTED"})

HTTP_REQUESTS = Counter(
    "wavis_http_requests", "HTTP requests answered, by route template, method and status",
    ["service", "route", "method", "status"])
HTTP_ERRORS = Counter(
    "wavis_http_request_errors", "HTTP requests answered with a 5xx status",
    ["service", "route", "method", "status"])
HTTP_DURATION = Histogram(
    "wavis_http_request_duration_seconds", "Time to answer an HTTP request",
    ["service", "route", "method"], buckets=DURATION_BUCKETS)
GRPC_HANDLED = Counter(
    "wavis_grpc_server_handled", "gRPC calls finished, by method and status code",
    ["service", "grpc_method", "grpc_code"])
GRPC_ERRORS = Counter(
    "wavis_grpc_server_errors", "gRPC calls finished with a server-fault status code",
    ["service", "grpc_method", "grpc_code"])
GRPC_DURATION = Histogram(
    "wavis_grpc_server_handling_seconds", "Time to handle a gRPC call",
    ["service", "grpc_method"], buckets=DURATION_BUCKETS)


def route_label(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


def http_metrics_middleware(service: str = "gateway") -> Any:
    """Counts and times every request, errors answered by inner middlewares included."""

    @web.middleware
    async def metrics_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
        started = time.perf_counter()
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            route, method = route_label(request), request.method
            HTTP_REQUESTS.labels(service, route, method, str(status)).inc()
            if status >= 500:
                HTTP_ERRORS.labels(service, route, method, str(status)).inc()
            HTTP_DURATION.labels(service, route, method).observe(time.perf_counter() - started)

    return metrics_middleware


async def metrics_handler(request: web.Request) -> web.Response:
    """GET /metrics: the Prometheus text exposition of this process."""
    body = generate_latest(REGISTRY)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


class GrpcMetricsInterceptor(grpc.aio.ServerInterceptor):
    """Counts and times every call of every method (health and reflection included)."""

    def __init__(self, service: str) -> None:
        from wavis.core.grpc_interceptors import WrappedHandlers

        self.service = service
        self._handlers = WrappedHandlers(self._around)

    async def intercept_service(self, continuation: Any,
                                handler_call_details: grpc.HandlerCallDetails) -> Any:
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        return self._handlers.get(handler, handler_call_details.method)

    @asynccontextmanager
    async def _around(self, context: grpc.aio.ServicerContext,
                      method: str) -> AsyncIterator[None]:
        started = time.perf_counter()
        code = "OK"
        try:
            yield
        except BaseException:
            code = _code_name(context, default="UNKNOWN")
            raise
        else:
            code = _code_name(context, default="OK")
        finally:
            GRPC_HANDLED.labels(self.service, method, code).inc()
            if code in SERVER_FAULT_CODES:
                GRPC_ERRORS.labels(self.service, method, code).inc()
            GRPC_DURATION.labels(self.service, method).observe(time.perf_counter() - started)


def _code_name(context: grpc.aio.ServicerContext, default: str) -> str:
    code = context.code()
    if isinstance(code, grpc.StatusCode):
        return str(code.name)
    if isinstance(code, int):
        try:
            return str(next(c.name for c in grpc.StatusCode if c.value[0] == code))
        except StopIteration:
            return default
    return default


def serve_metrics(host: str, port: int,
                  registry: CollectorRegistry = REGISTRY) -> tuple[Any, int]:
    """Start the /metrics HTTP endpoint of a gRPC service in a thread; (server, bound port)."""
    server, _thread = start_http_server(port, addr=host, registry=registry)
    return server, int(server.server_port)
