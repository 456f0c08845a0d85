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

from wavis.core.grpc_keepalive import channel_options, keepalive_ms
from wavis.core.request_context import (
    ENVIRONMENT_METADATA,
    REQUEST_ID_METADATA,
    add_time,
    current_environment,
    current_request_id,
    request_timings,
)
from wavis.core.service_auth import (
    AUTHORIZATION_METADATA,
    TlsFiles,
    bearer,
    service_token,
    tls_files,
)
from wavis.core.telemetry import active_tracer_provider

DEFAULT_DEADLINE_SECONDS = 10.0

# Client-side round robin over every address a (headless) DNS name resolves to.
_SERVICE_CONFIG = json.dumps({"loadBalancingConfig": [{"round_robin": {}}]})


class _CallDefaultsInterceptor(
    grpc.aio.UnaryUnaryClientInterceptor,
    grpc.aio.UnaryStreamClientInterceptor,
    grpc.aio.StreamUnaryClientInterceptor,
    grpc.aio.StreamStreamClientInterceptor,
):
    """Every call gets the current request id and the service credential, and every call with
    one response a deadline, unless it brings its own. Response streams (subscriptions) run
    until cancelled."""

    def __init__(self, default_deadline: float, service_token: str | None = None) -> None:
        self.default_deadline = default_deadline
        self.authorization = bearer(service_token) if service_token else None

    def _details(self, details: grpc.aio.ClientCallDetails,
                 single_response: bool = True) -> grpc.aio.ClientCallDetails:
        metadata = grpc.aio.Metadata(*(details.metadata or ()))
        request_id = current_request_id.get()
        if request_id and REQUEST_ID_METADATA not in metadata:
            metadata.add(REQUEST_ID_METADATA, request_id)
        environment = current_environment.get()
        if environment != "live" and ENVIRONMENT_METADATA not in metadata:
            metadata.add(ENVIRONMENT_METADATA, environment)
        if self.authorization and AUTHORIZATION_METADATA not in metadata:
            metadata.add(AUTHORIZATION_METADATA, self.authorization)
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


class _UnaryStreamDefaults(grpc.aio.UnaryStreamClientInterceptor):
    """grpc.aio files an interceptor under its first matching kind only, so the other kinds
    of _CallDefaultsInterceptor are registered through these one-kind adapters."""

    def __init__(self, inner: _CallDefaultsInterceptor) -> None:
        self.inner = inner

    async def intercept_unary_stream(self, continuation: Callable[..., Any],
                                     client_call_details: grpc.aio.ClientCallDetails,
                                     request: Any) -> Any:
        return await self.inner.intercept_unary_stream(continuation, client_call_details, request)


class _StreamUnaryDefaults(grpc.aio.StreamUnaryClientInterceptor):
    def __init__(self, inner: _CallDefaultsInterceptor) -> None:
        self.inner = inner

    async def intercept_stream_unary(self, continuation: Callable[..., Any],
                                     client_call_details: grpc.aio.ClientCallDetails,
                                     request_iterator: Any) -> Any:
        return await self.inner.intercept_stream_unary(continuation, client_call_details,
                                                       request_iterator)


class _StreamStreamDefaults(grpc.aio.StreamStreamClientInterceptor):
    def __init__(self, inner: _CallDefaultsInterceptor) -> None:
        self.inner = inner

    async def intercept_stream_stream(self, continuation: Callable[..., Any],
                                      client_call_details: grpc.aio.ClientCallDetails,
                                      request_iterator: Any) -> Any:
        return await self.inner.intercept_stream_stream(continuation, client_call_details,
                                                        request_iterator)


def open_channel(target: str, *, default_deadline: float = DEFAULT_DEADLINE_SECONDS,
                 tracer_provider: trace.TracerProvider | None = None,
                 token: str | None = None, tls: TlsFiles | None = None,
                 max_receive_bytes: int | None = None) -> grpc.aio.Channel:
    """A channel inside the mesh carrying the service credential: the token (default: this
    process's, see wavis.core.service_auth) and, when WAVIS_GRPC_TLS_* are set, mTLS.
    `max_receive_bytes`: answers larger than gRPC's default 4 MB."""
    options = [
        ("grpc.service_config", _SERVICE_CONFIG),
        ("grpc.enable_retries", 1),
        *channel_options(keepalive_ms()),
    ]
    if max_receive_bytes is not None:
        options.append(("grpc.max_receive_message_length", max_receive_bytes))
    defaults = _CallDefaultsInterceptor(default_deadline, token or service_token())
    provider = active_tracer_provider(tracer_provider)
    interceptors: list[grpc.aio.ClientInterceptor] = [
        *(aio_client_interceptors(tracer_provider=provider) if provider else ()),
        defaults,
        _UnaryStreamDefaults(defaults),
        _StreamUnaryDefaults(defaults),
        _StreamStreamDefaults(defaults),
    ]
    tls = tls or tls_files()
    if tls is not None:
        return grpc.aio.secure_channel(target, tls.channel_credentials(), options=options,
                                       interceptors=interceptors)
    return grpc.aio.insecure_channel(target, options=options, interceptors=interceptors)
