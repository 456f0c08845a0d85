"""gRPC channels to other services: round robin, default deadline, request id and tracing."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import grpc
import grpc.aio
from opentelemetry import trace
from opentelemetry.instrumentation.grpc import aio_client_interceptors

from wavis.core.request_context import (
    REQUEST_ID_METADATA,
    add_time,
    current_request_id,
    request_timings,
)

DEFAULT_DEADLINE_SECONDS = 10.0

# Client-side round robin over every address a (headless) DNS name resolves to.
_SERVICE_CONFIG = json.dumps({"loadBalancingConfig": [{"round_robin": {}}]})


class _CallDefaultsInterceptor(
    grpc.aio.UnaryUnaryClientInterceptor,
    grpc.aio.UnaryStreamClientInterceptor,
    grpc.aio.StreamUnaryClientInterceptor,
    grpc.aio.StreamStreamClientInterceptor,
):
    """Every call gets the current request id, and every call with one response a deadline,
    unless it brings its own. Response streams (subscriptions) run until cancelled."""

    def __init__(self, default_deadline: float) -> None:
        self.default_deadline = default_deadline

    def _details(self, details: grpc.aio.ClientCallDetails,
                 single_response: bool = True) -> grpc.aio.ClientCallDetails:
        metadata = grpc.aio.Metadata(*(details.metadata or ()))
        request_id = current_request_id.get()
        if request_id and REQUEST_ID_METADATA not in metadata:
            metadata.add(REQUEST_ID_METADATA, request_id)
        timeout = details.timeout
        if timeout is None and single_response:
            timeout = self.default_deadline
        return grpc.aio.ClientCallDetails(details.method, timeout, metadata,
                                          details.credentials, details.wait_for_ready)

    async def intercept_unary_unary(self, continuation: Callable[..., Any],
                                    client_call_details: grpc.aio.ClientCallDetails,
                                    request: Any) -> Any:
        timings = request_timings.get()
        started = time.perf_counter()
        call = await continuation(self._details(client_call_details), request)
        if timings is not None:  # the request's gRPC time, for Server-Timing
            call.add_done_callback(
                lambda _: add_time("grpc", time.perf_counter() - started, timings))
        return call

    async def intercept_unary_stream(self, continuation: Callable[..., Any],
                                     client_call_details: grpc.aio.ClientCallDetails,
                                     request: Any) -> Any:
        return await continuation(self._details(client_call_details, False), request)

    async def intercept_stream_unary(self, continuation: Callable[..., Any],
                                     client_call_details: grpc.aio.ClientCallDetails,
                                     request_iterator: Any) -> Any:
        return await continuation(self._details(client_call_details), request_iterator)

    async def intercept_stream_stream(self, continuation: Callable[..., Any],
                                      client_call_details: grpc.aio.ClientCallDetails,
                                      request_iterator: Any) -> Any:
        return await continuation(self._details(client_call_details, False), request_iterator)


def open_channel(target: str, *, default_deadline: float = DEFAULT_DEADLINE_SECONDS,
                 tracer_provider: trace.TracerProvider | None = None) -> grpc.aio.Channel:
    """An insecure channel inside the mesh (mTLS belongs to the service mesh layer)."""
    return grpc.aio.insecure_channel(
        target,
        options=[
            ("grpc.service_config", _SERVICE_CONFIG),
            ("grpc.enable_retries", 1),
            ("grpc.keepalive_time_ms", 30_000),
        ],
        interceptors=[
            *aio_client_interceptors(tracer_provider=tracer_provider),
            _CallDefaultsInterceptor(default_deadline),
        ],
    )
