"""One compute request is one trace: gateway -> ckks-compute -> Redis and -> metering.

Everything runs in this process (support/inprocess_mesh.py) with one TracerProvider and an
in-memory exporter.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from support.ckks_http import encrypt, generate_ckks_key
from support.inprocess_mesh import inprocess_mesh
from wavis.core.grpc_client import open_channel
from wavis.core.telemetry import build_tracer_provider
from wavis.generated.metering.v1 import accounts_pb2, accounts_pb2_grpc

COMPUTE = "/wavis.ckks_compute.v1.CkksComputeService/Compute"
RESERVE = "/wavis.metering.v1.UsageService/ReserveUsage"


@dataclass
class TracedMesh:
    exporter: InMemorySpanExporter
    base_url: str
    metering_target: str


@pytest.fixture
async def traced_mesh(tmp_path: Path) -> AsyncIterator[TracedMesh]:
    exporter = InMemorySpanExporter()
    provider = build_tracer_provider("test", "none", SimpleSpanProcessor(exporter))
    try:
        async with inprocess_mesh(tmp_path, provider) as mesh:
            yield TracedMesh(exporter, mesh.base_url, mesh.targets["metering"])
    finally:
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
        account = await accounts_pb2_grpc.AccountsServiceStub(channel).CreateAccount(
            accounts_pb2.CreateAccountRequest(email="trace@example.com", plan="pro",
                                              environment="live"))
    auth = {"Authorization": f"Bearer {account.api_key}"}
    base = traced_mesh.base_url
    async with aiohttp.ClientSession(headers=auth) as http:
        key_id = await generate_ckks_key(http, f"{base}/api/v1")
        ids = [await encrypt(http, f"{base}/api/v1", key_id, values)
               for values in ([0.5, 1.5, -2.0], [1.0, 2.0, 3.0])]

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
    assert _descends_from(reserve_client, compute_server, by_id)  # ckks-compute meters
    assert _parent_id(reserve_server) == reserve_client.context.span_id
    assert redis_under_compute, [(s.name, s.kind, s.attributes) for s in spans]
    # The gateway's own Redis commands (auth, rate limits) are in the same trace too.
    assert any(s.attributes is not None and s.attributes.get("db.system") == "redis"
               and _descends_from(s, http_span, by_id)
               and not _descends_from(s, compute_server, by_id) for s in spans)
