"""The gateway's one middleware chain, outermost first:

request id -> tracing -> errors -> CORS -> maintenance -> body limit -> auth -> limits ->
parameters -> idempotency.
Every response, errors included, leaves with X-Request-Id, CORS and rate-limit headers.
"""

from __future__ import annotations

import logging
import time

from aiohttp import web
from aiohttp.typedefs import Handler
from opentelemetry import propagate
from opentelemetry.trace import SpanKind, Status, StatusCode

from gateway import state
from gateway.access import auth_middleware, limits_middleware, operations_middleware
from gateway.endpoints import API_PREFIX
from gateway.errors import error_response, render_exception
from gateway.idempotency import IDEMPOTENCY_KEY_HEADER, idempotency_middleware
from gateway.parameters import parameters_middleware
from gateway.response_headers import EXPOSED, RETRY_AFTER, SERVER_TIMING
from wavis.core.errors import WavisError
from wavis.core.metrics import http_metrics_middleware
from wavis.core.request_context import (
    REQUEST_ID_HEADER,
    accept_request_id,
    current_request_id,
    request_timings,
)

log = logging.getLogger("wavis.gateway.access")

# Request headers a browser client may send (besides the CORS-safelisted ones).
CORS_ALLOWED_HEADERS = ", ".join(("Authorization", "Content-Type", IDEMPOTENCY_KEY_HEADER,
                                  REQUEST_ID_HEADER))


@web.middleware
async def request_id_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    request_id = accept_request_id(request.headers.get(REQUEST_ID_HEADER))
    token = current_request_id.set(request_id)
    timings: dict[str, float] = {}
    timings_token = request_timings.set(timings)
    started = time.perf_counter()
    try:
        response = await handler(request)
        response.headers.update(request.get(state.RESPONSE_HEADERS) or {})
        response.headers[REQUEST_ID_HEADER] = request_id
        timings["total"] = time.perf_counter() - started
        response.headers[SERVER_TIMING.name] = ", ".join(
            f"{kind};dur={1000 * seconds:.2f}" for kind, seconds in timings.items())
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["Access-Control-Expose-Headers"] = EXPOSED
        log.info("%s %s %d", request.method, request.path, response.status,
                 extra={"duration_ms": round(1000 * timings["total"], 2)})
        return response
    finally:
        request_timings.reset(timings_token)
        current_request_id.reset(token)


@web.middleware
async def tracing_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A SERVER span per request, continuing the caller's W3C traceparent if it sent one."""
    if not request.app[state.TRACING]:
        return await handler(request)
    tracer = request.app[state.TRACER]
    route = request.match_info.route.resource
    route_name = route.canonical if route is not None else "unmatched"
    with tracer.start_as_current_span(
        f"{request.method} {route_name}",
        context=propagate.extract(request.headers),
        kind=SpanKind.SERVER,
        attributes={"http.request.method": request.method, "http.route": route_name,
                    "wavis.request_id": current_request_id.get() or ""},
    ) as span:
        response = await handler(request)
        span.set_attribute("http.response.status_code", response.status)
        if response.status >= 500:
            span.set_status(Status(StatusCode.ERROR))
        return response


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure becomes the contract's envelope; nothing else reaches the client."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return render_exception(request, exc)
    except Exception as exc:
        return render_exception(request, exc)


@web.middleware
async def cors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer CORS preflights (OPTIONS with Access-Control-Request-Method) on known paths."""
    if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
        # The router matched no OPTIONS route: it tells which methods the path does have.
        refusal = getattr(request.match_info, "http_exception", None)
        methods: set[str] = set()
        if isinstance(refusal, web.HTTPMethodNotAllowed):
            methods = set(refusal.allowed_methods)
        if methods:
            return web.Response(status=204, headers={
                "Access-Control-Allow-Methods": ", ".join(sorted(methods | {"OPTIONS"})),
                "Access-Control-Allow-Headers": CORS_ALLOWED_HEADERS,
                "Access-Control-Max-Age": "600",
            })
    return await handler(request)


# Open in maintenance: probes must not restart replicas, clients may read the API document.
MAINTENANCE_EXEMPT = frozenset({
    f"{API_PREFIX}/health", f"{API_PREFIX}/health/live", f"{API_PREFIX}/health/ready",
    f"{API_PREFIX}/openapi.json", "/metrics",
})


@web.middleware
async def maintenance_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """503 MAINTENANCE while the operator's switch is on; checked on entry only, so requests
    already running when it is turned on finish normally."""
    maintenance = request.app[state.MAINTENANCE].current
    if maintenance is None or request.path in MAINTENANCE_EXEMPT:
        return await handler(request)
    return error_response(WavisError("MAINTENANCE", maintenance.message),
                          {RETRY_AFTER.name: str(maintenance.retry_after)})


@web.middleware
async def body_limit_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse a declared oversize body before reading a byte of it."""
    limit = request.app[state.SETTINGS].max_request_bytes
    if request.content_length is not None and request.content_length > limit:
        raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=request.content_length)
    return await handler(request)


MIDDLEWARES = (
    http_metrics_middleware("gateway"),
    request_id_middleware,
    tracing_middleware,
    error_middleware,
    cors_middleware,
    maintenance_middleware,
    body_limit_middleware,
    auth_middleware,
    limits_middleware,
    parameters_middleware,
    idempotency_middleware,
    operations_middleware,
)
