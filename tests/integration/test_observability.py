"""RED metrics for Prometheus: the gateway's GET /metrics and a service's WAVIS_METRICS_PORT."""

from __future__ import annotations

import re
from pathlib import Path

import aiohttp
import grpc
import grpc.aio
import pytest

from services.keys.server import lifespan as keys_lifespan
from services.keys.settings import KeysSettings
from wavis.core.grpc_client import open_channel
from wavis.core.grpc_server import GrpcServiceRunner
from wavis.core.mesh import SERVICES_BY_KEY
from wavis.devstack.stack import Stack
from wavis.generated.keys.v1 import keys_pb2, keys_pb2_grpc


def sample(text: str, name: str, **labels: str) -> float:
    """The value of the one sample `name{labels...}` (label order free); 0 if absent."""
    for line in text.splitlines():
        match = re.match(r"^(\w+)\{(.*)\} (\S+)$", line)
        if not match or match.group(1) != name:
            continue
        found = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match.group(2)))
        if found == labels:
            return float(match.group(3))
    return 0.0


async def scrape(session: aiohttp.ClientSession, url: str) -> str:
    async with session.get(url) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        return await response.text()


async def test_gateway_exposes_red_metrics_per_route(mesh: Stack) -> None:
    async with aiohttp.ClientSession() as session:
        before = await scrape(session, f"{mesh.gateway_url}/metrics")
        for _ in range(3):
            async with session.get(f"{mesh.gateway_url}/api/v1/health") as response:
                assert response.status == 200
        async with session.get(f"{mesh.gateway_url}/api/v1/keys/key_doesnotexist") as response:
            assert response.status == 401  # no API key
        after = await scrape(session, f"{mesh.gateway_url}/metrics")

    health = {"service": "gateway", "route": "/api/v1/health", "method": "GET"}
    assert sample(after, "wavis_http_requests_total", **health, status="200") - sample(
        before, "wavis_http_requests_total", **health, status="200") == 3
    assert sample(after, "wavis_http_request_duration_seconds_count", **health) >= 3
    assert sample(after, "wavis_http_request_duration_seconds_bucket", **health, le="+Inf") >= 3
    # the route template, never the raw path (bounded label values)
    assert "key_doesnotexist" not in after
    routes = set(re.findall(r'route="([^"]+)"', after))
    assert any("{" in route for route in routes), routes
    assert 'status="401"' in after


async def test_service_exposes_red_metrics_per_rpc(tmp_path: Path) -> None:
    keys = GrpcServiceRunner(SERVICES_BY_KEY["keys"],
                             KeysSettings(grpc_port=0, data_dir=tmp_path, metrics_port=0),
                             keys_lifespan)
    await keys.start()
    assert keys.metrics_port
    target = f"127.0.0.1:{keys.port}"
    try:
        async with open_channel(target) as channel:
            stub = keys_pb2_grpc.KeysServiceStub(channel)
            for _ in range(2):
                await stub.Describe(keys_pb2.DescribeRequest())
        async with grpc.aio.insecure_channel(target) as raw:  # no service token
            with pytest.raises(grpc.aio.AioRpcError):
                await keys_pb2_grpc.KeysServiceStub(raw).Describe(keys_pb2.DescribeRequest())
        url = f"http://127.0.0.1:{keys.metrics_port}/metrics"
        async with aiohttp.ClientSession() as session:
            text = await scrape(session, url)
    finally:
        keys.request_stop()
        await keys.wait_stopped()

    describe = {"service": "keys", "grpc_method": "/wavis.keys.v1.KeysService/Describe"}
    assert sample(text, "wavis_grpc_server_handled_total", **describe, grpc_code="OK") >= 2
    assert sample(text, "wavis_grpc_server_handled_total", **describe,
                  grpc_code="UNAUTHENTICATED") >= 1
    assert sample(text, "wavis_grpc_server_handling_seconds_count", **describe) >= 3
    # a refused call is the caller's fault, not an error of the service
    assert sample(text, "wavis_grpc_server_errors_total", **describe,
                  grpc_code="UNAUTHENTICATED") == 0
