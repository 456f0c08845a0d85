"""One compute request is one trace: gateway -> ckks-compute -> Redis, and gateway -> metering.

Everything runs in this process with one TracerProvider and an in-memory exporter: a real
redis-server, the keys, metering and ckks-compute services (GrpcServiceRunner, as `run_service`
builds them) and the gateway app. In-process servers and clients share the process's service
token (wavis.core.service_auth), so the mesh authenticates itself as in production.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from wavis.core.grpc_client import open_channel
from wavis.core.grpc_server import GrpcServiceRunner
from wavis.core.mesh import SERVICES, SERVICES_BY_KEY
from wavis.core.redis_server import RedisServer, free_port
from wavis.core.telemetry import build_tracer_provider
from wavis.gateway.app import create_app
from wavis.gateway.settings import GatewaySettings
from wavis.metering.v1 import metering_pb2, metering_pb2_grpc
from wavis.services.ckks_compute.server import lifespan as ckks_lifespan
from wavis.services.ckks_compute.settings import CkksSettings
from wavis.services.keys.server import lifespan as keys_lifespan
from wavis.services.keys.settings import KeysSettings
from wavis.services.metering.server import lifespan as metering_lifespan
from wavis.services.metering.settings import MeteringSettings

PARAMS = {"poly_degree": 2048, "scale_bits": 40, "max_depth": 2, "security_level": "testing"}
COMPUTE = "/wavis.ckks_compute.v1.CkksComputeService/Compute"
RESERVE = "/wavis.metering.v1.MeteringService/ReserveUsage"


@dataclass
class TracedMesh:
    exporter: InMemorySpanExporter
    base_url: str
    metering_target: str


@pytest.fixture
async def traced_mesh(tmp_path: Path) -> AsyncIterator[TracedMesh]:
    exporter = InMemorySpanExporter()
    provider = build_tracer_provider("test", "none", SimpleSpanProcessor(exporter))
    redis = RedisServer(tmp_path / "redis", persistent=False).start()
    # Every service's port is chosen first, so each one's *_target settings name the others.
    ports = {s.key: free_port() for s in SERVICES}
    common = {"redis_url": redis.url, "data_dir": tmp_path / "data",
              **{f"{s.key}_target": f"127.0.0.1:{ports[s.key]}" for s in SERVICES}}
    runners = [
        GrpcServiceRunner(SERVICES_BY_KEY["keys"],
                          KeysSettings(grpc_port=ports["keys"], **common),
                          keys_lifespan, tracer_provider=provider),
        GrpcServiceRunner(SERVICES_BY_KEY["metering"],
                          MeteringSettings(grpc_port=ports["metering"], **common),
                          metering_lifespan, tracer_provider=provider),
        GrpcServiceRunner(SERVICES_BY_KEY["ckks_compute"],
                          CkksSettings(grpc_port=ports["ckks_compute"], **common),
                          ckks_lifespan, tracer_provider=provider),
    ]
    started: list[GrpcServiceRunner] = []
    runner: web.AppRunner | None = None
    try:
        for service in runners:
            await service.start()
            started.append(service)
        runner = web.AppRunner(create_app(GatewaySettings(**common), tracer_provider=provider))
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        yield TracedMesh(exporter, f"http://127.0.0.1:{runner.addresses[0][1]}",
                         common["metering_target"])
    finally:
        if runner is not None:
            await runner.cleanup()
        for service in reversed(started):
            service.request_stop()
            await service.wait_stopped()
        redis.stop()
        provider.shutdown()


def _one(spans: list[ReadableSpan], kind: SpanKind, method: str) -> ReadableSpan:
    found = [s for s in spans if s.kind == kind and method in s.name]
    assert len(found) == 1, sorted({(s.name, str(s.kind)) for s in spans})
    return found[0]


def _parent_id(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


def _descends_from(span: ReadableSpan, ancestor: ReadableSpan,
                   by_id: dict[int, ReadableSpan]) -> bool:
    current: ReadableSpan | None = span
    while current is not None:
        parent_id = _parent_id(current)
        if parent_id == ancestor.context.span_id:
            return True
        current = by_id.get(parent_id) if parent_id is not None else None
    return False


async def test_one_compute_request_is_one_span_tree(traced_mesh: TracedMesh) -> None:
    async with open_channel(traced_mesh.metering_target) as channel:
        account = await metering_pb2_grpc.MeteringServiceStub(channel).CreateAccount(
            metering_pb2.CreateAccountRequest(email="trace@example.com", plan="pro",
                                              environment="live"))
    auth = {"Authorization": f"Bearer {account.api_key}"}
    base = traced_mesh.base_url
    async with aiohttp.ClientSession(headers=auth) as http:
        async with http.post(f"{base}/api/v1/keys/generate",
                             json={"scheme": "ckks", "params": PARAMS}) as reply:
            assert reply.status == 201, await reply.text()
            key_id = (await reply.json())["key_id"]
        ids = []
        for values in ([0.5, 1.5, -2.0], [1.0, 2.0, 3.0]):
            async with http.post(f"{base}/api/v1/ciphertexts/encrypt",
                                 json={"key_id": key_id, "values": values}) as reply:
                assert reply.status == 201, await reply.text()
                ids.append((await reply.json())["ciphertext_id"])

        traced_mesh.exporter.clear()
        async with http.post(f"{base}/api/v1/compute/add",
                             json={"key_id": key_id, "ciphertext_ids": ids}) as reply:
            assert reply.status == 200, await reply.text()

    spans = list(traced_mesh.exporter.get_finished_spans())
    by_id = {s.context.span_id: s for s in spans}
    http_span = _one(spans, SpanKind.SERVER, "POST /api/v1/compute/")
    compute_client = _one(spans, SpanKind.CLIENT, COMPUTE)
    compute_server = _one(spans, SpanKind.SERVER, COMPUTE)
    reserve_client = _one(spans, SpanKind.CLIENT, RESERVE)
    reserve_server = _one(spans, SpanKind.SERVER, RESERVE)
    redis_under_compute = [s for s in spans
                           if s.kind == SpanKind.CLIENT and s.attributes is not None
                           and s.attributes.get("db.system") == "redis"
                           and _descends_from(s, compute_server, by_id)]

    trace_id = http_span.context.trace_id
    tree = [compute_client, compute_server, reserve_client, reserve_server,
            *redis_under_compute]
    assert all(s.context.trace_id == trace_id for s in tree)
    assert _descends_from(compute_client, http_span, by_id)
    assert _parent_id(compute_server) == compute_client.context.span_id
    assert _descends_from(reserve_client, http_span, by_id)
    assert _parent_id(reserve_server) == reserve_client.context.span_id
    assert redis_under_compute, [(s.name, s.kind, s.attributes) for s in spans]
    # The gateway's own Redis commands (auth, rate limits) are in the same trace too.
    assert any(s.attributes is not None and s.attributes.get("db.system") == "redis"
               and _descends_from(s, http_span, by_id)
               and not _descends_from(s, compute_server, by_id) for s in spans)
