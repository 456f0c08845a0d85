"""OpenTelemetry tracing for one process; the exporter is chosen by OTEL_TRACES_EXPORTER.

With an exporter (console, otlp) the gateway, gRPC clients and servers and Redis clients are
instrumented and W3C `traceparent` propagates; with "none" nothing is instrumented at all.
See docs/decisions/0012-tracing-off-when-nothing-exports.md.
"""

from __future__ import annotations

import logging

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter

import wavis

log = logging.getLogger(__name__)


def build_tracer_provider(service_name: str, exporter: str,
                          extra_processor: SpanProcessor | None = None) -> TracerProvider:
    provider = TracerProvider(
        resource=Resource.create({"service.name": f"wavis-{service_name}",
                                  "service.version": wavis.__version__})
    )
    span_exporter: SpanExporter | None = None
    if exporter == "console":
        span_exporter = ConsoleSpanExporter()
    elif exporter == "otlp":
        # Reads OTEL_EXPORTER_OTLP_ENDPOINT (default http://localhost:4317).
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        span_exporter = OTLPSpanExporter()
    if span_exporter is not None:
        provider.add_span_processor(BatchSpanProcessor(span_exporter))
    if extra_processor is not None:
        provider.add_span_processor(extra_processor)
    return provider


_process_provider: TracerProvider | None = None


def setup_tracing(service_name: str, exporter: str) -> TracerProvider | None:
    """Install the process-wide tracer provider (once, at start); None when tracing is off."""
    global _process_provider
    if exporter == "none":
        return None
    provider = build_tracer_provider(service_name, exporter)
    trace.set_tracer_provider(provider)
    _process_provider = provider
    return provider


def active_tracer_provider(
        explicit: trace.TracerProvider | None = None) -> trace.TracerProvider | None:
    """What to instrument a client or server with: the provider passed in (a test's own),
    else the process's; None when tracing is off (instrument nothing)."""
    return explicit if explicit is not None else _process_provider
