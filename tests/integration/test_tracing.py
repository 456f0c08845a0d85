"""One trace from the HTTP request through the gateway's gRPC call into the service."""

from __future__ import annotations

from pathlib import Path

import aiohttp
from aiohttp import web
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from gateway.app import create_app
from gateway.settings import GatewaySettings
from services.keys.server import lifespan as keys_lifespan
from services.keys.settings import KeysSettings
from wavis.core.grpc_server import GrpcServiceRunner
from wavis.core.mesh import SERVICES, SERVICES_BY_KEY
from wavis.core.redis_server import free_port
from wavis.core.telemetry import build_tracer_provider

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


async def test_trace_context_propagates_gateway_to_service(tmp_path: Path) -> None:
    exporter = InMemorySpanExporter()
    provider = build_tracer_provider("test", "none", SimpleSpanProcessor(exporter))
    keys = GrpcServiceRunner(SERVICES_BY_KEY["keys"],
                             KeysSettings(grpc_port=0, data_dir=tmp_path),
                             keys_lifespan, tracer_provider=provider)
    await keys.start()
    targets = {f"{s.key}_target": f"127.0.0.1:{free_port()}" for s in SERVICES}
    targets["keys_target"] = f"127.0.0.1:{keys.port}"
    settings = GatewaySettings(redis_url=f"redis://127.0.0.1:{free_port()}/0",
                               health_probe_timeout_seconds=0.5, **targets)
    runner = web.AppRunner(create_app(settings, tracer_provider=provider))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/api/v1/health"
    try:
        async with aiohttp.ClientSession() as session:
            headers = {"traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-01"}
            async with session.get(url, headers=headers) as response:
                assert response.status == 200
    finally:
        await runner.cleanup()
        keys.request_stop()
        await keys.wait_stopped()

    spans = exporter.get_finished_spans()
    http_span = next(s for s in spans if s.name == "GET /api/v1/health")
    assert format(http_span.context.trace_id, "032x") == TRACE_ID
    assert http_span.kind == SpanKind.SERVER
    describe = "/wavis.keys.v1.KeysService/Describe"
    client = next(s for s in spans if s.kind == SpanKind.CLIENT and describe in s.name)
    server = next(s for s in spans if s.kind == SpanKind.SERVER and describe in s.name)
    assert client.context.trace_id == server.context.trace_id == http_span.context.trace_id
    assert server.parent is not None and server.parent.span_id == client.context.span_id
    assert client.parent is not None and client.parent.span_id == http_span.context.span_id
